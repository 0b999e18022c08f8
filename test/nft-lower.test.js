// What the network layer needs of nftables, against the real kernel (oracle `nft -j`,
// `iptables-nft -S`): interval maps over concatenations reserving ranges exclusively
// (overlaps refused with EEXIST naming the change), getElement (one GETSETELEM, not a
// dump), chains of every table including iptables-nft's, rules in iptables-nft's FORWARD
// chain written byte for byte as iptables-nft writes them, and what NetlinkError.index
// means in a transaction.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { Netns } from '../dist/netns.js';
import { iptablesAcceptRule, iptablesComment } from '../dist/nft/index.js';
import { Transaction } from '../dist/nft/transaction.js';
import { NetlinkError, NetplumbError, ValidationError } from '../dist/errors.js';
import { nftJson, ptest, sh, uniqueName } from './helpers.js';
import { CASES, captureNewrule } from './fixtures/nft/capture-iptables.mjs';

const family = 'ip';
const table = 'np';
const PORTS = { family, table, name: 'ports', keyType: ['inet_proto', 'inet_service', 'ipv4_addr'], dataType: ['ipv4_addr', 'inet_service'], flags: ['interval'] };
const elems = (elements) => ({ family, table, set: 'ports', elements });
const fixture = JSON.parse(readFileSync(new URL('./fixtures/nft/iptables-forward-accept.json', import.meta.url), 'utf8'));

async function fresh(t) {
  const name = uniqueName('nl');
  const ns = await Netns.create(name);
  t.teardown(() => ns.delete());
  const inNs = (cmd, ...args) => sh('ip', ['netns', 'exec', name, cmd, ...args]);
  return { ns, name, inNs };
}

async function withPorts(t) {
  const f = await fresh(t);
  const tx = f.ns.nft.transaction();
  tx.addTable({ family, name: table });
  tx.addSet(PORTS);
  await tx.commit();
  return f;
}

/** The map's elements as `nft -j` lists them. */
function nftElements(name) {
  const map = nftJson(name, 'list', 'map', family, table, 'ports').nftables.find((x) => x.map)?.map;
  return map?.elem ?? [];
}

