// ns.links against the kernel, checked through `ip -j -d link` (and the other way round),
// in fresh namespaces of the sandbox.
import { setTimeout as sleep } from 'node:timers/promises';
import { NetlinkError, ValidationError } from '../dist/errors.js';
import { rtnlConstants as C, findByNsid, RtnlBatch } from '../dist/rtnl/index.js';
import test from 'ava';
import { Netns } from '../dist/netns.js';
import { inSandbox, isRoot, ptest, uniqueName } from './helpers.js';
import { compareLink, freshNs, indexByName, inNs, ipj } from './fixtures/rtnl/support.js';

/**
 * Whether the kernel can make links of `kind` (its module is built in or loadable), found
 * by creating one in a scratch namespace — as vishvananda's setUpNetlinkTestWithKModule
 * asks the kernel rather than guessing. `refusal` is the kernel's EOPNOTSUPP (95) when it cannot.
 */
async function probeKind(spec) {
  if (!isRoot || !inSandbox) return { supported: undefined };
  const ns = await Netns.create(uniqueName('kp'));
  try {
    await ns.links.add({ kind: 'bridge', name: 'lower0' });
    await ns.links.add({ ...spec, link: 'lower0' });
    return { supported: true };
  } catch (err) {
    if (err instanceof NetlinkError && err.errno === 95) return { supported: false, refusal: err };
    throw err;
  } finally {
    await ns.delete();
  }
}

/** A privileged test that needs link kind `kind`: skipped, saying why, where the kernel lacks its module. */
function kmodTest(title, probe, module, fn) {
  if (probe.supported === false) return test.skip(`${title} [skipped: the kernel has no ${module} (${probe.refusal.extack ?? probe.refusal.code})]`, fn);
  return ptest(title, fn);
}

const vlanProbe = await probeKind({ kind: 'vlan', name: 'probe5', vlan: { id: 5 } });

/** Compares a link with `ip -j -d link show dev NAME` in its namespace. */
function checkWithIp(t, ns, link) {
  const all = ipj(ns, '-d', 'link', 'show');
  const j = all.find((l) => l.ifindex === link.index);
  t.truthy(j, `ip shows ${link.name}`);
  compareLink(t, link, j, indexByName(all));
}

ptest('add() creates bridge, veth, vxlan, macvlan and macvtap links as ip -j -d link shows them', async (t) => {
  const ns = await freshNs(t);
  const br = await ns.links.add({
    kind: 'bridge',
    name: 'br0',
    address: '02:42:ac:11:00:01',
    mtu: 1450,
    txqlen: 500,
    up: true,
    bridge: { forwardDelay: 300, helloTime: 150, maxAge: 1500, ageingTime: 2000, stpState: 0, priority: 4096, groupFwdMask: 8, nfCallIptables: false },
  });
  t.is(br.kind, 'bridge');
  t.is(br.name, 'br0');
  t.true(br.up);
  t.is(br.bridge.forwardDelay, 300);
  checkWithIp(t, ns, await ns.links.get('br0'));

  const veth = await ns.links.add({ kind: 'veth', name: 'vethA', mtu: 1400, master: 'br0', up: true, alias: 'netplumb:test', peer: { name: 'vethB', address: '02:00:00:00:00:0b', txqlen: 100 } });
  t.is(veth.master, br.index);
  t.is(veth.alias, 'netplumb:test');
  const vethB = await ns.links.get('vethB');
  t.is(veth.link, vethB.index, 'IFLA_LINK is the peer');
  t.is(vethB.link, veth.index);
  t.is(vethB.address, '02:00:00:00:00:0b');
  checkWithIp(t, ns, await ns.links.get('vethA'));
  checkWithIp(t, ns, vethB);

  const vx = await ns.links.add({
    kind: 'vxlan',
    name: 'vx0',
    vxlan: { id: 4242, port: 4789, local: '10.9.9.9', remote: '10.9.9.10', link: 'vethB', ttl: 16, learning: false, ageing: 120, portRange: { low: 40000, high: 50000 }, df: 'inherit' },
  });
  t.like(vx.vxlan, { id: 4242, port: 4789, local: '10.9.9.9', remote: '10.9.9.10', link: vethB.index, ttl: 16, learning: false, df: 'inherit' });
  checkWithIp(t, ns, await ns.links.get('vx0'));
  const vx6 = await ns.links.add({ kind: 'vxlan', name: 'vx6', vxlan: { id: 7, group: 'ff05::100', local: '2001:db8::1', link: vethB.index, udpZeroCsum6Tx: true } });
  t.like(vx6.vxlan, { group: 'ff05::100', local: '2001:db8::1', udpZeroCsum6Tx: true });
  checkWithIp(t, ns, vx6);

  const mv = await ns.links.add({ kind: 'macvlan', name: 'mv0', link: 'vethB', macvlan: { mode: 'bridge' } });
  t.is(mv.macvlan.mode, 'bridge');
  t.is(mv.link, vethB.index);
  checkWithIp(t, ns, mv);
  const mt = await ns.links.add({ kind: 'macvtap', name: 'mt0', link: vethB.index, macvlan: { mode: 'source', macaddrs: ['02:00:00:00:00:aa', '02:00:00:00:00:bb'] } });
  t.like(mt.macvlan, { mode: 'source', macaddrCount: 2 });
  checkWithIp(t, ns, mt);
  t.deepEqual((await ns.links.get('mt0')).macvlan.macaddrs, ['02:00:00:00:00:aa', '02:00:00:00:00:bb']);

  const all = await ns.links.list();
  const ipAll = ipj(ns, '-d', 'link', 'show');
  t.deepEqual(all.map((l) => l.index).sort(), ipAll.map((l) => l.ifindex).sort());
  const byName = indexByName(ipAll);
  for (const l of all) compareLink(t, l, ipAll.find((j) => j.ifindex === l.index), byName);
  t.deepEqual((await ns.links.list({ kind: 'veth' })).map((l) => l.name).sort(), ['vethA', 'vethB']);
  t.deepEqual((await ns.links.list({ master: 'br0' })).map((l) => l.name), ['vethA']);
});

