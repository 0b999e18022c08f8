// The layers under the network layer, as issue 10 asks of them: every errno-named error
// carries its errno, no plain Error reaches a caller (Node's and the addon's included),
// NetlinkError.index counts messages in rtnetlink batches too, the echo of a created link
// read without parsing attributes, namespaces mounted and unmounted by name through Netns,
// and the `netplumb:batch` diagnostics channel. Checked against the kernel and `ip -j`.
// Tests that subscribe to the channel are serial, so "no subscribers" is true when checked.
import test from 'ava';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Netns } from '../dist/netns.js';
import { native } from '../dist/native.js';
import { BATCH_CHANNEL, NetlinkError, NetplumbError, SystemError, ValidationError, errnoNumber } from '../dist/index.js';
import { Batch } from '../dist/netlink/batch.js';
import { diagnosticsStart } from '../dist/netlink/diagnostics.js';
import { RtnlBatch, encodeLinkAdd, linkEcho } from '../dist/rtnl/index.js';
import { ipJson, ptest, sh, uniqueName } from './helpers.js';

test('every errno-named code carries its errno, also the kernel-internal ones; ERR_NETPLUMB_* codes have none', (t) => {
  t.is(new NetplumbError('network x has endpoints', 'EBUSY').errno, 16);
  t.is(new NetplumbError('no such network', 'ENOENT').errno, 2);
  t.is(new NetplumbError('stale', 'ERESTART').errno, 85);
  t.is(new NetplumbError('x', 'ENOTSUPP').errno, 524);
  t.is(new NetplumbError('x', 'ETIMEDOUT').errno, 110);
  t.is(new NetplumbError('x', 'ERR_NETPLUMB_ALREADY_CONNECTED').errno, undefined);
  t.is(new ValidationError('subnet', 'bad').errno, undefined);
  t.is(errnoNumber('EEXIST'), 17);
  t.is(errnoNumber('ERR_NETPLUMB_INVALID'), undefined);
  // Subclasses keep the errno they were given.
  t.is(new SystemError(13, 'open', '/x').errno, 13);
  t.is(new NetlinkError(17, { operation: 'op', index: 0, type: 0, seq: 1 }).errno, 17);
});

test('SystemError.from turns Node\'s errors into SystemError with the original as cause', (t) => {
  const node = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { errno: -111, code: 'ECONNREFUSED', syscall: 'connect', address: '127.0.0.1', port: 1 });
  const e = SystemError.from(node);
  t.true(e instanceof SystemError);
  t.like(e, { errno: 111, code: 'ECONNREFUSED', syscall: 'connect', path: '127.0.0.1:1' });
  t.is(e.cause, node);
  const odd = SystemError.from(new TypeError('boom'), 'listen');
  t.true(odd instanceof NetplumbError);
  t.is(odd.code, 'ERR_NETPLUMB_INTERNAL');
  t.true(odd.cause instanceof TypeError);
  const ours = new ValidationError('x', 'y');
  t.is(SystemError.from(ours), ours, 'a NetplumbError passes through');
});

test('the addon refuses bad arguments with ValidationError, not TypeError', (t) => {
  for (const call of [() => native.netnsOpen(42), () => native.netlinkTransactSync(0, 'nope', new Uint32Array(1)), () => native.inetSocket(-1, 5, 1, true, '', 0), () => native.close('x')]) {
    const e = t.throws(call);
    t.true(e instanceof ValidationError, String(e));
    t.is(e.code, 'ERR_NETPLUMB_INVALID');
  }
});