ptest('interval map over a concatenation: createElements reserves ranges; an overlap fails with EEXIST naming the ElementsSpec', async (t) => {
  const { ns, name } = await withPorts(t);
  const setup = ns.nft.transaction();
  setup.createElements(elems([{ key: ['tcp', 8080, '0.0.0.0/0'], data: ['172.17.0.2', 80], comment: 'ep1' }]));
  setup.createElements(elems([{ key: ['tcp', 9000, '10.0.0.1'], data: ['172.17.0.3', 90], comment: 'ep2' }]));
  await setup.commit();
  const before = nftElements(name);
  t.deepEqual(before, [
    [{ elem: { val: { concat: ['tcp', 8080, { prefix: { addr: '0.0.0.0', len: 0 } }] }, comment: 'ep1' } }, { concat: ['172.17.0.2', 80] }],
    [{ elem: { val: { concat: ['tcp', 9000, '10.0.0.1'] }, comment: 'ep2' } }, { concat: ['172.17.0.3', 90] }],
  ]);

  // A single address inside a taken full range; the first two changes are fine.
  const tx = ns.nft.transaction();
  tx.createElements(elems([{ key: ['udp', 8080, '0.0.0.0/0'], data: ['172.17.0.4', 80] }]));
  tx.createElements(elems([{ key: ['tcp', 8081, '10.0.0.1'], data: ['172.17.0.4', 81] }]));
  tx.createElements(elems([{ key: ['tcp', 8080, '10.0.0.1'], data: ['172.17.0.4', 80] }]));
  const err = await t.throwsAsync(tx.commit(), { instanceOf: NetlinkError });
  t.is(err.code, 'EEXIST', 'the kernel reports the overlap (ENOTEMPTY) as EEXIST');
  t.is(err.errno, 17);
  t.is(err.change, 2, 'the third ElementsSpec');
  t.is(err.index, 3, 'its message: BATCH_BEGIN is 0, one message per change');
  t.regex(err.operation, /^change 2: NFT_MSG_NEWSETELEM ip np\/ports/);
  t.deepEqual(nftElements(name), before, 'nothing of the batch was applied');

  // Everything whose start or end falls inside a taken range is refused: a range ending
  // or starting on the taken address, the same address again, anything inside 0.0.0.0/0.
  for (const [key, keyEnd] of [[['tcp', 9000, '10.0.0.1']], [['tcp', 9000, '10.0.0.1'], ['tcp', 9000, '10.0.0.9']], [['tcp', 9000, '10.0.0.0'], ['tcp', 9000, '10.0.0.1']], [['tcp', 8080, '255.255.255.255']], [['tcp', 8080, '10.0.0.0/24']]]) {
    const tx3 = ns.nft.transaction();
    tx3.createElements(elems([{ key, ...(keyEnd ? { keyEnd } : {}), data: ['172.17.0.5', 90] }]));
    const e = await t.throwsAsync(tx3.commit(), { instanceOf: NetlinkError, code: 'EEXIST' }, JSON.stringify([key, keyEnd]));
    t.is(e?.change, 0);
    t.is(e?.index, 1);
  }
  t.deepEqual(nftElements(name), before);

  // The kernel's limit (nft_pipapo_insert checks only the new element's start and end): a
  // wider range strictly containing a taken one goes in. A full range over a taken single
  // address is therefore NOT refused; whoever reserves with this map must not count on it.
  for (const key of [['tcp', 9000, '0.0.0.0/0'], ['tcp', 9000, '10.0.0.0/24']]) {
    const wide = ns.nft.transaction();
    wide.createElements(elems([{ key, data: ['172.17.0.5', 90] }]));
    await wide.commit();
    t.is(nftElements(name).length, 3, `${key.join(' . ')} went in beside tcp . 9000 . 10.0.0.1`);
    const undo = ns.nft.transaction();
    undo.deleteElements(elems([{ key }]));
    await undo.commit();
  }
  t.deepEqual(nftElements(name), before);

  // Disjoint ranges go in; deleting one frees its range.
  const ok = ns.nft.transaction();
  ok.createElements(elems([{ key: ['tcp', 9000, '10.0.0.2'], data: ['172.17.0.6', 90] }]));
  ok.deleteElements(elems([{ key: ['tcp', 8080, '0.0.0.0/0'] }]));
  await ok.commit();
  const again = ns.nft.transaction();
  again.createElements(elems([{ key: ['tcp', 8080, '10.0.0.1'], data: ['172.17.0.7', 80] }]));
  await again.commit();
  const keys = nftElements(name).map(([k]) => JSON.stringify(k.elem?.val ?? k));
  t.is(keys.length, 3);
  t.true(keys.some((k) => k.includes('"tcp",8080,"10.0.0.1"')));
});