ptest('links made with ip decode as ip -j -d link shows them (list, get by name and by index)', async (t) => {
  const ns = await freshNs(t);
  inNs(ns, [
    'ip link add br0 type bridge forward_delay 500 ageing_time 6000 stp_state 1 priority 100',
    'ip link add veth0 type veth peer name veth1',
    'ip link set veth0 master br0 up',
    'ip link set dev veth0 type bridge_slave hairpin on learning off isolated on cost 7 priority 9',
    'ip link set veth0 alias "hello world"',
    'ip link set veth1 addrgenmode none mtu 9000 address 02:00:00:00:00:01 txqueuelen 10 group 3 promisc on',
    'ip link add vx0 type vxlan id 10 group 239.1.1.1 dev veth1 dstport 0 ttl 5 tos inherit l2miss l3miss noudpcsum',
    'ip link add mv0 link veth1 type macvlan mode private',
    'ip link property add dev veth1 altname a-longer-alternative-name',
  ].join(' && '));
  const ipAll = ipj(ns, '-d', 'link', 'show');
  const byName = indexByName(ipAll);
  const links = await ns.links.list();
  t.is(links.length, ipAll.length);
  for (const j of ipAll) compareLink(t, links.find((l) => l.index === j.ifindex), j, byName);
  const veth0 = await ns.links.get('veth0');
  t.like(veth0.bridgePort, { hairpin: true, learning: false, isolated: true, cost: 7, priority: 9 });
  t.is(veth0.alias, 'hello world');
  const veth1 = await ns.links.get(byName.get('veth1'));
  t.is(veth1.name, 'veth1');
  t.deepEqual(veth1.altNames, ['a-longer-alternative-name']);
  t.is(veth1.inet6.addrGenMode, 'none');
  t.true((veth1.flags & C.IFF_PROMISC) !== 0);
  t.is((await ns.links.get('vx0')).vxlan.group, '239.1.1.1');
  t.is(await ns.links.find('nope'), undefined);
  const lo = await ns.links.get(1);
  t.is(lo.kind, 'device');
  t.is(lo.type, C.ARPHRD_LOOPBACK);
});