ptest('socket helpers reject with SystemError (refused) and NetplumbError ETIMEDOUT, never a plain Error', async (t) => {
  const ns = await Netns.create();
  t.teardown(() => ns.close());
  await ns.links.set('lo', { up: true });
  const refused = await t.throwsAsync(ns.connect(1, '127.0.0.1'));
  t.true(refused instanceof SystemError);
  t.like(refused, { code: 'ECONNREFUSED', errno: 111, syscall: 'connect' });
  t.truthy(refused.cause);
  // No route to 198.51.100.1 from a namespace with only lo: ENETUNREACH, also a SystemError.
  const unreachable = await t.throwsAsync(ns.connect(80, '198.51.100.1', { timeout: 2000 }));
  t.true(unreachable instanceof SystemError || (unreachable instanceof NetplumbError && unreachable.code === 'ETIMEDOUT'), String(unreachable));
  const server = await ns.listen({ host: '127.0.0.1' });
  t.teardown(() => server.close());
  const taken = await t.throwsAsync(ns.listen({ host: '127.0.0.1', port: server.address().port }));
  t.true(taken instanceof SystemError, String(taken));
});

ptest.serial('NetlinkError.index in an rtnetlink batch counts messages: a linkSet that sends two counts two', async (t) => {
  const ns = await Netns.create();
  t.teardown(() => ns.close());
  const br = await ns.links.add({ kind: 'bridge', name: 'br0' });
  await ns.addresses.add({ link: br.index, address: '10.0.0.1/24' });
  const events = [];
  const listener = (m) => events.push(m);
  subscribe(BATCH_CHANNEL, listener);
  t.teardown(() => unsubscribe(BATCH_CHANNEL, listener));
  const batch = new RtnlBatch(ns).linkSet(br.index, { addrGenMode: 'none', up: true });
  const messagesBefore = batch.length;
  batch.addressAdd({ link: br.index, address: '10.0.0.1/24' });
  t.is(messagesBefore, 2);
  const e = await t.throwsAsync(batch.commit(), { instanceOf: NetlinkError, code: 'EEXIST' });
  t.is(e.index, 2, 'the third message as sent');
  const ev = events.find((m) => m.operations.length === 3);
  t.truthy(ev);
  t.regex(ev.operations[e.index], /^RTM_NEWADDR/, 'operations[index] names the failing message');
  t.like(ev.error, { code: 'EEXIST', errno: 17 });
});

ptest('linkEcho: the ifindex of a created veth and its peer\'s, from the echo, as ip -j shows them', async (t) => {
  const host = await Netns.create(uniqueName('le'));
  const other = await Netns.create(uniqueName('lp'));
  t.teardown(async () => {
    await host.delete();
    await other.delete();
  });
  const b = new Batch();
  encodeLinkAdd(b, { kind: 'veth', name: 'vh0', peer: { name: 'eth0', netns: other } }, { echo: true });
  const [reply] = await host.route.execute(b);
  const echo = linkEcho(reply);
  t.is(echo.index, ipJson(host.name, 'link', 'show', 'vh0')[0].ifindex);
  t.is(echo.link, ipJson(other.name, 'link', 'show', 'eth0')[0].ifindex);
  t.is(typeof echo.linkNetnsid, 'number', 'the peer is in another namespace');
  // Without echo there is nothing to read: a typed error, not undefined.
  const b2 = new Batch();
  encodeLinkAdd(b2, { kind: 'bridge', name: 'br9' });
  const [plain] = await host.route.execute(b2);
  t.throws(() => linkEcho(plain), { instanceOf: NetplumbError, code: 'ERR_NETPLUMB_NO_REPLY' });
});

