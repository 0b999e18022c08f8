// What connect() asks of the kernel instead of reading the namespace first (one hop):
// the interface name (eth0 unless the create is refused, then the first free ethN) and the
// default route (added unless the namespace has one, whatever its metric; on a dual-stack
// network the IPv6 default goes with the IPv4 one). Checked with `ip -j`.
import { ip, ipJson, ptest, sh } from './helpers.js';
import { lab } from './network-lab.js';

ptest('a namespace with a default route of its own keeps it and gets none, whatever its metric; IPv6 follows IPv4', async (t) => {
  const l = await lab(t);
  const net = await l.network({ name: 'pr', subnet: '10.64.0.0/24', subnet6: 'fd00:64::/64' });
  for (const metric of ['0', '100']) {
    const c = await l.container();
    ip(c.name, 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'up0p');
    ip(c.name, 'link', 'set', 'up0p', 'up');
    ip(c.name, 'link', 'set', 'up0', 'up');
    ip(c.name, 'addr', 'add', '198.51.100.7/24', 'dev', 'up0');
    ip(c.name, 'route', 'add', 'default', 'via', '198.51.100.1', 'metric', metric);
    const ep = await net.connect(c);
    t.is(ep.ifname, 'eth0');
    t.deepEqual(ipJson(c.name, 'route', 'show', 'default').map((r) => r.gateway), ['198.51.100.1'], `metric ${metric}: the namespace's own default route only`);
    t.deepEqual(ipJson(c.name, '-6', 'route', 'show', 'default'), [], `metric ${metric}: no IPv6 default either`);
    t.deepEqual(ipJson(c.name, '-4', 'addr', 'show', 'eth0')[0].addr_info.map((a) => a.local), [ep.ipv4]);
    // Marked complete all the same: listed by the network, with its interface.
    t.deepEqual((await net.endpoints({ netns: c })).map((e) => e.ifname), ['eth0']);
  }
  // Without one, both defaults are added.
  const bare = await l.container();
  await net.connect(bare);
  t.deepEqual(ipJson(bare.name, 'route', 'show', 'default').map((r) => r.gateway), ['10.64.0.1']);
  t.deepEqual(ipJson(bare.name, '-6', 'route', 'show', 'default').map((r) => r.gateway), ['fd00:64::1']);
});

ptest('eth0 taken by another interface: the first free ethN, with the address the first try had', async (t) => {
  const l = await lab(t);
  const net = await l.network({ name: 'pn', subnet: '10.65.0.0/24' });
  const c = await l.container();
  ip(c.name, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'x0');
  ip(c.name, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'x1');
  const ep = await net.connect(c);
  t.is(ep.ifname, 'eth2');
  t.is(ep.ipv4, '10.65.0.2');
  t.deepEqual(ipJson(c.name, '-4', 'addr', 'show', 'eth2')[0].addr_info.map((a) => a.local), ['10.65.0.2']);
  // The retry left nothing of the first try: one veth on the bridge, one endpoint.
  t.is(ipJson(l.hostName, 'link').filter((x) => x.master === 'br-pn' || x.master === net.bridge).length, 1);
  t.is((await net.endpoints()).length, 1);
});

ptest('on an IPv4-only network the interface has IPv6 off, in a namespace netplumb made and in one it was given', async (t) => {
  const l = await lab(t);
  const net = await l.network({ name: 'p4', subnet: '10.66.0.0/24' });
  const given = await l.container();
  const name = `p4own${process.pid}`.slice(0, 15);
  const eps = [await net.connect(given), await net.connect(undefined, { netnsName: name })];
  t.teardown(() => Promise.all(eps.map((ep) => ep.remove().catch(() => {}))));
  for (const ns of [given.name, name]) {
    t.is(sh('ip', ['netns', 'exec', ns, 'cat', '/proc/sys/net/ipv6/conf/eth0/disable_ipv6']).trim(), '1', `${ns}: eth0 disable_ipv6`);
    t.deepEqual(ipJson(ns, '-6', 'addr', 'show', 'eth0'), [], `${ns}: no IPv6 address on eth0`);
  }
  // Only in its own namespace does netplumb change the default; the given one keeps its own.
  t.is(sh('ip', ['netns', 'exec', given.name, 'cat', '/proc/sys/net/ipv6/conf/default/disable_ipv6']).trim(), '0');
});
