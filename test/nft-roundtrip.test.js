// Round trips against the real kernel: every expression kind netplumb writes reads back
// equal; a varied ruleset loaded with `nft -f` (with expressions netplumb does not model)
// decodes, and written back by netplumb into a fresh namespace it is the same ruleset
// for `nft -j`; rules we write list cleanly with `nft list ruleset` and `nft -j`.
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Netns } from '../dist/netns.js';
import { nft } from '../dist/nft/index.js';
import { nftJson, ptest, sh, uniqueName } from './helpers.js';

const { ip, tcp, meta, th, ct, fib, concat } = nft;

async function fresh(t) {
  const name = uniqueName('rt');
  const ns = await Netns.create(name);
  t.teardown(() => ns.delete());
  return { ns, name };
}

/** `nft -j list ruleset` minus what legitimately differs between two equal rulesets. */
function normalized(name) {
  const strip = (v) => {
    if (Array.isArray(v)) return v.map(strip);
    if (v && typeof v === 'object') {
      const out = {};
      for (const [k, x] of Object.entries(v)) if (k !== 'handle' && k !== 'expires') out[k] = strip(x);
      return out;
    }
    return v;
  };
  return strip(nftJson(name).nftables.filter((o) => !o.metainfo));
}

const b = (...bytes) => Uint8Array.from(bytes);
const be32 = (n) => b(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);

// One or more rules per chain; every expression kind, written as plain objects (how the
// kernel will report them back).
const FILTER = [
  [{ kind: 'payload', base: 'network', offset: 12, len: 4, dreg: 1 }, { kind: 'cmp', op: 'eq', sreg: 1, data: b(10, 0, 0, 1) }],
  [{ kind: 'payload', base: 'transport', offset: 2, len: 2, dreg: 9 }, { kind: 'cmp', op: 'gte', sreg: 9, data: b(0, 80) }],
  [{ kind: 'meta', key: 'iifname', dreg: 1 }, { kind: 'cmp', op: 'neq', sreg: 1, data: b(108, 111, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) }],
  [
    { kind: 'payload', base: 'network', offset: 12, len: 4, dreg: 1 },
    { kind: 'bitwise', sreg: 1, dreg: 1, len: 4, mask: b(255, 255, 254, 0), xor: b(0, 0, 0, 0) },
    { kind: 'cmp', op: 'eq', sreg: 1, data: b(10, 1, 2, 0) },
  ],
  [{ kind: 'payload', base: 'transport', offset: 0, len: 2, dreg: 1 }, { kind: 'range', op: 'neq', sreg: 1, from: b(3, 232), to: b(7, 208) }],
  [{ kind: 'payload', base: 'network', offset: 12, len: 4, dreg: 1 }, { kind: 'lookup', sreg: 1, set: 'addrs' }],
  [{ kind: 'payload', base: 'network', offset: 12, len: 4, dreg: 1 }, { kind: 'lookup', sreg: 1, set: 'addrs', invert: true }],
  [{ kind: 'payload', base: 'transport', offset: 2, len: 2, dreg: 1 }, { kind: 'lookup', sreg: 1, set: 'vm', dreg: 0 }],
  [{ kind: 'payload', base: 'network', offset: 12, len: 4, dreg: 1 }, { kind: 'lookup', sreg: 1, set: 'marks', dreg: 1 }, { kind: 'meta', key: 'mark', sreg: 1 }],
  [{ kind: 'ct', key: 'state', dreg: 1 }, { kind: 'bitwise', sreg: 1, dreg: 1, len: 4, mask: b(6, 0, 0, 0), xor: b(0, 0, 0, 0) }, { kind: 'cmp', op: 'neq', sreg: 1, data: b(0, 0, 0, 0) }],
  [{ kind: 'ct', key: 'ip saddr', dreg: 1, direction: 'original' }, { kind: 'cmp', op: 'eq', sreg: 1, data: b(10, 0, 0, 1) }],
  [{ kind: 'immediate', dreg: 1, data: b(1, 0, 0, 0) }, { kind: 'ct', key: 'mark', sreg: 1 }],
  [{ kind: 'fib', result: 'type', flags: ['daddr'], dreg: 1 }, { kind: 'cmp', op: 'eq', sreg: 1, data: b(2, 0, 0, 0) }],
  [{ kind: 'fib', result: 'oif', flags: ['saddr', 'iif', 'present'], dreg: 1 }, { kind: 'cmp', op: 'eq', sreg: 1, data: b(0, 0, 0, 0) }],
  [{ kind: 'counter', packets: 0n, bytes: 0n }, { kind: 'immediate', dreg: 0, verdict: 'accept' }],
  [{ kind: 'immediate', dreg: 0, verdict: 'drop' }],
  [{ kind: 'immediate', dreg: 0, verdict: 'continue' }],
  [{ kind: 'immediate', dreg: 0, verdict: { jump: 'other' } }],
  [{ kind: 'immediate', dreg: 0, verdict: { goto: 'other' } }],
  [{ kind: 'reject', type: 'icmp-unreach', code: 1 }],
  [{ kind: 'meta', key: 'l4proto', dreg: 1 }, { kind: 'cmp', op: 'eq', sreg: 1, data: b(6) }, { kind: 'reject', type: 'tcp-rst' }],
  [{ kind: 'limit', rate: 10, unit: 60, burst: 5, type: 'packets' }],
  [{ kind: 'limit', rate: 1048576, unit: 1, burst: 0, type: 'bytes', invert: true }],
  [{ kind: 'log', prefix: 'dropped: ', level: 'info' }],
  [{ kind: 'log', group: 2, snaplen: 64, qthreshold: 10 }],
  // numgen, which netplumb does not model: kept and written back byte for byte.
  [
    { kind: 'raw', name: 'numgen', data: Uint8Array.from([...[8, 0, 1, 0], ...be32(1), ...[8, 0, 2, 0], ...be32(2), ...[8, 0, 3, 0], ...be32(0), ...[8, 0, 4, 0], ...be32(0)]) },
    { kind: 'meta', key: 'mark', sreg: 1 },
  ],
];
const OTHER = [[{ kind: 'immediate', dreg: 0, verdict: 'return' }]];
const PRE = [
  [{ kind: 'notrack' }],
  [
    { kind: 'immediate', dreg: 1, data: b(172, 17, 0, 2) },
    { kind: 'immediate', dreg: 2, data: b(0, 80) },
    { kind: 'nat', type: 'dnat', family: 'ip', addrMin: 1, protoMin: 2 },
  ],
  [{ kind: 'immediate', dreg: 1, data: b(0, 80) }, { kind: 'redir', protoMin: 1 }],
];
const POST = [
  [
    { kind: 'immediate', dreg: 1, data: b(203, 0, 113, 128) },
    { kind: 'immediate', dreg: 2, data: b(203, 0, 113, 130) },
    { kind: 'nat', type: 'snat', family: 'ip', addrMin: 1, addrMax: 2, flags: ['persistent'] },
  ],
  [{ kind: 'meta', key: 'l4proto', dreg: 1 }, { kind: 'cmp', op: 'eq', sreg: 1, data: b(6) }, { kind: 'immediate', dreg: 1, data: b(4, 0) }, { kind: 'immediate', dreg: 2, data: b(255, 255) }, { kind: 'masq', flags: ['random'], protoMin: 1, protoMax: 2 }],
  [{ kind: 'masq' }],
];