ptest('getElement: one GETSETELEM returns the element holding a key, with data and comment; undefined when none does', async (t) => {
  const { ns, inNs } = await withPorts(t);
  const tx = ns.nft.transaction();
  tx.createElements(elems([
    { key: ['tcp', 8080, '0.0.0.0/0'], data: ['172.17.0.2', 80], comment: 'ep1 owner' },
    { key: ['tcp', 9000, '10.0.0.1'], data: ['172.17.0.3', 90] },
  ]));
  tx.addSet({ family, table, name: 'plain', keyType: ['inet_proto', 'inet_service'], dataType: 'verdict' });
  tx.addElements({ family, table, set: 'plain', elements: [{ key: ['udp', 53], data: 'accept', comment: 'dns' }] });
  tx.addSet({ family, table, name: 'nets', keyType: 'ipv4_addr', flags: ['interval'] });
  tx.addElements({ family, table, set: 'nets', elements: [{ key: '10.1.0.0/16' }, { key: '192.0.2.10', keyEnd: '192.0.2.20', comment: 'r' }] });
  await tx.commit();

  // A fresh handle on the same namespace knows no set types: getElement reads the set first.
  const other = await Netns.open(ns.path);
  t.teardown(() => other.close());
  t.deepEqual(await other.nft.getElement({ family, table, set: 'ports', key: ['tcp', 8080, '203.0.113.9'] }), {
    key: ['tcp', 8080, '0.0.0.0'],
    keyEnd: ['tcp', 8080, '255.255.255.255'],
    data: ['172.17.0.2', 80],
    comment: 'ep1 owner',
  });
  t.deepEqual(await ns.nft.getElement({ family, table, set: 'ports', key: ['tcp', 9000, '10.0.0.1'] }), { key: ['tcp', 9000, '10.0.0.1'], data: ['172.17.0.3', 90] });
  t.is(await ns.nft.getElement({ family, table, set: 'ports', key: ['tcp', 9000, '10.0.0.2'] }), undefined);
  t.is(await ns.nft.getElement({ family, table, set: 'ports', key: ['udp', 8080, '10.0.0.2'] }), undefined);
  t.deepEqual(await ns.nft.getElement({ family, table, set: 'plain', key: ['udp', 53] }), { key: ['udp', 53], data: 'accept', comment: 'dns' });
  t.is(await ns.nft.getElement({ family, table, set: 'plain', key: ['tcp', 53] }), undefined);
  t.deepEqual(await other.nft.getElement({ family, table, set: 'nets', key: '10.1.200.3' }), { key: '10.1.0.0/16' });
  t.deepEqual(await ns.nft.getElement({ family, table, set: 'nets', key: '192.0.2.15' }), { key: '192.0.2.10', keyEnd: '192.0.2.20', comment: 'r' });
  t.is(await ns.nft.getElement({ family, table, set: 'nets', key: '192.0.2.21' }), undefined);
  // The oracle agrees on what holds what.
  t.regex(inNs('nft', 'get', 'element', family, table, 'ports', '{ tcp . 8080 . 203.0.113.9 }'), /tcp \. 8080 \. 0\.0\.0\.0\/0 comment "ep1 owner" : 172\.17\.0\.2 \. 80/);

  await t.throwsAsync(ns.nft.getElement({ family, table, set: 'nosuch', key: 1 }), { instanceOf: NetplumbError, code: 'ENOENT' });
  await t.throwsAsync(ns.nft.getElement({ family, table, set: 'ports', key: ['tcp', 70000, '10.0.0.1'] }), { instanceOf: ValidationError });
});

ptest('listChains: every table and base chain of every family, iptables-nft\'s ip filter FORWARD with policy drop included', async (t) => {
  const { ns, inNs } = await fresh(t);
  inNs('iptables-nft', '-P', 'FORWARD', 'DROP');
  inNs('ip6tables-nft', '-A', 'INPUT', '-j', 'ACCEPT');
  inNs('nft', 'add table inet other; add chain inet other fw { type filter hook forward priority -5; policy accept; }; add chain inet other regular');
  const chains = await ns.nft.listChains();
  const theirs = JSON.parse(inNs('nft', '-j', 'list', 'chains')).nftables.filter((x) => x.chain).map((x) => x.chain);
  t.is(chains.length, theirs.length);
  for (const j of theirs) {
    const c = chains.find((x) => x.family === j.family && x.table === j.table && x.name === j.name);
    t.truthy(c, `${j.family} ${j.table} ${j.name}`);
    t.is(c.hook, j.hook);
    t.is(c.priority, j.prio);
    t.is(c.policy, j.policy);
    t.is(c.type, j.type);
  }
  t.like(chains.find((c) => c.family === 'ip' && c.table === 'filter' && c.name === 'FORWARD'), { type: 'filter', hook: 'forward', priority: 0, policy: 'drop' });
  t.like(chains.find((c) => c.family === 'ip6' && c.table === 'filter' && c.name === 'INPUT'), { hook: 'input', policy: 'accept' });
  t.like(chains.find((c) => c.family === 'inet' && c.name === 'fw'), { hook: 'forward', priority: -5 });
  t.is(chains.find((c) => c.name === 'regular').hook, undefined);
  t.deepEqual((await ns.nft.listChains('ip6')).map((c) => c.family).filter((f) => f !== 'ip6'), []);
  // And nft.list() of one foreign table says the same.
  t.like((await ns.nft.list({ family: 'ip', table: 'filter' })).chains.find((c) => c.name === 'FORWARD'), { hook: 'forward', policy: 'drop' });
});

