// netplumb's BridgeNetwork doing the endpoint, as an orchestrator embedding it would:
// `net.connect(ns, { publish })` / `ep.remove()`. The network (bridge, gateway, rules,
// netplumb's own nft table) is created once, untimed, on its own subnet. `dist` selects
// the build: this tree's, or an older one (the pre-rewrite code, for before/after).
import { pathToFileURL } from 'node:url';
import { FIXTURE } from '../lib/endpoints.js';

const here = new URL('../../dist/', import.meta.url);

export async function createNetworkRunner({ dist, name = 'network', prefix = 'bn', subnet = '172.31.0.0/16', bridge = 'npbench0' } = {}) {
  const { BridgeNetwork, Netns } = await import(dist ? pathToFileURL(`${dist}/index.js`).href : new URL('index.js', here).href);
  const net = await BridgeNetwork.create({ name: 'bench', bridge, subnet });
  /** Live endpoints (and, in attach mode, the namespace handles we opened), by endpoint index. */
  const live = new Map();
  const octets = subnet.split('.').slice(0, 2).map(Number);

  return {
    name,
    prefix,
    octets,
    // An IPv4-only network keeps IPv6 off on both veth ends itself (addrgenmode none,
    // disable_ipv6 on eth0); the harness must not switch the namespace defaults for it.
    ipv6: false,
    net,
    BridgeNetwork,
    Netns,

    async prepare(eps, { mode }) {
      if (mode !== 'attach') return;
      for (const ep of eps) (await Netns.create(ep.ns)).close();
    },

    async setup(ep, { mode }, t) {
      const publish = [{ hostPort: ep.hostPort, containerPort: FIXTURE.containerPort }];
      let endpoint;
      if (mode === 'full') {
        t.lap('ns');
        endpoint = await net.connect(undefined, { netnsName: ep.ns, publish });
      } else if (mode === 'anonymous') {
        // A namespace of netplumb's own, unnamed (what an orchestrator holding fds uses).
        t.lap('ns');
        endpoint = await net.connect(undefined, { publish });
      } else {
        const ns = await Netns.open(ep.ns);
        t.lap('ns');
        endpoint = await net.connect(ns, { publish });
      }
      t.lap('connect');
      // The harness waits for the host-side veth to vanish after teardown: tell it the name.
      ep.veth = endpoint.hostIfname;
      live.set(ep.i, endpoint);
    },

    async teardown(ep, { mode }, t) {
      const endpoint = live.get(ep.i);
      live.delete(ep.i);
      await endpoint.remove();
      t.lap('remove');
      if (mode === 'attach') endpoint.netns.close();
    },

    async finish(eps, { mode }) {
      if (mode !== 'attach') return;
      for (const ep of eps) await (await Netns.open(ep.ns)).delete();
    },

    async close() {
      await net.remove({ force: true });
      net.netns.close?.();
    },
  };
}