ptest('every expression kind written by netplumb reads back equal, and nft lists it cleanly', async (t) => {
  const { ns, name } = await fresh(t);
  const family = 'ip';
  const table = 'rt';
  const tx = ns.nft.transaction();
  tx.addTable({ family, name: table });
  tx.addSet({ family, table, name: 'addrs', keyType: 'ipv4_addr' });
  tx.addSet({ family, table, name: 'vm', keyType: 'inet_service', dataType: 'verdict' });
  tx.addSet({ family, table, name: 'marks', keyType: 'ipv4_addr', dataType: 'mark' });
  tx.addChain({ family, table, name: 'other' });
  tx.addChain({ family, table, name: 'c', type: 'filter', hook: 'forward', priority: 0 });
  tx.addChain({ family, table, name: 'pre', type: 'nat', hook: 'output', priority: -100 });
  tx.addChain({ family, table, name: 'post', type: 'nat', hook: 'postrouting', priority: 100 });
  const chains = { c: FILTER, other: OTHER, pre: PRE, post: POST };
  for (const [chain, rules] of Object.entries(chains)) for (const expressions of rules) tx.addRule({ family, table, chain, expressions, comment: `${chain} rule` });
  await tx.commit();

  const listed = await ns.nft.list({ family, table });
  for (const [chain, rules] of Object.entries(chains)) {
    const got = listed.rules.filter((r) => r.chain === chain);
    t.deepEqual(
      got.map((r) => r.expressions),
      rules,
      chain,
    );
    t.true(got.every((r) => r.comment === `${chain} rule`));
  }
  const kinds = new Set(Object.values(chains).flat(2).map((e) => e.kind));
  t.deepEqual([...kinds].sort(), ['bitwise', 'cmp', 'counter', 'ct', 'fib', 'immediate', 'limit', 'log', 'lookup', 'masq', 'meta', 'nat', 'notrack', 'payload', 'range', 'raw', 'redir', 'reject']);

  const text = sh('ip', ['netns', 'exec', name, 'nft', 'list', 'ruleset']);
  t.notRegex(text, /unknown|invalid|\[/, 'nft prints every rule in its own language');
  t.regex(text, /ip saddr != @addrs/);
  t.regex(text, /snat to 203\.0\.113\.128-203\.0\.113\.130 persistent/);
  t.regex(text, /meta mark set numgen inc mod 2/);
  t.is(nftJson(name).nftables.filter((o) => o.rule).length, FILTER.length + OTHER.length + PRE.length + POST.length);
});

ptest('builder rules with inline sets and maps list in nft exactly as written', async (t) => {
  const { ns, name } = await fresh(t);
  const family = 'inet';
  const table = 'b';
  const tx = ns.nft.transaction();
  tx.addTable({ family, name: table });
  tx.addChain({ family, table, name: 'web' });
  tx.addChain({ family, table, name: 'in', type: 'filter', hook: 'input', priority: 'filter', policy: 'accept' });
  const rule = (...expressions) => tx.addRule({ family, table, chain: 'in', expressions });
  rule(meta.nfproto.eq('ipv4'), ip.saddr.in(['10.0.0.0/8', '192.168.1.1']), nft.drop());
  rule(tcp.dport.in([22, 80, [8000, 8080]]), nft.counter(), nft.accept());
  rule(tcp.dport.notIn([25, 465]), nft.accept());
  rule(meta.l4proto.vmap([['tcp', { jump: 'web' }], ['udp', 'drop']]));
  rule(concat(meta.l4proto, th.dport).in([['tcp', 22], ['udp', 53]]), nft.accept());
  rule(ct.state.in(['invalid']), nft.drop());
  rule(meta.iifname.in(['lo', 'veth*'].slice(0, 1)), nft.accept());
  rule(fib.daddr.type.ne('local'), nft.reject({ icmpx: true }));
  const created = (await tx.commit()).rules;
  t.true(created.every((r) => r.handle > 0));

  const text = sh('ip', ['netns', 'exec', name, 'nft', 'list', 'chain', family, table, 'in']);
  for (const line of [
    // nft folds the `meta nfproto ipv4` dependency into `ip saddr`.
    'ip saddr { 10.0.0.0/8, 192.168.1.1 } drop',
    'tcp dport { 22, 80, 8000-8080 } counter packets 0 bytes 0 accept',
    'tcp dport != { 25, 465 } accept',
    'meta l4proto vmap { tcp : jump web, udp : drop }',
    'meta l4proto . th dport { tcp . 22, udp . 53 } accept',
    'ct state invalid drop',
    'iifname { "lo" } accept',
    'fib daddr type != local reject',
  ]) {
    t.true(text.includes(line), `${line}\n---\n${text}`);
  }
  // The inline sets come back as the kernel's anonymous sets, with their elements.
  const listed = await ns.nft.list({ family, table });
  const anon = listed.sets.filter((s) => s.flags.includes('anonymous'));
  t.is(anon.length, 6);
  t.deepEqual(anon.find((s) => s.keyType === 'inet_service' && s.flags.includes('interval'))?.elements, [{ key: 22 }, { key: 80 }, { key: 8000, keyEnd: 8080 }]);
  const byKey = (a, b) => String(a.key).localeCompare(String(b.key));
  t.deepEqual(anon.find((s) => s.dataType === 'verdict')?.elements.sort(byKey), [
    { key: 'tcp', data: { jump: 'web' } },
    { key: 'udp', data: 'drop' },
  ]);
});

const NFT_RULESET = `
table inet filter {
  comment "a table"
  set blocked {
    type ipv4_addr
    flags interval
    comment "blocked"
    elements = { 10.0.0.0/8, 192.168.1.1, 172.16.0.0-172.16.0.9 }
  }
  set allowed6 {
    type ipv6_addr
    elements = { 2001:db8::1, fe80::1 }
  }
  map svc {
    type inet_service : verdict
    elements = { 22 : accept, 80 : jump web }
  }
  map marks {
    type ipv4_addr : mark
    flags timeout
    timeout 1h
    elements = { 1.2.3.4 : 0x1 }
  }
  set ifs {
    type ifname
    elements = { "eth0", "docker0" }
  }
  set macs {
    type ether_addr
    elements = { 02:42:ac:11:00:02 }
  }
  set pp {
    type inet_proto . inet_service
    elements = { tcp . 22, udp . 53 }
  }
  set seen {
    type ipv4_addr
    flags dynamic,timeout
    timeout 1m
  }
  set ranges {
    type ipv4_addr . inet_service
    flags interval
    elements = { 10.0.0.0/8 . 80-90, 192.168.0.1 . 22 }
  }
  chain web {
    tcp dport 80 counter accept
  }
  chain input {
    type filter hook input priority filter; policy accept; comment "in"
    ct state invalid drop
    ct state established,related accept
    iif "lo" accept
    ip saddr @blocked drop
    ip6 saddr @allowed6 accept
    tcp dport vmap @svc
    meta l4proto . th dport @pp accept
    ip saddr . tcp dport @ranges accept
    tcp flags syn tcp option maxseg size 1360 accept
    tcp dport { 1000-2000, 3000 } counter
    udp dport != 53 limit rate 5/minute log prefix "udp: " level info
    icmp type echo-request limit rate over 10/second drop
    meta mark 0x10 ct mark set meta mark
    meta skuid 0 accept
    iifname "veth*" quota over 10 mbytes drop
    ip saddr 1.2.3.4 reject with icmp type host-unreachable
    update @seen { ip saddr } comment "dynamic set update"
    reject with icmpx type port-unreachable
  }
  chain forwarding {
    type filter hook forward priority 0; policy drop;
    iifname @ifs oifname != @ifs accept
    ether saddr @macs accept
  }
}
table ip nat {
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    tcp dport 8080 dnat to 10.0.0.2:80
    udp dport 53 redirect to :5353
  }
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "eth0" snat to 1.2.3.4-1.2.3.8 persistent
    masquerade random
  }
}
table ip raw {
  chain pre {
    type filter hook prerouting priority raw; policy accept;
    udp dport 53 notrack
  }
}
`;

/** Writes a listed ruleset back through a transaction (inline sets re-inlined). */
function replay(tx, rs) {
  const anonymous = new Map(rs.sets.filter((s) => s.flags.includes('anonymous')).map((s) => [`${s.family} ${s.table} ${s.name}`, s]));
  for (const tb of rs.tables) tx.addTable({ family: tb.family, name: tb.name, flags: tb.flags, ...(tb.comment ? { comment: tb.comment } : {}) });
  for (const c of rs.chains) {
    const { family, table, name, type, hook, priority, policy, device, comment } = c;
    tx.addChain({ family, table, name, ...(type ? { type, hook, priority, policy } : {}), ...(device ? { device } : {}), ...(comment ? { comment } : {}) });
  }
  for (const s of rs.sets) {
    if (s.flags.includes('anonymous')) continue;
    const flags = s.flags.filter((f) => ['constant', 'interval', 'timeout', 'dynamic'].includes(f));
    tx.addSet({ family: s.family, table: s.table, name: s.name, keyType: s.keyType, ...(s.dataType ? { dataType: s.dataType } : {}), flags, ...(s.timeout ? { timeout: s.timeout } : {}), ...(s.comment ? { comment: s.comment } : {}) });
    if (s.elements.length) tx.addElements({ family: s.family, table: s.table, set: s.name, elements: s.elements.map(({ expires, ...e }) => e) });
  }
  for (const r of rs.rules) {
    const expressions = r.expressions.map((e) => {
      const anon = e.kind === 'lookup' ? anonymous.get(`${r.family} ${r.table} ${e.set}`) : undefined;
      if (!anon) return e;
      return { ...e, set: { keyType: anon.keyType, ...(anon.dataType ? { dataType: anon.dataType } : {}), interval: anon.flags.includes('interval'), elements: anon.elements } };
    });
    tx.addRule({ family: r.family, table: r.table, chain: r.chain, expressions, ...(r.comment ? { comment: r.comment } : {}) });
  }
}

ptest('a ruleset loaded with nft -f decodes, and written back by netplumb is the same ruleset for nft -j', async (t) => {
  const a = await fresh(t);
  const file = join(mkdtempSync(join(tmpdir(), 'nft-')), 'rules.nft');
  writeFileSync(file, NFT_RULESET);
  sh('ip', ['netns', 'exec', a.name, 'nft', '-f', file]);
  const rs = await a.ns.nft.list();
  t.is(rs.tables.length, 3);
  const raw = rs.rules.flatMap((r) => r.expressions).filter((e) => e.kind === 'raw');
  // exthdr (tcp option), quota, payload with a checksum write and dynset are not modelled.
  t.deepEqual([...new Set(raw.map((e) => e.name))].sort(), ['dynset', 'exthdr', 'quota']);
  t.deepEqual(rs.sets.find((s) => s.name === 'blocked').elements, [{ key: '10.0.0.0/8' }, { key: '172.16.0.0', keyEnd: '172.16.0.9' }, { key: '192.168.1.1' }]);
  t.deepEqual(rs.sets.find((s) => s.name === 'ranges').elements.length, 2);

  const b = await fresh(t);
  const tx = b.ns.nft.transaction();
  replay(tx, rs);
  await tx.commit();
  t.deepEqual(normalized(b.name), normalized(a.name));
});
