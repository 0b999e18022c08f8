// Issue 14, macvlan networks (Docker's macvlan driver): containers as hosts of the
// parent's LAN segment, reached from a namespace that stands for the LAN; the host cannot
// reach them through the parent (macvlan's nature) until it has a macvlan of its own
// there (the shim, the usual remedy). ipvlan and 802.1Q parents: this kernel lacks them,
// so feature skips plus byte fixtures of what netplumb sends.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { Batch } from '../dist/netlink/batch.js';
import { endpointLinkSpec } from '../dist/network/macvlan/connect.js';
import { shapeOf } from '../dist/network/macvlan/options.js';
import { MacvlanNetwork, Netns, NetlinkError, NetplumbError, ValidationError, cleanupNetworks, encodeLinkAdd } from '../dist/index.js';
import { ip, nftJson, ptest, sh, uniqueName } from './helpers.js';
import { request, unreachable, whoamiServer } from './network-lab.js';

const LAN = '198.51.100.0/24';
const ROUTER = '198.51.100.1';

/** A host namespace whose `lan0` is a veth to a "LAN" namespace holding the router's address. */
async function segment(t) {
  const hostName = uniqueName('mh');
  const lanName = uniqueName('ml');
  const host = await Netns.create(hostName);
  const lan = await Netns.create(lanName);
  const nets = [];
  const spaces = [];
  t.teardown(async () => {
    for (const n of nets) await n.remove({ force: true }).catch(() => {});
    for (const ns of spaces) if (!ns.closed) await (ns.name ? ns.delete() : ns.close());
    await host.delete();
    await lan.delete();
  });
  ip(hostName, 'link', 'set', 'lo', 'up');
  ip(lanName, 'link', 'set', 'lo', 'up');
  ip(hostName, 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', lanName);
  ip(lanName, 'addr', 'add', `${ROUTER}/24`, 'dev', 'eth0');
  ip(lanName, 'link', 'set', 'eth0', 'up');
  ip(hostName, 'link', 'set', 'lan0', 'up');
  return {
    host,
    lan,
    hostName,
    lanName,
    async network(o) {
      const n = await MacvlanNetwork.create({ netns: host, parent: 'lan0', ...o });
      nets.push(n);
      return n;
    },
    async container() {
      const ns = await Netns.create(uniqueName('mc'));
      spaces.push(ns);
      return ns;
    },
  };
}

function hasTable(ns) {
  return nftJson(ns).nftables.some((x) => x.table?.name === 'netplumb');
}

ptest('macvlan: containers reach the LAN and each other, with their own MACs, addresses from ipRange and the LAN router as gateway', async (t) => {
  const s = await segment(t);
  const net = await s.network({ name: 'mv', subnet: LAN, gateway: ROUTER, ipRange: '198.51.100.128/25' });
  const a = await s.container();
  const b = await s.container();
  const ea = await net.connect(a);
  const eb = await net.connect(b, { ipv4: '198.51.100.200' });
  t.is(ea.ipv4, '198.51.100.128');
  t.is(eb.ipv4, '198.51.100.200');
  t.is(ea.gateway, ROUTER);
  // The interface was made inside the namespace: a macvlan in bridge mode on lan0, with the reserved MAC.
  const [link] = JSON.parse(sh('ip', ['-j', '-d', '-n', a.name, 'link', 'show', 'eth0']));
  t.is(link.linkinfo.info_kind, 'macvlan');
  t.is(link.linkinfo.info_data.mode, 'bridge');
  t.is(link.address, ea.mac);
  t.deepEqual(JSON.parse(sh('ip', ['-j', '-n', a.name, 'route', 'show', 'default'])).map((r) => r.gateway), [ROUTER]);

  await whoamiServer(t, a, 80);
  await whoamiServer(t, s.lan, 80);
  t.is(await request(s.lan, ea.ipv4, 80), ROUTER, 'the LAN reaches the container');
  t.is(await request(a, ROUTER, 80), ea.ipv4, 'the container reaches the LAN, from its own address');
  t.is(await request(b, ea.ipv4, 80), eb.ipv4, 'containers reach each other');
  const neigh = JSON.parse(sh('ip', ['-j', '-n', s.lanName, 'neigh', 'show', ea.ipv4]));
  t.is(neigh[0]?.lladdr, ea.mac, 'the LAN sees the container\'s own MAC');

  // Read back from the kernel, from another handle.
  const again = await MacvlanNetwork.open('mv', { netns: s.host });
  t.deepEqual((await again.endpoints()).map((e) => e.ipv4).sort(), ['198.51.100.128', '198.51.100.200']);
  const info = await again.inspect();
  t.like(info, { driver: 'macvlan', ipam: { subnet: LAN, gateway: ROUTER, ipRange: '198.51.100.128/25' }, options: { parent: 'lan0', mode: 'bridge', internal: false } });
  t.deepEqual((await MacvlanNetwork.list({ netns: s.host })).map((n) => n.name), ['mv']);

  // Contract: validation and typed errors before anything changes.
  const c = await s.container();
  await t.throwsAsync(net.connect(c, { ipv4: '198.51.100.200' }), { instanceOf: ValidationError, message: /already in use/ });
  await t.throwsAsync(net.connect(c, { ipv4: ROUTER }), { instanceOf: ValidationError, message: /gateway/ });
  await t.throwsAsync(net.connect(c, { publish: [{ hostPort: 80, containerPort: 80 }] }), { instanceOf: ValidationError, message: /nothing to publish/ });
  await t.throwsAsync(net.connect(a), { instanceOf: NetplumbError, code: 'ERR_NETPLUMB_ALREADY_CONNECTED' });
  // The kernel refuses (the name is taken inside): the reservation is rolled back.
  ip(c.name, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'x0');
  await t.throwsAsync(net.connect(c, { ifname: 'eth0' }), { instanceOf: NetlinkError, code: 'EEXIST' });
  t.is((await net.endpoints()).length, 2);
  t.false(JSON.stringify(nftJson(s.hostName)).includes('198.51.100.129'), 'nothing of the failed connect is held');
  await t.throwsAsync(MacvlanNetwork.create({ netns: s.host, name: 'mv2', parent: 'lan0', subnet: '198.51.100.0/25' }), { instanceOf: ValidationError, message: /overlaps|exists/ });
  await t.throwsAsync(MacvlanNetwork.create({ netns: s.host, name: 'mv3', parent: 'nosuch0', subnet: '10.9.0.0/24' }), { instanceOf: ValidationError, message: /does not exist/ });

  // cleanupNetworks() leaves a complete macvlan network and its endpoints alone.
  const report = await cleanupNetworks({ netns: s.host });
  t.deepEqual([report.endpoints, report.networks, report.elements], [[], [], []]);
  t.is((await net.endpoints()).length, 2);

  await eb.remove();
  t.deepEqual(JSON.parse(sh('ip', ['-j', '-n', b.name, 'link', 'show', 'type', 'macvlan'])), [], 'its interface is gone');
  await net.remove({ force: true });
  t.false(hasTable(s.hostName), 'no reservation left');
  t.deepEqual(JSON.parse(sh('ip', ['-j', '-n', s.hostName, 'link', 'show', 'type', 'macvlan'])), [], 'no shim left');
  t.deepEqual(JSON.parse(sh('ip', ['-j', '-n', a.name, 'link', 'show', 'type', 'macvlan'])), [], 'no interface left in the containers');
});

ptest('macvlan: the host cannot reach its containers through the parent; a macvlan of its own on the parent (the shim) can', async (t) => {
  const s = await segment(t);
  const net = await s.network({ name: 'mvh', subnet: LAN, gateway: ROUTER, ipRange: '198.51.100.64/26' });
  ip(s.hostName, 'addr', 'add', '198.51.100.2/24', 'dev', 'lan0');
  const a = await s.container();
  const ea = await net.connect(a);
  await whoamiServer(t, a, 80);
  await whoamiServer(t, s.lan, 80);
  t.is(await request(s.host, ROUTER, 80), '198.51.100.2', 'the host is on the segment');
  t.true(await unreachable(s.host, ea.ipv4, 80), 'but cannot reach the container through the parent');
  t.true(await unreachable(a, '198.51.100.2', 80), 'nor the container the host');
  // The remedy: an address on the shim (a macvlan of the host on the same parent) and a route through it.
  ip(s.hostName, 'addr', 'add', '198.51.100.3/32', 'dev', net.shim);
  ip(s.hostName, 'link', 'set', net.shim, 'up');
  ip(s.hostName, 'route', 'add', '198.51.100.64/26', 'dev', net.shim);
  t.is(await request(s.host, ea.ipv4, 80), '198.51.100.3', 'through the shim the host reaches it');
});

ptest('macvlan: made by a process that has exited, a network whose shim (its tag) is gone is reclaimed by cleanupNetworks()', async (t) => {
  const s = await segment(t);
  const child = `
    import { MacvlanNetwork, Netns } from '${new URL('../dist/index.js', import.meta.url).href}';
    const host = await Netns.open('${s.hostName}');
    const net = await MacvlanNetwork.create({ netns: host, name: 'mvc', parent: 'lan0', subnet: '${LAN}', gateway: '${ROUTER}' });
    await net.connect(undefined, { netnsName: '${s.hostName}c' });
  `;
  sh(process.execPath, ['--input-type=module', '-e', child]);
  t.teardown(() => sh('ip', ['netns', 'del', `${s.hostName}c`]));
  const net = await MacvlanNetwork.open('mvc', { netns: s.host });
  t.is((await net.endpoints()).length, 1);
  t.deepEqual(await cleanupNetworks({ netns: s.host, dryRun: true }).then((r) => r.networks), [], 'complete: left alone');
  ip(s.hostName, 'link', 'del', net.shim);
  const report = await cleanupNetworks({ netns: s.host });
  t.deepEqual(report.networks.map((n) => n.name), ['mvc']);
  t.deepEqual(report.endpoints.map((e) => e.reason), ['network-gone']);
  t.false(hasTable(s.hostName));
});

ptest('macvlan: an IPv6-only segment', async (t) => {
  const s = await segment(t);
  ip(s.lanName, 'addr', 'add', '2001:db8:77::1/64', 'dev', 'eth0', 'nodad');
  const net = await s.network({ name: 'mv6', subnet6: '2001:db8:77::/64' });
  const a = await s.container();
  const ea = await net.connect(a);
  t.is(ea.ipv4, undefined);
  t.is(ea.ipv6, '2001:db8:77::2');
  await whoamiServer(t, s.lan, 80, '::');
  t.is(await request(a, '2001:db8:77::1', 80), ea.ipv6);
});

/** Whether this kernel can make links of `kind` on a veth (in a throwaway namespace). */
function kernelHas(args) {
  const ns = uniqueName('k');
  sh('ip', ['netns', 'add', ns]);
  try {
    ip(ns, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1');
    ip(ns, 'link', 'add', 'link', 'p0', 'name', 'x0', ...args);
    return true;
  } catch {
    return false;
  } finally {
    sh('ip', ['netns', 'del', ns]);
  }
}

ptest('ipvlan (l2, l3) and 802.1Q parents: traffic where the kernel has them, a clear kernel error where not', async (t) => {
  const s = await segment(t);
  for (const mode of ['l2', 'l3']) {
    if (kernelHas(['type', 'ipvlan', 'mode', mode])) {
      const net = await s.network({ name: `iv${mode}`, subnet: LAN, gateway: ROUTER, ipvlan: mode });
      const a = await s.container();
      const ea = await net.connect(a);
      await whoamiServer(t, s.lan, 80);
      if (mode === 'l2') t.is(await request(a, ROUTER, 80), ea.ipv4);
      await net.remove({ force: true });
    } else {
      const err = await t.throwsAsync(MacvlanNetwork.create({ netns: s.host, name: `iv${mode}`, parent: 'lan0', subnet: LAN, ipvlan: mode }), { instanceOf: NetlinkError });
      t.is(err.errno, 95, `ipvlan ${mode}: feature skip, this kernel lacks ipvlan (${err.code})`);
    }
  }
  if (kernelHas(['type', 'vlan', 'id', '10'])) {
    const net = await s.network({ name: 'vl', parent: 'lan0.10', subnet: '203.0.113.0/24' });
    t.truthy(JSON.parse(sh('ip', ['-j', '-n', s.hostName, 'link', 'show', 'lan0.10']))[0]);
    await net.remove();
    t.deepEqual(JSON.parse(sh('ip', ['-j', '-n', s.hostName, 'link', 'show', 'type', 'vlan'])), [], 'the sub-interface went with the network');
  } else {
    const err = await t.throwsAsync(MacvlanNetwork.create({ netns: s.host, name: 'vl', parent: 'lan0.10', subnet: '203.0.113.0/24' }), { instanceOf: NetlinkError });
    t.is(err.errno, 95, `802.1Q: feature skip, this kernel lacks 8021q (${err.code})`);
  }
  t.false(hasTable(s.hostName), 'the refused creates left nothing');
  t.deepEqual(JSON.parse(sh('ip', ['-j', '-n', s.hostName, 'link', 'show'])).map((l) => l.ifname).sort(), ['lan0', 'lo']);
});

/** Attributes of an RTM_NEWLINK, order-free: IFLA_LINKINFO (18) and its IFLA_INFO_DATA (2) opened as nests, NLA_F_NESTED cleared. */
function attrTree(buf, offset = 32, end = buf.length, depth = 0) {
  const out = [];
  while (offset + 4 <= end) {
    const len = buf.readUInt16LE(offset);
    const type = buf.readUInt16LE(offset + 2) & 0x3fff;
    const nest = (depth === 0 && type === 18) || (depth === 1 && type === 2);
    out.push(`${type}:${nest ? JSON.stringify(attrTree(buf, offset + 4, offset + len, depth + 1)) : buf.subarray(offset + 4, offset + len).toString('hex')}`);
    offset += (len + 3) & ~3;
  }
  return out.sort();
}

test('byte fixtures: the endpoint interface netplumb creates is what `ip link add link lan0 name eth0 netns X type ipvlan|macvlan ...` sends', async (t) => {
  const { requests } = JSON.parse(readFileSync(new URL('./fixtures/macvlan/requests.json', import.meta.url), 'utf8'));
  for (const r of requests) {
    const shape = shapeOf({ name: 'n', parent: 'lan0', subnet: LAN, gateway: ROUTER, internal: false, ...(r.ipvlan ? { ipvlan: r.ipvlan } : {}) }, 'npm-n');
    const b = new Batch();
    encodeLinkAdd(b, endpointLinkSpec(shape, 'eth0', 3, { fd: 4 }, '02:42:c6:33:64:80'));
    const ours = b.bytes();
    const theirs = Buffer.from(r.hex, 'hex');
    t.is(ours.length, theirs.length, r.command);
    // Header: length, type RTM_NEWLINK, flags REQUEST|ACK|EXCL|CREATE, ifinfomsg; seq and pid differ.
    t.deepEqual([ours.readUInt16LE(4), ours.readUInt16LE(6), ours.subarray(16, 32)], [theirs.readUInt16LE(4), theirs.readUInt16LE(6), theirs.subarray(16, 32)], r.command);
    t.deepEqual(attrTree(ours), attrTree(theirs), r.command);
  }
});
