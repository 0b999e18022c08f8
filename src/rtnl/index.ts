// Placeholder until the rtnetlink layer lands (issue 3): the shapes netns.ts relies on.
import type { NetlinkConnection } from '../netlink/connection.js';
export interface RouteNamespace { readonly route: NetlinkConnection; readonly fd: number }
export class Links { constructor(readonly ns: RouteNamespace) {} }
export class Addresses { constructor(readonly ns: RouteNamespace) {} }
export class Routes { constructor(readonly ns: RouteNamespace) {} }
export class Neighbors { constructor(readonly ns: RouteNamespace) {} }
export class Rules { constructor(readonly ns: RouteNamespace) {} }
export interface MonitorOptions { links?: boolean }
export interface RtnlMonitor { close(): void }
export function openMonitor(_ns: RouteNamespace, _o: MonitorOptions): RtnlMonitor { throw new Error('rtnetlink monitor not available yet'); }