test('iptablesAcceptRule encodes the NEWRULE iptables-nft 1.8.9 sends, byte for byte (fixture)', (t) => {
  t.is(fixture.cases.length, CASES.length);
  for (const c of fixture.cases) {
    const tx = new Transaction(undefined, new Map());
    tx.insertRule(iptablesAcceptRule(c.spec));
    const { batch } = tx.seal();
    const req = batch.requests.find((r) => r.type === ((10 << 8) | 6));
    const bytes = batch.bytes();
    const ours = bytes.subarray(req.offset, req.offset + bytes.readUInt32LE(req.offset));
    const theirs = Buffer.from(c.hex, 'hex');
    // The header differs only in flags (ours add NLM_F_ACK|NLM_F_ECHO to learn the handle) and seq.
    t.is(ours.readUInt32LE(0), theirs.readUInt32LE(0), `${c.command}: length`);
    t.is(ours.readUInt16LE(4), theirs.readUInt16LE(4));
    t.is(ours.readUInt16LE(6) & ~(0x4 | 0x8), theirs.readUInt16LE(6), 'NLM_F_REQUEST|NLM_F_CREATE: inserted at the head');
    t.is(ours.subarray(16).toString('hex'), theirs.subarray(16).toString('hex'), c.command);
  }
  t.throws(() => iptablesAcceptRule({ comment: 'x' }), { instanceOf: ValidationError, message: /inInterface/ });
  t.throws(() => iptablesAcceptRule({ outInterface: 'a-name-too-long-x', comment: 'x' }), { instanceOf: ValidationError });
  t.throws(() => iptablesAcceptRule({ outInterface: 'br0', comment: 'x'.repeat(256) }), { instanceOf: ValidationError });
});