ptest('a veth is created in one message with its peer already named in the target namespace', async (t) => {
  const host = await freshNs(t, 'h');
  const other = await freshNs(t, 'o');
  const third = await freshNs(t, 'x');
  const br = await host.links.add({ kind: 'bridge', name: 'br0', up: true });
  const monitor = host.monitor({ links: true });
  t.teardown(() => monitor.close());
  const seen = [];
  const collecting = (async () => {
    for await (const ev of monitor) seen.push(ev);
  })();

  const veth = await host.links.add({
    kind: 'veth',
    name: 'vethHost',
    master: br.index,
    up: true,
    peer: { name: 'eth0', netns: other, mtu: 1400, address: '02:42:ac:11:00:02' },
  });
  t.is(veth.master, br.index);
  t.true(veth.up);
  t.is(typeof veth.linkNetnsid, 'number', 'the peer is in another namespace');

  const [peerIp] = ipj(other, 'link', 'show', 'eth0');
  t.is(peerIp.ifname, 'eth0');
  t.is(peerIp.mtu, 1400);
  t.is(peerIp.address, '02:42:ac:11:00:02');
  t.is(peerIp.link_index, veth.index);
  t.is(veth.link, peerIp.ifindex);
  t.false(ipj(host, 'link', 'show').some((l) => l.ifname === 'eth0'), 'no eth0 here');
  t.is(ipj(host, 'link', 'show', 'vethHost')[0].master, 'br0');

  // The namespace's own batch brings it up (the kernel cannot create a veth peer up).
  await new RtnlBatch(other).linkSet(1, { up: true }).linkSet(peerIp.ifindex, { up: true }).commit();
  t.true(ipj(other, 'link', 'show', 'eth0')[0].flags.includes('UP'));

  await sleep(50);
  monitor.close();
  await collecting;
  const names = seen.filter((e) => e.type === 'link').map((e) => e.link.name);
  t.true(names.includes('vethHost'), 'the monitor saw the host end');
  t.false(names.includes('eth0'), 'no event named the peer in the creating namespace');
  t.true(names.every((n) => n === 'vethHost' || n === 'br0'), `only vethHost/br0 events: ${names.join(',')}`);

  // Either end leads to the other: ifindex plus the nsid of the namespace it is in.
  const fromHost = await host.links.peer('vethHost');
  t.is(fromHost.ifindex, peerIp.ifindex);
  t.is(await findByNsid(host, fromHost.netnsid, [third, other]), other);
  const fromInside = await other.links.peer('eth0');
  t.is(fromInside.ifindex, veth.index);
  t.is(await findByNsid(other, fromInside.netnsid, [third, host]), host);
  await t.throwsAsync(host.links.peer('br0'), { instanceOf: ValidationError });
});

ptest('add() with netns creates the link directly in that namespace and reads it back from there', async (t) => {
  const ns = await freshNs(t);
  const other = await freshNs(t, 'o');
  const br = await ns.links.add({ kind: 'bridge', name: 'brThere', netns: other, mtu: 1300 });
  t.like(br, { kind: 'bridge', name: 'brThere', mtu: 1300 });
  t.is(br.index, ipj(other, 'link', 'show', 'brThere')[0].ifindex);
  t.false(ipj(ns, 'link', 'show').some((l) => l.ifname === 'brThere'));
  await t.throwsAsync(ns.links.add({ kind: 'bridge', name: 'brPid', netns: { pid: process.pid } }), { instanceOf: ValidationError });
  // An encoder needs no handle for the target namespace: its fd (or a pid) is enough.
  await new RtnlBatch(ns).linkAdd({ kind: 'bridge', name: 'brPid', netns: { fd: other.fd } }).commit();
  t.truthy(await other.links.find('brPid'));
});

ptest('set() changes state, mtu, MAC, name, alias, master, namespace and bridge port flags', async (t) => {
  const ns = await freshNs(t);
  const other = await freshNs(t, 'o');
  const br = await ns.links.add({ kind: 'bridge', name: 'br0' });
  const a = await ns.links.add({ kind: 'veth', name: 'a0', peer: { name: 'b0' } });

  await ns.links.set('a0', { up: true, mtu: 1300, address: '02:00:00:00:00:a0', alias: 'tagged', master: 'br0', txqlen: 42, group: 7 });
  let j = ipj(ns, '-d', 'link', 'show', 'a0')[0];
  t.true(j.flags.includes('UP'));
  t.like(j, { mtu: 1300, address: '02:00:00:00:00:a0', ifalias: 'tagged', master: 'br0', txqlen: 42, group: '7' });

  await ns.links.set(a.index, { bridgePort: { hairpin: true, learning: false, isolated: true, unicastFlood: false } });
  j = ipj(ns, '-d', 'link', 'show', 'a0')[0].linkinfo.info_slave_data;
  t.like(j, { hairpin: true, learning: false, isolated: true, flood: false });
  t.like((await ns.links.get(a.index)).bridgePort, { hairpin: true, learning: false, isolated: true, unicastFlood: false });

  await ns.links.set('a0', { up: false, master: null, alias: null, promisc: true, arp: false });
  j = ipj(ns, '-d', 'link', 'show', 'a0')[0];
  t.false(j.flags.includes('UP'));
  t.true(j.flags.includes('NOARP'));
  t.true(j.flags.includes('PROMISC'));
  t.is(j.master, undefined);
  t.is(j.ifalias, undefined);

  await ns.links.set('a0', { name: 'renamed' });
  t.is((await ns.links.get(a.index)).name, 'renamed');
  await ns.links.set(br.index, { bridge: { ageingTime: 1234, stpState: 1 } });
  t.like(ipj(ns, '-d', 'link', 'show', 'br0')[0].linkinfo.info_data, { ageing_time: 1234, stp_state: 1 });

  // Moving renames on arrival; the kernel reports the link gone here.
  await ns.links.set('renamed', { netns: other, name: 'moved' });
  t.is(await ns.links.find('renamed'), undefined);
  const moved = await other.links.get('moved');
  t.is(moved.kind, 'veth');
  t.is(ipj(other, 'link', 'show', 'moved')[0].ifname, 'moved');
});

