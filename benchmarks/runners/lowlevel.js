// netplumb's low-level API doing the endpoint, the way an orchestrator or CNI plugin
// would write it by hand: a Netns handle, one veth add with the peer created inside the
// namespace, one RtnlBatch inside the namespace, one nft transaction with one element.
import { Netns, RtnlBatch } from '../../dist/index.js';
import { FIXTURE } from '../lib/endpoints.js';

const { bridge, gateway, prefixLength, table, map, containerPort } = FIXTURE;
const PORTS_MAP = { family: 'inet', table, set: map, keyType: ['inet_proto', 'inet_service'], dataType: ['ipv4_addr', 'inet_service'] };

export async function createLowlevelRunner() {
  const host = await Netns.current();
  const bridgeIndex = (await host.links.get(bridge)).index;
  /** Open handles of live endpoints, by endpoint index. */
  const live = new Map();

  return {
    name: 'lowlevel',
    prefix: 'np',

    async prepare(eps, { mode, ipv6 }) {
      if (mode !== 'attach') return;
      for (const ep of eps) {
        const ns = await Netns.create(ep.ns);
        if (!ipv6) await ns.sysctl.set('net.ipv6.conf.default.disable_ipv6', 1);
        ns.close();
      }
    },

    async setup(ep, { mode, ipv6 }, t) {
      const ns = mode === 'full' ? await Netns.create(ep.ns) : await Netns.open(ep.ns);
      // eth0 copies the namespace's defaults when it is created there.
      if (mode === 'full' && !ipv6) await ns.sysctl.set('net.ipv6.conf.default.disable_ipv6', 1);
      // Open the namespace's rtnetlink socket now (it opens on first use), as the floor
      // does in this step, so that per-step comparisons are like for like.
      void ns.route;
      t.lap('ns');
      const veth = await host.links.add({
        kind: 'veth',
        name: ep.veth,
        master: bridgeIndex,
        up: true,
        mtu: 1500,
        peer: { name: 'eth0', netns: ns, address: ep.mac, mtu: 1500 },
      });
      // The kernel's echo of the host end names its peer's ifindex (IFLA_LINK).
      const eth0 = veth.link;
      if (eth0 === undefined) throw new Error(`${ep.veth}: the kernel did not report the peer's ifindex`);
      t.lap('veth');
      await new RtnlBatch(ns)
        .linkSet(1, { up: true })
        .linkSet(eth0, { up: true })
        .addressAdd({ link: eth0, address: `${ep.ip}/${prefixLength}`, broadcast: true })
        .routeAdd({ dst: 'default', gateway })
        .commit();
      t.lap('nsbatch');
      const tx = host.nft.transaction();
      tx.createElements({ ...PORTS_MAP, elements: [{ key: ['tcp', ep.hostPort], data: [ep.ip, containerPort] }] });
      await tx.commit();
      t.lap('publish');
      live.set(ep.i, ns);
    },

    async teardown(ep, { mode }, t) {
      const tx = host.nft.transaction();
      tx.deleteElements({ ...PORTS_MAP, elements: [{ key: ['tcp', ep.hostPort] }] });
      await tx.commit();
      t.lap('unpublish');
      const ns = live.get(ep.i);
      live.delete(ep.i);
      // An owned namespace is dropped, and the kernel destroys its devices with it
      // (asynchronously, in batches); otherwise the veth is deleted (waits for RCU).
      if (mode === 'full') await ns.delete();
      else {
        await host.links.delete(ep.veth);
        ns.close();
      }
      t.lap('delete');
    },

    async finish(eps, { mode }) {
      if (mode !== 'attach') return;
      for (const ep of eps) await (await Netns.open(ep.ns)).delete();
    },

    close() {
      host.close();
    },
  };
}
