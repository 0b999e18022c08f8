/**
 * DNS: noticing that a served namespace has lost its endpoints. The resolver's sockets
 * hold their namespace alive; a runtime that deletes a container's namespace, or another
 * process that removes its endpoint (CNI DEL), would otherwise leave it, and its devices,
 * held by the embedding process. The kernel tells when links go (RTNLGRP_LINK); once only
 * loopback is left, the resolver lets the namespace go.
 * @module
 */
import type { Netns } from '../netns.js';
import { ARPHRD_LOOPBACK } from '../rtnl/constants.js';

/** A watch started by {@link watchEndpoints}. */
export interface EndpointWatch {
  close(): void;
}

/**
 * Calls `onEmpty` once, when a link of `ns` is removed (or events were lost) and no link
 * but loopback is left. A namespace that never had another link is not reported. If the
 * watch fails it stops silently: the namespace is then let go only by detach.
 */
export function watchEndpoints(ns: Netns, onEmpty: () => void): EndpointWatch {
  const monitor = ns.monitor({ links: true });
  void (async () => {
    try {
      for await (const ev of monitor) {
        if (ev.type === 'overflow' || (ev.type === 'link' && ev.action === 'del')) {
          const links = await ns.links.list();
          if (links.every((l) => l.type === ARPHRD_LOOPBACK)) {
            monitor.close();
            onEmpty();
            return;
          }
        }
      }
    } catch {
      monitor.close();
    }
  })();
  return { close: () => monitor.close() };
}
