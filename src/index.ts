/**
 * netplumb: Linux container networking over netlink. Namespaces, links, addresses,
 * routes, neighbours, rules and nftables, and on top Docker-style bridge networks — all
 * spoken to the kernel directly, never by running `ip`, `nft` or any other program.
 *
 * Start with {@link Netns}: every kernel object is reached through the namespace handle
 * that owns it (`ns.links`, `ns.addresses`, `ns.routes`, `ns.nft` ...).
 * @module
 */
export { Netns, NETNS_RUN_DIR, validateNetnsName } from './netns.js';
export type { NetnsInfo, Sysctl, SysctlKey, ListenOptions } from './netns.js';
export {
  NetplumbError,
  SystemError,
  NetlinkError,
  ValidationError,
  DecodeError,
  ClosedError,
  errnoName,
  errnoNumber,
} from './errors.js';
export type { NetlinkRequestInfo } from './errors.js';
export { NetlinkConnection } from './netlink/connection.js';
export type { ExecuteOptions } from './netlink/connection.js';
export { Batch } from './netlink/batch.js';
export type { Reply, Request } from './netlink/batch.js';
export { Writer } from './netlink/writer.js';
export { BATCH_CHANNEL } from './netlink/diagnostics.js';
export type { BatchDiagnostic } from './netlink/diagnostics.js';
export { Attributes, parseAttributes } from './netlink/attributes.js';
export type { RawAttribute, UnknownAttribute } from './netlink/attributes.js';
export { parseMessages, parseError } from './netlink/message.js';
export type { NetlinkMessage, ErrorPayload } from './netlink/message.js';
export * as netlinkConstants from './netlink/constants.js';
export * from './rtnl/index.js';
export * from './nft/index.js';
export { BridgeNetwork } from './network/bridge-network.js';
export type { BridgeNetworkOptions, ConnectOptions, EndpointFilter, NetworkEvent, NetworkEvents, NetworkInfo, NetworkInspect } from './network/bridge-network.js';
export { Endpoint } from './network/endpoint.js';
export type { EndpointInspect } from './network/endpoint.js';
export { PortAllocatedError } from './network/ports.js';
export type { PublishSpec, PublishedPort } from './network/ports.js';
// Both layers have a "rule" and a "range": nftables' keep the short names, policy routing's are renamed.
export type { RuleSpec, Range } from './nft/index.js';
export type { RuleSpec as RoutingRuleSpec, Range as RoutingRuleRange } from './rtnl/index.js';

// --- Reliability: finding and removing leftovers (issue 7) ---
export { cleanupNetworks } from './network/cleanup.js';
export { NetnsPool } from './network/pool.js';
export type { NetnsPoolOptions, PooledNetns } from './network/pool.js';
export type { CleanupOptions, CleanupReport, EndpointLeftover } from './network/cleanup.js';

// --- Embedded DNS on user-defined networks (issue 14) ---
export {
  DnsResolver,
  endpointRecords,
  containerResolvConf,
  parseResolvConf,
  readResolvConf,
  addressOfReverseName,
  reverseName,
  EMBEDDED_DNS_ADDRESS,
  HOST_RESOLV_CONF,
  DNS_TABLE,
} from './dns/index.js';
export type { DnsResolverOptions, DnsAttachment, DnsRecordsSource, DnsRecordType, EndpointRecordsOptions, ContainerResolvConfOptions, ResolvConf } from './dns/index.js';

// --- More of Docker's drivers (issue 14) ---
export { MacvlanNetwork } from './network/macvlan/macvlan-network.js';
export type { MacvlanConnectOptions, MacvlanNetworkInfo, MacvlanNetworkInspect, MacvlanNetworkOptions } from './network/macvlan/macvlan-network.js';
export { OverlayNetwork } from './network/overlay/overlay-network.js';
export type { OverlayNetworkOptions, OverlayNetworkInspect, OverlayPeer, RemoteEndpoint } from './network/overlay/overlay-network.js';
