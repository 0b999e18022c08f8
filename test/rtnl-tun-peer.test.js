// tun/tap devices (made with TUNSETIFF by the addon) and finding a veth's other end with
// its namespace, each checked against iproute2.
import { Netns, NetplumbError } from '../dist/index.js';
import { ip, ipJson, ipNetns, ptest, uniqueName } from './helpers.js';

ptest('links.add creates persistent tun and tap devices as ip tuntap would, configured in the same call', async (t) => {
  const ns = await Netns.create(uniqueName('tun'));
  t.teardown(() => ns.delete());
  await ns.links.add({ kind: 'bridge', name: 'br0', up: true });
  const tun = await ns.links.add({ kind: 'tun', name: 'tun0', mtu: 1400, up: true, owner: 4242 });
  const tap = await ns.links.add({ kind: 'tap', name: 'tap0', address: '02:00:00:00:00:07', master: 'br0', up: true, multiQueue: true });
  t.is(tun.kind, 'tun');
  t.is(tap.kind, 'tun');
  const [ipTun] = ipJson(ns.name, '-d', 'link', 'show', 'tun0');
  const [ipTap] = ipJson(ns.name, '-d', 'link', 'show', 'tap0');
  t.is(ipTun.linkinfo.info_kind, 'tun');
  t.is(ipTun.linkinfo.info_data.type, 'tun');
  t.is(ipTun.linkinfo.info_data.pi, false);
  t.is(ipTun.linkinfo.info_data.persist, true);
  t.is(ipTun.linkinfo.info_data.user, 4242);
  t.is(ipTun.mtu, 1400);
  t.is(ipTun.index ?? ipTun.ifindex, tun.index);
  t.is(ipTap.linkinfo.info_data.type, 'tap');
  t.is(ipTap.linkinfo.info_data.multi_queue, true);
  t.is(ipTap.address, '02:00:00:00:00:07');
  t.is(ipTap.master, 'br0');
  t.true(ipTap.flags.includes('UP'));
  // netplumb's own decoding agrees.
  t.like((await ns.links.get('tap0')), { kind: 'tun', address: '02:00:00:00:00:07', tun: { type: 'tap' } });
  // A taken name is refused, and nothing changes.
  await t.throwsAsync(ns.links.add({ kind: 'tap', name: 'tap0' }), { instanceOf: NetplumbError, code: 'EEXIST' });
  // A bad follow-up setting is refused before the device is made.
  await t.throwsAsync(ns.links.add({ kind: 'tun', name: 'tun1', address: 'nope' }), { code: 'ERR_NETPLUMB_INVALID' });
  t.deepEqual(ipJson(ns.name, 'link').map((l) => l.ifname).sort(), ['br0', 'lo', 'tap0', 'tun0']);
  await ns.links.delete('tun0');
  t.false(ipJson(ns.name, 'link').some((l) => l.ifname === 'tun0'));
});

ptest('vethPeer finds the other end of a veth and the namespace it lives in', async (t) => {
  const host = await Netns.create(uniqueName('vp'));
  t.teardown(() => host.delete());
  const other = ipNetns(t);
  ip(host.name, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb', 'netns', other);
  ip(host.name, 'link', 'add', 'la', 'type', 'veth', 'peer', 'name', 'lb');
  const [vb] = ipJson(other, 'link', 'show', 'vb');
  const remote = await host.vethPeer('va');
  t.teardown(() => remote.netns.close());
  t.is(remote.ifindex, vb.ifindex);
  t.is(remote.netns.name, other);
  t.is(remote.netns.inode, (await Netns.open(other)).inode);
  // And back from the other side.
  const back = await remote.netns.vethPeer('vb');
  t.teardown(() => back.netns.close());
  t.is(back.netns.inode, host.inode);
  t.is(back.ifindex, ipJson(host.name, 'link', 'show', 'va')[0].ifindex);
  // A veth whose peer is local.
  const local = await host.vethPeer('la');
  t.teardown(() => local.netns.close());
  t.is(local.netns.inode, host.inode);
  t.is(local.ifindex, ipJson(host.name, 'link', 'show', 'lb')[0].ifindex);
  await t.throwsAsync(host.vethPeer('lo'), { code: 'ERR_NETPLUMB_INVALID' });
});
