// Transactions against the real kernel: atomicity (checked with `nft -j`), errors that
// name the failing change, the generation check, idempotent and exclusive creation,
// handles, coexistence with other tools' tables, 10,000 map elements, element timeouts,
// and ruleset events.
import test from 'ava';
import { Netns } from '../dist/netns.js';
import { nft } from '../dist/nft/index.js';
import { NetlinkError, ValidationError } from '../dist/errors.js';
import { nftJson, ptest, sh, uniqueName } from './helpers.js';

const { ip, meta, th, tcp, accept, drop, jump, counter, dnat } = nft;
const family = 'ip';
const table = 'netplumb';

async function fresh(t) {
  const name = uniqueName('tx');
  const ns = await Netns.create(name);
  t.teardown(() => ns.delete());
  return { ns, name, nftIn: (...args) => sh('ip', ['netns', 'exec', name, 'nft', ...args]) };
}

function base(tx) {
  tx.addTable({ family, name: table });
  tx.addChain({ family, table, name: 'forward', type: 'filter', hook: 'forward', priority: 0, policy: 'accept' });
  tx.addSet({ family, table, name: 'ports', keyType: ['inet_proto', 'inet_service'], dataType: ['ipv4_addr', 'inet_service'] });
}

ptest('a batch with one bad message changes nothing, and the error names that change', async (t) => {
  const { ns, name } = await fresh(t);
  const setup = ns.nft.transaction();
  base(setup);
  setup.addRule({ family, table, chain: 'forward', expressions: [counter()] });
  await setup.commit();
  const before = nftJson(name);

  const tx = ns.nft.transaction();
  tx.addChain({ family, table, name: 'docker' });
  tx.addRule({ family, table, chain: 'forward', expressions: [tcp.dport.eq(80), accept()] });
  tx.addElements({ family, table, set: 'ports', elements: [{ key: ['tcp', 81], data: ['172.17.0.2', 80] }] });
  tx.addRule({ family, table, chain: 'forward', expressions: [ip.saddr.eq('10.0.0.1'), jump('nonexistent')] });
  tx.addRule({ family, table, chain: 'forward', expressions: [drop()] });
  const err = await t.throwsAsync(tx.commit(), { instanceOf: NetlinkError });
  t.is(err.code, 'ENOENT');
  t.is(err.change, 3, 'the fourth change');
  t.is(err.index, 4, 'its message, after NFNL_MSG_BATCH_BEGIN and one message per change before it');
  t.regex(err.operation, /^change 3: NFT_MSG_NEWRULE ip netplumb\/forward/);
  t.regex(err.message, /ENOENT/);
  t.deepEqual(nftJson(name), before, 'nothing of the batch was applied');
  await t.throwsAsync(tx.commit(), { code: 'ERR_NETPLUMB_COMMITTED' });
});

ptest('the kernel extended ack text and the blamed expression are reported', async (t) => {
  const { ns } = await fresh(t);
  const setup = ns.nft.transaction();
  base(setup);
  await setup.commit();
  const tx = ns.nft.transaction();
  // A 16-byte interface name compared against a 2-byte load: the kernel refuses the cmp.
  tx.addRule({ family, table, chain: 'forward', expressions: [counter(), { kind: 'payload', base: 'transport', offset: 2, len: 2, dreg: 1 }, { kind: 'lookup', sreg: 1, set: 'nope' }] });
  const err = await t.throwsAsync(tx.commit(), { instanceOf: NetlinkError });
  t.is(err.code, 'ENOENT');
  t.is(err.change, 0);
  t.is(err.index, 1);
  t.regex(err.operation, /expression 2 \(lookup\)/);
});

ptest('generation check: a commit against a stale generation fails with ERESTART and changes nothing', async (t) => {
  const { ns, name, nftIn } = await fresh(t);
  const setup = ns.nft.transaction();
  base(setup);
  await setup.commit();
  const { generation } = await ns.nft.list({ family, table });
  t.is(generation, await ns.nft.generation());

  nftIn('add table inet someone_else');
  const before = nftJson(name);
  const tx = ns.nft.transaction({ generation });
  tx.addRule({ family, table, chain: 'forward', expressions: [accept()] });
  const err = await t.throwsAsync(tx.commit(), { instanceOf: NetlinkError, message: /ruleset changed since the given generation/ });
  t.is(err.errno, 85, 'ERESTART');
  t.deepEqual(nftJson(name), before);

  const retry = ns.nft.transaction({ generation: await ns.nft.generation() });
  retry.addRule({ family, table, chain: 'forward', expressions: [accept()] });
  await retry.commit();
  t.is((await ns.nft.list({ family, table })).rules.length, 1);
});