ptest('ns.mount(name) names a namespace as `ip netns add` would; Netns.unmount removes it only if it holds the given inode', async (t) => {
  const ns = await Netns.create();
  const name = uniqueName('mn');
  t.teardown(async () => {
    await Netns.unmount(name);
    ns.close();
  });
  const path = await ns.mount(name);
  t.is(path, `/run/netns/${name}`);
  t.true(sh('ip', ['netns', 'list']).split('\n').some((l) => l.split(' ')[0] === name));
  await ns.links.add({ kind: 'bridge', name: 'seen0' });
  t.is(ipJson(name, 'link', 'show', 'seen0').length, 1, 'ip -n NAME sees this namespace');
  t.true((await Netns.list()).find((i) => i.inode === ns.inode).names.includes(name));

  const other = await Netns.create();
  t.teardown(() => other.close());
  t.throws(() => native.netnsMount(other.fd, path), { instanceOf: SystemError, code: 'EEXIST' });
  await t.throwsAsync(other.mount(name), { instanceOf: SystemError, code: 'EEXIST' });
  await t.throwsAsync(other.mount('a/b'), { instanceOf: ValidationError });

  t.false(await Netns.unmount(name, { inode: other.inode }), 'another namespace\'s inode: left alone');
  t.is(ipJson(name, 'link', 'show', 'seen0').length, 1, 'still mounted');
  t.true(await Netns.unmount(name, { inode: ns.inode }));
  t.false(sh('ip', ['netns', 'list']).split('\n').some((l) => l.split(' ')[0] === name));
  t.false(await Netns.unmount(name), 'no such name');
  t.is((await ns.links.get('seen0')).name, 'seen0', 'the namespace lives on while a handle holds it');
  await t.throwsAsync(Netns.unmount(name, { inode: -1 }), { instanceOf: ValidationError });
});

ptest.serial('diagnostics_channel netplumb:batch: every rtnetlink batch, nft transaction and pipeline step, with outcome and duration', async (t) => {
  t.is(diagnosticsStart(), undefined, 'nothing is measured without subscribers');
  const ns = await Netns.create();
  t.teardown(() => ns.close());
  const events = [];
  const listener = (m) => events.push(m);
  subscribe(BATCH_CHANNEL, listener);
  t.teardown(() => unsubscribe(BATCH_CHANNEL, listener));
  t.is(typeof diagnosticsStart(), 'number');

  await new RtnlBatch(ns).linkAdd({ kind: 'bridge', name: 'br0' }).linkSet('br0', { up: true }).commit();
  const tx = ns.nft.transaction();
  tx.addTable({ family: 'ip', name: 'np' });
  await tx.commit();
  const bad = ns.nft.transaction();
  bad.deleteTable({ family: 'ip', name: 'nosuch' });
  await t.throwsAsync(bad.commit(), { instanceOf: NetlinkError });
  const other = await Netns.create();
  t.teardown(() => other.close());
  await ns.links.add({ kind: 'veth', name: 'v0', peer: { name: 'eth0', netns: other } }); // a pipeline

  const route = events.find((m) => m.operations.some((o) => /^RTM_NEWLINK.*br0/.test(o)));
  t.like(route, { family: 'route', messages: 2 });
  t.is(route.operations.length, 2);
  t.is(route.error, undefined);
  t.true(Number.isFinite(route.durationMs) && route.durationMs >= 0);
  const nft = events.find((m) => m.family === 'netfilter' && m.operations.some((o) => o.startsWith('NFT_MSG_NEWTABLE')));
  t.deepEqual(nft.operations, ['NFNL_MSG_BATCH_BEGIN', 'NFT_MSG_NEWTABLE ip np', 'NFNL_MSG_BATCH_END']);
  t.is(nft.messages, 3);
  const failed = events.find((m) => m.operations.some((o) => o.startsWith('NFT_MSG_DELTABLE')));
  t.like(failed.error, { code: 'ENOENT', errno: 2 });
  t.regex(failed.error.message, /ENOENT/);
  const step = events.find((m) => m.pipeline && m.operations.some((o) => /RTM_NEWLINK.*v0/.test(o)));
  t.truthy(step, 'a pipeline step is published');
  t.is(step.pipeline.steps >= 1 && step.pipeline.step < step.pipeline.steps, true);
  t.true(step.durationMs > 0, 'the step\'s own time, measured by the addon');
  for (const m of events) {
    t.deepEqual(Object.keys(m).filter((k) => !['family', 'operations', 'messages', 'durationMs', 'error', 'pipeline'].includes(k)), []);
    t.is(m.messages, m.operations.length);
    t.true(JSON.parse(JSON.stringify(m)).family === m.family, 'a plain object');
  }
  unsubscribe(BATCH_CHANNEL, listener);
  const n = events.length;
  await ns.links.list();
  t.is(events.length, n, 'nothing after unsubscribing');
});