ptest('a rule netplumb inserts into iptables-nft\'s FORWARD reads cleanly in iptables -S and is deleted by handle', async (t) => {
  const { ns, name, inNs } = await fresh(t);
  inNs('iptables-nft', '-P', 'FORWARD', 'DROP');
  inNs('iptables-nft', '-A', 'FORWARD', '-o', 'docker0', '-j', 'ACCEPT');
  // Live: the bytes iptables-nft sends now are the fixture's (same tool version).
  const live = captureNewrule(['ip', 'netns', 'exec', name, ...CASES[0].args]);
  t.is(live.bytes.subarray(16).toString('hex'), Buffer.from(fixture.cases[0].hex, 'hex').subarray(16).toString('hex'));
  inNs('iptables-nft', '-D', 'FORWARD', '1');

  const tx = ns.nft.transaction();
  const out = tx.insertRule(iptablesAcceptRule({ outInterface: 'br-np', comment: 'netplumb:n1' }));
  const inn = tx.insertRule(iptablesAcceptRule({ inInterface: 'br-np', comment: 'netplumb:n1' }));
  await tx.commit();
  t.true(out.handle > 0 && inn.handle > 0);

  const listing = sh('ip', ['netns', 'exec', name, 'iptables-nft', '-S', 'FORWARD'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.deepEqual(listing.trim().split('\n'), [
    '-P FORWARD DROP',
    '-A FORWARD -i br-np -m comment --comment "netplumb:n1" -j ACCEPT',
    '-A FORWARD -o br-np -m comment --comment "netplumb:n1" -j ACCEPT',
    '-A FORWARD -o docker0 -j ACCEPT',
  ]);
  const verbose = sh('ip', ['netns', 'exec', name, 'sh', '-c', 'iptables-nft -S FORWARD 2>&1; iptables-nft -L FORWARD -n 2>&1']);
  t.notRegex(verbose, /incompatible|Warning/i, 'no "table is incompatible" warning');
  const rules = nftJson(name, 'list', 'chain', 'ip', 'filter', 'FORWARD').nftables.filter((x) => x.rule).map((x) => x.rule);
  t.deepEqual(rules[0].expr, [{ match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'br-np' } }, { xt: { type: 'match', name: 'comment' } }, { counter: { packets: 0, bytes: 0 } }, { accept: null }]);
  t.is(rules[0].handle, inn.handle);
  t.is(rules[1].handle, out.handle);

  // Read back: iptablesComment finds ours among the chain's rules.
  const ours = (await ns.nft.listRules('ip', 'filter', 'FORWARD')).filter((r) => iptablesComment(r) === 'netplumb:n1');
  t.deepEqual(ours.map((r) => r.handle).sort(), [inn.handle, out.handle].sort());
  t.is(iptablesComment((await ns.nft.listRules('ip', 'filter', 'FORWARD')).at(-1)), undefined, "docker0's rule has no comment");
  t.deepEqual(await ns.nft.listRules('ip', 'nosuch'), []);

  const del = ns.nft.transaction();
  for (const r of ours) del.deleteRule({ family: 'ip', table: 'filter', chain: 'FORWARD', handle: r.handle });
  await del.commit();
  t.deepEqual(inNs('iptables-nft', '-S', 'FORWARD').trim().split('\n'), ['-P FORWARD DROP', '-A FORWARD -o docker0 -j ACCEPT'], 'the policy and the other rule are untouched');
});

ptest('NetlinkError.index is the message position in the batch as sent; a rule with an inline set counts each message', async (t) => {
  const { ns } = await withPorts(t);
  const tx = ns.nft.transaction();
  tx.addChain({ family, table, name: 'c' }); // message 1
  tx.addRule({
    family,
    table,
    chain: 'c',
    expressions: [{ kind: 'payload', base: 'network', offset: 16, len: 4, dreg: 1 }, { kind: 'lookup', sreg: 1, set: { keyType: 'ipv4_addr', elements: [{ key: '10.0.0.1' }] } }],
  }); // messages 2-4: NEWSET, NEWSETELEM, NEWRULE
  tx.deleteChain({ family, table, name: 'nosuch' }); // message 5
  const err = await t.throwsAsync(tx.commit(), { instanceOf: NetlinkError });
  t.is(err.code, 'ENOENT');
  t.is(err.change, 2);
  t.is(err.index, 5);
  t.true(err.cause instanceof NetlinkError, 'the kernel error the change error re-wraps is its cause');
  t.is(err.cause.index, 5, 'the same index before and after renaming');
});

ptest('an error on NFNL_MSG_BATCH_BEGIN (EPERM without CAP_NET_ADMIN) is not called a stale generation', async (t) => {
  const { name } = await fresh(t);
  // A process without capabilities, in the test's namespace: the kernel refuses the batch on its BEGIN.
  const script = `
    import { Netns } from ${JSON.stringify(new URL('../dist/netns.js', import.meta.url).href)};
    const ns = await Netns.current();
    for (const generation of [undefined, 1]) {
      const tx = ns.nft.transaction(generation === undefined ? {} : { generation });
      tx.addTable({ family: 'ip', name: 'x' });
      try { await tx.commit(); console.log(JSON.stringify({ ok: true })); }
      catch (e) { console.log(JSON.stringify({ code: e.code, errno: e.errno, index: e.index, change: e.change ?? null, operation: e.operation })); }
    }`;
  const out = sh('ip', ['netns', 'exec', name, 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', process.execPath, '--input-type=module', '-e', script]);
  const [plain, checked] = out.trim().split('\n').map((l) => JSON.parse(l));
  for (const r of [plain, checked]) {
    t.like(r, { code: 'EPERM', errno: 1, index: 0, change: null });
    t.notRegex(r.operation, /generation/);
    t.regex(r.operation, /^NFNL_MSG_BATCH_BEGIN/);
  }
});

ptest('one-field interval set (rbtree): the kernel itself refuses every overlap, containment both ways, with EEXIST', async (t) => {
  const { ns, name } = await fresh(t);
  const setup = ns.nft.transaction();
  setup.addTable({ family, name: table });
  setup.addSet({ family, table, name: 'hp', keyType: 'ipv6_addr', flags: ['interval'] });
  setup.addSet({ family, table, name: 'nets', keyType: 'ipv4_addr', flags: ['interval'] });
  await setup.commit();
  const v6 = (set, e) => ({ family, table, set, elements: [e] });
  // [existing, new]: each pair overlaps; no nft userspace check is involved (netplumb sends it).
  const cases = [
    ['hp', { key: '::ffff:10.0.0.1' }, { key: '::ffff:0.0.0.0', keyEnd: '::ffff:255.255.255.255' }],
    ['hp', { key: '::ffff:0.0.0.0', keyEnd: '::ffff:255.255.255.255' }, { key: '::ffff:10.0.0.1' }],
    ['hp', { key: '::ffff:10.0.0.1' }, { key: '::ffff:10.0.0.1' }],
    ['nets', { key: '10.0.0.0/24' }, { key: '10.0.0.0/8' }],
    ['nets', { key: '10.0.0.0/8' }, { key: '10.0.0.0/24' }],
    ['nets', { key: '10.0.1.0/24' }, { key: '10.0.0.0/16' }],
    ['nets', { key: '10.0.0.5' }, { key: '10.0.0.0/24' }],
    ['nets', { key: '10.0.0.0/24' }, { key: '10.0.0.128', keyEnd: '10.0.1.5' }],
    ['nets', { key: '10.0.0.0/24' }, { key: '9.255.255.0', keyEnd: '10.0.0.0' }],
  ];
  for (const [set, existing, added] of cases) {
    const put = ns.nft.transaction();
    put.flushSet({ family, table, name: set });
    put.createElements(v6(set, existing));
    await put.commit();
    const before = nftJson(name, 'list', 'set', family, table, set);
    const tx = ns.nft.transaction();
    tx.createElements(v6(set, added));
    const err = await t.throwsAsync(tx.commit(), { instanceOf: NetlinkError }, `${set}: ${JSON.stringify(added)} over ${JSON.stringify(existing)}`);
    t.is(err?.code, 'EEXIST');
    t.deepEqual(nftJson(name, 'list', 'set', family, table, set), before);
  }
  // Adjacent, not overlapping: accepted.
  const ok = ns.nft.transaction();
  ok.flushSet({ family, table, name: 'nets' });
  ok.createElements(v6('nets', { key: '10.0.0.0/24' }));
  ok.createElements(v6('nets', { key: '10.0.1.0/24' }));
  ok.createElements(v6('nets', { key: '9.255.255.0', keyEnd: '9.255.255.255' }));
  await ok.commit();
  // Adjacent intervals share a key (one's end marker, the next one's start): they decode apart.
  t.deepEqual(await ns.nft.listElements(family, table, 'nets'), [{ key: '9.255.255.0/24' }, { key: '10.0.0.0/24' }, { key: '10.0.1.0/24' }]);
});