ptest('add is idempotent, create is exclusive; only named tables are touched', async (t) => {
  const { ns, name, nftIn } = await fresh(t);
  // Other tools' tables, with rules: they must come through untouched.
  nftIn('add table ip docker_like');
  nftIn('add chain ip docker_like forward { type filter hook forward priority 0; policy drop; }');
  nftIn('add rule ip docker_like forward iifname "docker0" accept');
  nftIn('add table inet firewalld_like { comment "theirs"; }');
  const theirs = () => nftJson(name).nftables.filter((o) => !o.metainfo && Object.values(o)[0].table !== table && Object.values(o)[0].name !== table);
  const untouched = theirs();

  for (let i = 0; i < 2; i++) {
    const tx = ns.nft.transaction();
    tx.addTable({ family, name: table, comment: 'managed by netplumb' });
    base(tx);
    await tx.commit();
  }
  t.is((await ns.nft.getTable(family, table)).comment, 'managed by netplumb');
  const exclusive = ns.nft.transaction();
  exclusive.createTable({ family, name: table });
  await t.throwsAsync(exclusive.commit(), { code: 'EEXIST' });

  const flush = ns.nft.transaction();
  flush.addRule({ family, table, chain: 'forward', expressions: [accept()] });
  flush.flushTable({ family, name: table });
  await flush.commit();
  t.is((await ns.nft.list({ family, table })).rules.length, 0);
  const del = ns.nft.transaction();
  del.deleteTable({ family, name: table });
  await del.commit();
  t.is(await ns.nft.getTable(family, table), undefined);
  t.deepEqual(theirs(), untouched);
  t.deepEqual((await ns.nft.listTables()).map((x) => `${x.family} ${x.name}`).sort(), ['inet firewalld_like', 'ip docker_like']);
  t.is((await ns.nft.getTable('inet', 'firewalld_like')).comment, 'theirs');
});

ptest('handles: added rules report them; insert, position, replace and delete act on exactly that rule', async (t) => {
  const { ns, nftIn } = await fresh(t);
  const tx = ns.nft.transaction();
  base(tx);
  const a = tx.addRule({ family, table, chain: 'forward', expressions: [tcp.dport.eq(1), accept()], comment: 'a' });
  const b = tx.addRule({ family, table, chain: 'forward', expressions: [tcp.dport.eq(2), accept()], comment: 'b' });
  t.is(a.handle, undefined);
  const { rules } = await tx.commit();
  t.deepEqual(rules, [a, b]);
  t.true(a.handle > 0 && b.handle > a.handle);

  const tx2 = ns.nft.transaction();
  const first = tx2.insertRule({ family, table, chain: 'forward', expressions: [tcp.dport.eq(0), accept()], comment: 'first' });
  const between = tx2.addRule({ family, table, chain: 'forward', expressions: [tcp.dport.eq(15), accept()], comment: 'after a', position: a.handle });
  const before = tx2.insertRule({ family, table, chain: 'forward', expressions: [tcp.dport.eq(16), accept()], comment: 'before b', position: b.handle });
  tx2.replaceRule({ family, table, chain: 'forward', expressions: [tcp.dport.eq(3), drop()], comment: 'b replaced', handle: b.handle });
  await tx2.commit();
  const comments = async () => (await ns.nft.list({ family, table })).rules.map((r) => r.comment);
  t.deepEqual(await comments(), ['first', 'a', 'after a', 'before b', 'b replaced']);
  t.true([first, between, before].every((r) => r.handle > b.handle));

  const tx3 = ns.nft.transaction();
  tx3.deleteRule({ family, table, chain: 'forward', handle: between.handle });
  await tx3.commit();
  t.deepEqual(await comments(), ['first', 'a', 'before b', 'b replaced']);
  t.notRegex(nftIn('-a', 'list', 'chain', family, table, 'forward'), new RegExp(`handle ${between.handle}\\b`));
});