ptest('addrGenMode none with up in one set() leaves the link without an IPv6 link-local address', async (t) => {
  const ns = await freshNs(t);
  const a = await ns.links.add({ kind: 'veth', name: 'a0', peer: { name: 'b0' } });
  const b = await ns.links.get('b0');
  await new RtnlBatch(ns).linkSet(a.index, { addrGenMode: 'none', up: true }).linkSet(b.index, { up: true }).commit();
  await sleep(100);
  const linkLocal = (name) => (ipj(ns, '-6', 'addr', 'show', 'dev', name)[0]?.addr_info ?? []).filter((x) => x.scope === 'link');
  t.deepEqual(linkLocal('a0'), [], 'a0 made no fe80:: address');
  t.is(linkLocal('b0').length, 1, 'b0 (default eui64) did');
  t.is((await ns.links.get('a0')).inet6.addrGenMode, 'none');
});

ptest('delete() removes a link (both ends of a veth); errors are typed, with the kernel text', async (t) => {
  const ns = await freshNs(t);
  await ns.links.add({ kind: 'veth', name: 'a0', peer: { name: 'b0' } });
  await ns.links.delete('a0');
  t.deepEqual(ipj(ns, 'link', 'show', 'type', 'veth'), []);

  await ns.links.add({ kind: 'bridge', name: 'br0' });
  const dup = await t.throwsAsync(ns.links.add({ kind: 'bridge', name: 'br0' }), { instanceOf: NetlinkError });
  t.is(dup.code, 'EEXIST');
  t.is(dup.errno, 17);
  const missing = await t.throwsAsync(ns.links.get('nope'), { instanceOf: NetlinkError });
  t.is(missing.code, 'ENODEV');
  await t.throwsAsync(ns.links.delete(999), { instanceOf: NetlinkError, code: 'ENODEV' });
  await t.throwsAsync(ns.links.add({ kind: 'veth', name: 'v0', master: 'nope', peer: { name: 'v1' } }), { instanceOf: NetlinkError, code: 'ENODEV' });

  const long = await t.throwsAsync(ns.links.add({ kind: 'bridge', name: 'a-name-that-is-too-long' }), { instanceOf: ValidationError });
  t.is(long.field, 'name');
  await t.throwsAsync(ns.links.add({ kind: 'veth', name: 'v0', peer: { name: 'eth0', address: 'not-a-mac' } }), { instanceOf: ValidationError, message: /peer.address/ });
  t.deepEqual(ipj(ns, 'link', 'show', 'type', 'veth'), [], 'nothing was created');
});

kmodTest('vlan links (8021q): add() creates an 802.1Q vlan on its lower link as ip -j -d link shows it', vlanProbe, '8021q', async (t) => {
  const ns = await freshNs(t);
  await ns.links.add({ kind: 'bridge', name: 'br0', up: true });
  const v = await ns.links.add({ kind: 'vlan', name: 'br0.5', link: 'br0', vlan: { id: 5 } });
  t.is(v.kind, 'vlan');
  t.is(v.vlan.id, 5);
  t.is(v.link, (await ns.links.get('br0')).index);
  checkWithIp(t, ns, v);
  t.is(ipj(ns, '-d', 'link', 'show', 'br0.5')[0].linkinfo.info_data.id, 5);
});

// Where the probe found no 8021q, the kernel's refusal must come back in its own words.
if (vlanProbe.supported === false) {
  ptest('a link kind the kernel lacks is refused with its errno and extended-ack text', async (t) => {
    const ns = await freshNs(t);
    await ns.links.add({ kind: 'bridge', name: 'br0' });
    const vlan = await t.throwsAsync(ns.links.add({ kind: 'vlan', name: 'v5', link: 'br0', vlan: { id: 5 } }), { instanceOf: NetlinkError });
    t.is(vlan.errno, 95);
    t.is(vlan.code, 'ENOTSUP', 'EOPNOTSUPP, as libuv names 95');
    t.is(vlan.extack, 'Unknown device type');
    t.regex(vlan.message, /Unknown device type/);
    t.deepEqual(ipj(ns, 'link', 'show').map((l) => l.ifname).sort(), ['br0', 'lo'], 'nothing was created');
  });
}