ptest('10,000 map elements are added and deleted in a few batches and read back', async (t) => {
  const { ns, name } = await fresh(t);
  const setup = ns.nft.transaction();
  base(setup);
  setup.addChain({ family, table, name: 'pre', type: 'nat', hook: 'prerouting', priority: 'dstnat' });
  setup.addRule({ family, table, chain: 'pre', expressions: [dnat.map('@ports', [meta.l4proto, th.dport])] });
  await setup.commit();

  const N = 10000;
  const element = (i) => ({ key: [i % 2 ? 'udp' : 'tcp', 10000 + (i >> 1)], data: [`172.17.${(i >> 8) & 255}.${i & 255}`, 80 + (i % 7)], comment: `endpoint ${i}` });
  const all = Array.from({ length: N }, (_, i) => element(i));
  const batches = 4;
  let t0 = process.hrtime.bigint();
  for (let b = 0; b < batches; b++) {
    const tx = ns.nft.transaction();
    tx.addElements({ family, table, set: 'ports', elements: all.slice((b * N) / batches, ((b + 1) * N) / batches) });
    await tx.commit();
  }
  const addMs = Number(process.hrtime.bigint() - t0) / 1e6;

  t0 = process.hrtime.bigint();
  const listed = await ns.nft.listElements(family, table, 'ports');
  const listMs = Number(process.hrtime.bigint() - t0) / 1e6;
  t.is(listed.length, N);
  const key = (e) => `${e.key.join('.')}>${e.data.join(':')}#${e.comment}`;
  t.deepEqual(listed.map(key).sort(), all.map(key).sort());
  const json = JSON.parse(sh('ip', ['netns', 'exec', name, 'nft', '-j', 'list', 'map', family, table, 'ports'], { maxBuffer: 64 << 20 }));
  t.is(json.nftables.find((o) => o.map).map.elem.length, N, 'nft sees them too');

  t0 = process.hrtime.bigint();
  for (let b = 0; b < batches; b++) {
    const tx = ns.nft.transaction();
    tx.deleteElements({ family, table, set: 'ports', elements: all.slice((b * N) / batches, ((b + 1) * N) / batches) });
    await tx.commit();
  }
  const delMs = Number(process.hrtime.bigint() - t0) / 1e6;
  t.deepEqual(await ns.nft.listElements(family, table, 'ports'), []);
  t.log(`10,000 elements: add ${addMs.toFixed(0)} ms (${((addMs * 1000) / N).toFixed(1)} µs each), list ${listMs.toFixed(0)} ms, delete ${delMs.toFixed(0)} ms`);
});

ptest('element timeouts, intervals, and sets made by nft need their types read first', async (t) => {
  const { ns, nftIn } = await fresh(t);
  nftIn('add table ip theirs');
  nftIn('add set ip theirs blocked { type ipv4_addr; flags interval,timeout; }');
  const tx = ns.nft.transaction();
  t.throws(() => tx.addElements({ family, table: 'theirs', set: 'blocked', elements: [{ key: '10.0.0.0/8' }] }), { instanceOf: ValidationError, message: /unknown/ });
  await ns.nft.getSet(family, 'theirs', 'blocked');
  tx.addElements({ family, table: 'theirs', set: 'blocked', elements: [{ key: '10.0.0.0/8', timeout: 60000, comment: 'ten' }, { key: '192.168.0.10', keyEnd: '192.168.0.20' }] });
  await tx.commit();
  const els = await ns.nft.listElements(family, 'theirs', 'blocked');
  const ten = els.find((e) => e.key === '10.0.0.0/8');
  t.is(ten.timeout, 60000);
  t.true(ten.expires > 50000 && ten.expires <= 60000);
  t.is(ten.comment, 'ten');
  t.deepEqual(els.find((e) => e.key === '192.168.0.10'), { key: '192.168.0.10', keyEnd: '192.168.0.20' });
  t.regex(nftIn('list', 'set', 'ip', 'theirs', 'blocked'), /10\.0\.0\.0\/8 timeout 1m expires .* comment "ten", 192\.168\.0\.10-192\.168\.0\.20/);
});

ptest('monitor: decoded events for tables, chains, rules, sets, elements and generations', async (t) => {
  const { ns } = await fresh(t);
  const monitor = ns.nft.monitor();
  t.teardown(() => monitor.close());
  const tx = ns.nft.transaction();
  base(tx);
  const rule = tx.addRule({ family, table, chain: 'forward', expressions: [tcp.dport.eq(80), accept()], comment: 'web' });
  tx.addElements({ family, table, set: 'ports', elements: [{ key: ['tcp', 81], data: ['172.17.0.2', 80] }] });
  await tx.commit();
  const del = ns.nft.transaction();
  del.deleteTable({ family, name: table });
  await del.commit();

  const seen = [];
  for await (const ev of monitor) {
    seen.push(ev);
    if (ev.object === 'gen' && seen.filter((e) => e.object === 'gen').length === 2) break;
  }
  const summary = seen.map((e) => `${e.action} ${e.object}`);
  t.deepEqual(summary, ['new table', 'new chain', 'new set', 'new rule', 'new element', 'new gen', 'del rule', 'del element', 'del set', 'del chain', 'del table', 'new gen'].filter((s) => summary.includes(s)));
  t.true(summary.includes('new table') && summary.includes('new element') && summary.includes('del table'));
  const newRule = seen.find((e) => e.object === 'rule' && e.action === 'new').rule;
  t.is(newRule.handle, rule.handle);
  t.is(newRule.comment, 'web');
  const el = seen.find((e) => e.object === 'element' && e.action === 'new');
  t.deepEqual(el.elements, [{ key: ['tcp', 81], data: ['172.17.0.2', 80] }]);
  t.true(seen.filter((e) => e.object === 'gen').every((e) => e.generation > 0));
});
