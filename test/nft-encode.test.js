// Encoding against golden bytes: every message below is compared with what `nft` 1.0.6
// sent for the same command (test/fixtures/nft/golden.json, captured from `strace nft`
// by test/fixtures/nft/capture.mjs; nft's `--debug=netlink` lines are in the fixture and
// beside each case). Needs no privileges.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { Writer } from '../dist/netlink/writer.js';
import { NLM_F_ACK, NLM_F_ECHO } from '../dist/netlink/constants.js';
import { putNfgenmsg, familyProto } from '../dist/nft/family.js';
import { encodeRule } from '../dist/nft/rule.js';
import { Transaction } from '../dist/nft/transaction.js';
// The builder alone: these tests run without the native addon.
import * as nft from '../dist/nft/builder.js';

const golden = JSON.parse(readFileSync(new URL('./fixtures/nft/golden.json', import.meta.url), 'utf8'));
const { ip, meta, tcp, udp, th, ct, fib, counter, accept, drop, ret, jump, goto, verdict, reject, limit, log, notrack, masquerade, snat, dnat, redirect } = nft;

/** Sets fields on the expression of `kind` (golden cases whose nft bytes carry details the builder leaves to the kernel). */
function patch(exprs, kind, props) {
  const flat = exprs.flat();
  const e = flat.find((x) => x.kind === kind);
  Object.assign(e, props);
  return flat;
}

// nft rule → netplumb expressions. Where nft's bytes differ from the builder's, the
// difference is named: nft sends NF_NAT_RANGE_PROTO_SPECIFIED with constant ports (the
// kernel sets it anyway), and lookups carry the set id nft's cache gave the set.
const RULES = {
  'meta oifname != "br0"': () => [meta.oifname.ne('br0')],
  //   [ meta load iifname => reg 1 ] [ cmp eq reg 1 0x6b636f64 0x00307265 0x00000000 0x00000000 ] [ immediate reg 0 return ]
  'iifname "docker0" return': () => [meta.iifname.eq('docker0'), ret()],
  //   [ cmp eq reg 1 0x68746576 ]: a wildcard compares the bytes before the star
  'iifname "veth*" accept': () => [meta.iifname.eq('veth*'), accept()],
  //   [ payload load 2b @ network header + 12 => reg 1 ] [ cmp eq reg 1 0x000011ac ]
  'ip saddr 172.17.0.0/16': () => [ip.saddr.in('172.17.0.0/16')],
  //   [ payload load 4b ... ] [ bitwise reg 1 = ( reg 1 & 0x00feffff ) ^ 0x00000000 ] [ cmp eq reg 1 0x0002010a ]
  'ip saddr 10.1.2.0/23 drop': () => [ip.saddr.eq('10.1.2.0/23'), drop()],
  'ip daddr != 127.0.0.0/8': () => [ip.daddr.ne('127.0.0.0/8')],
  'ip daddr 172.17.0.2 tcp dport 80 accept': () => [ip.daddr.eq('172.17.0.2'), tcp.dport.eq(80), accept()],
  'udp sport 53': () => [udp.sport.eq(53)],
  'th dport 8080': () => [th.dport.eq(8080)],
  //   [ cmp gte reg 1 0x0000e803 ] [ cmp lte reg 1 0x0000d007 ]
  'tcp dport 1000-2000': () => [tcp.dport.range(1000, 2000)],
  //   [ range neq reg 1 0x0000e803 0x0000d007 ]
  'tcp dport != 1000-2000': () => [tcp.dport.notRange(1000, 2000)],
  'meta l4proto tcp': () => [meta.l4proto.eq('tcp')],
  'meta nfproto ipv4': () => [meta.nfproto.eq('ipv4')],
  'meta mark 0x2a': () => [meta.mark.eq(0x2a)],
  //   [ immediate reg 1 0x0000002a ] [ meta set mark with reg 1 ]
  'meta mark set 0x2a': () => [meta.mark.set(0x2a)],
  //   [ ct load state => reg 1 ] [ bitwise reg 1 = ( reg 1 & 0x00000006 ) ^ 0x00000000 ] [ cmp neq reg 1 0x00000000 ]
  'ct state established,related accept': () => [ct.state.in(['established', 'related']), accept()],
  'ct state new': () => [ct.state.eq('new')],
  'ct mark 0x1': () => [ct.mark.eq(1)],
  //   [ ct load src_ip => reg 1 , dir original ]
  'ct original ip saddr 10.0.0.1': () => [ct.original.saddr.eq('10.0.0.1')],
  //   [ fib daddr type => reg 1 ] [ cmp eq reg 1 0x00000002 ]
  'fib daddr type local': () => [fib.daddr.type.eq('local')],
  //   [ fib saddr . iif oif present => reg 1 ] [ cmp eq reg 1 0x00000000 ]
  'fib saddr . iif oif missing drop': () => [
    { kind: 'fib', flags: ['saddr', 'iif', 'present'], result: 'oif', dreg: 1 },
    { kind: 'cmp', op: 'eq', sreg: 1, data: new Uint8Array(4) },
    drop(),
  ],
  //   [ lookup reg 1 set addrs ]
  'ip saddr @addrs accept': () => [patch(ip.saddr.in('@addrs'), 'lookup', { setId: 2 }), accept()],
  //   [ lookup reg 1 set addrs 0x1 ]
  'ip saddr != @addrs drop': () => [patch(ip.saddr.notIn('@addrs'), 'lookup', { setId: 2 }), drop()],
  //   [ lookup reg 1 set vm dreg 0 ]
  'tcp dport vmap @vm': () => [patch(tcp.dport.vmap('@vm'), 'lookup', { setId: 3 })],
  'jump other': () => [jump('other')],
  'goto other': () => [goto('other')],
  continue: () => [verdict('continue')],
  //   [ counter pkts 0 bytes 0 ]
  counter: () => [counter()],
  'counter accept comment "count and accept"': () => [counter(), accept()],
  //   [ reject type 0 code 3 ]
  reject: (family) => [family === 'inet' ? reject({ icmpx: true }) : reject()],
  //   [ reject type 1 code 0 ]
  'reject with tcp reset': () => [reject({ tcpReset: true })],
  //   [ limit rate 10/second burst 5 type packets flags 0x0 ]
  'limit rate 10/second': () => [limit({ rate: 10 })],
  //   [ limit rate 1048576/second burst 524288 type bytes flags 0x1 ]
  'limit rate over 1 mbytes/second burst 512 kbytes': () => [limit({ rate: 1048576, bytes: true, burst: 524288, over: true })],
  //   [ log prefix dropped:  level 4 ]
  'log prefix "dropped: " level warn': () => [log({ prefix: 'dropped: ', level: 'warn' })],
  'log group 2': () => [log({ group: 2 })],
  notrack: () => [notrack()],
  //   [ ... ] [ masq ]
  'ip saddr 172.17.0.0/16 oifname != "docker0" masquerade': () => [ip.saddr.in('172.17.0.0/16'), meta.oifname.ne('docker0'), masquerade()],
  //   [ immediate reg 1 0x00000004 ] [ immediate reg 2 0x0000ffff ] [ masq proto_min reg 1 proto_max reg 2 flags 0x6 ]
  'meta l4proto tcp masquerade to :1024-65535 random': () => [
    meta.l4proto.eq('tcp'),
    patch(masquerade({ port: [1024, 65535], random: true }), 'masq', { flags: ['proto-specified', 'random'] }),
  ],
  //   [ immediate reg 1 0x807100cb ] [ nat snat ip addr_min reg 1 ]
  'snat to 203.0.113.128': () => [snat({ addr: '203.0.113.128' })],
  //   [ nat snat ip addr_min reg 1 addr_max reg 2 flags 0x8 ]
  'snat to 203.0.113.128-203.0.113.130 persistent': () => [snat({ addr: '203.0.113.128-203.0.113.130', persistent: true })],
  //   [ immediate reg 1 0x020011ac ] [ immediate reg 2 0x00005000 ] [ nat dnat ip addr_min reg 1 proto_min reg 2 flags 0x2 ]
  'tcp dport 81 dnat to 172.17.0.2:80': () => [tcp.dport.eq(81), patch(dnat({ addr: '172.17.0.2', port: 80 }), 'nat', { flags: ['proto-specified'] })],
  //   [ meta load l4proto => reg 1 ] [ payload load 2b @ transport header + 2 => reg 9 ] [ lookup reg 1 set ports dreg 1 ] [ nat dnat ip addr_min reg 1 proto_min reg 9 ]
  'dnat to meta l4proto . th dport map @ports': () => [patch(dnat.map('@ports', [meta.l4proto, th.dport]), 'lookup', { setId: 1 })],
  //   [ immediate reg 1 0x00005000 ] [ redir proto_min reg 1 flags 0x2 ]
  'tcp dport 8080 redirect to :80': () => [tcp.dport.eq(8080), patch(redirect({ port: 80 }), 'redir', { flags: ['proto-specified'] })],
  drop: () => [drop()],
};

test('golden: every captured nft rule has a netplumb counterpart', (t) => {
  t.deepEqual(golden.rules.map((c) => c.rule).filter((r) => !RULES[r]), []);
  t.true(golden.rules.length >= 40);
});

for (const c of golden.rules) {
  test(`golden rule: ${c.family} ${c.rule}`, (t) => {
    const exprs = RULES[c.rule](c.family).flat();
    const w = new Writer(512);
    putNfgenmsg(w, familyProto(c.family));
    const comment = /comment "([^"]*)"/.exec(c.rule)?.[1];
    encodeRule(w, { family: c.family, table: c.table, chain: c.chain, expressions: exprs, ...(comment ? { comment } : {}) }, exprs, undefined, undefined, 'rule');
    t.is(w.bytes().toString('hex'), c.hex, `nft --debug=netlink:\n  ${c.debug.join('\n  ')}`);
  });
}

/** The messages a transaction built, after BATCH_BEGIN, as { type, flags, hex } like the fixture. */
function messages(tx) {
  const batch = tx.batch;
  const buf = batch.writer.bytes();
  return batch.requests.slice(1).map((r) => {
    const len = buf.readUInt32LE(r.offset);
    return { type: r.type, flags: r.flags, hex: buf.subarray(r.offset + 16, r.offset + len).toString('hex') };
  });
}

/** Attributes of `buf` as [type-with-flags, payload, raw] triples. */
function tlvs(buf) {
  const out = [];
  for (let off = 0; off + 4 <= buf.length; ) {
    const len = buf.readUInt16LE(off);
    const end = off + ((len + 3) & ~3);
    out.push([buf.readUInt16LE(off + 2), buf.subarray(off + 4, off + len), buf.subarray(off, end)]);
    off = end;
  }
  return out;
}

/**
 * nft's element messages, made comparable: without NFTA_SET_ELEM_LIST_SET_ID (nft's cache
 * gives existing sets ids, netplumb names them), and without the end element at zero nft
 * puts before the first range of an interval set (the kernel does not need it).
 */
function normalizeElements(hex) {
  const buf = Buffer.from(hex, 'hex');
  const parts = [buf.subarray(0, 4)];
  for (const [type, payload, raw] of tlvs(buf.subarray(4))) {
    if ((type & 0x3fff) === 4) continue;
    if ((type & 0x3fff) !== 3) {
      parts.push(raw);
      continue;
    }
    const kept = tlvs(payload)
      .filter(([, elem]) => {
        const a = tlvs(elem);
        const flags = a.find(([t]) => (t & 0x3fff) === 3);
        const key = a.find(([t]) => (t & 0x3fff) === 1);
        return !(flags && flags[1].readUInt32BE(0) === 1 && key && tlvs(key[1])[0][1].every((b) => b === 0));
      })
      // Renumbered 1, 2, 3 ... as libnftnl numbers list entries.
      .map(([, , r], i) => {
        const copy = Buffer.from(r);
        copy.writeUInt16LE((i + 1) | 0x8000, 2);
        return copy;
      });
    const body = Buffer.concat(kept);
    const head = Buffer.alloc(4);
    head.writeUInt16LE(body.length + 4, 0);
    head.writeUInt16LE(type, 2);
    parts.push(head, body);
  }
  return Buffer.concat(parts).toString('hex');
}

const registry = () => new Map();
const family = 'ip';
const table = 'netplumb';
const sets = {
  ports: { keyType: ['inet_proto', 'inet_service'], dataType: ['ipv4_addr', 'inet_service'] },
  addrs: { keyType: 'ipv4_addr' },
  svc: { keyType: 'inet_service', interval: true },
  vm: { keyType: ['inet_proto', 'inet_service'], dataType: 'verdict' },
  tm: { keyType: 'ipv4_addr', dataType: 'mark' },
  cidr: { keyType: ['ipv4_addr', 'inet_service'], interval: true },
  names: { keyType: 'ifname' },
};
const elements = (set, els) => (tx) => tx.addElements({ family, table, set, elements: els, ...sets[set] });

// nft command → the same change through a transaction (NLM_F_ACK, which netplumb adds to every change, is ignored).
const OBJECTS = {
  'add table ip netplumb { comment "managed by netplumb"; }': (tx) => tx.addTable({ family, name: table, comment: 'managed by netplumb' }),
  'add table inet dormant { flags dormant; }': (tx) => tx.addTable({ family: 'inet', name: 'dormant', flags: ['dormant'] }),
  'add chain ip netplumb postrouting { type nat hook postrouting priority srcnat; policy accept; }': (tx) =>
    tx.addChain({ family, table, name: 'postrouting', type: 'nat', hook: 'postrouting', priority: 'srcnat', policy: 'accept' }),
  'add chain ip netplumb forward { type filter hook forward priority filter; policy drop; comment "fwd"; }': (tx) =>
    tx.addChain({ family, table, name: 'forward', type: 'filter', hook: 'forward', priority: 'filter', policy: 'drop', comment: 'fwd' }),
  'add chain ip netplumb docker': (tx) => tx.addChain({ family, table, name: 'docker' }),
  'add table netdev nd': (tx) => tx.addTable({ family: 'netdev', name: 'nd' }),
  'add chain netdev nd ingress { type filter hook ingress device lo priority 0; }': (tx) =>
    tx.addChain({ family: 'netdev', table: 'nd', name: 'ingress', type: 'filter', hook: 'ingress', device: 'lo', priority: 0 }),
  'add map ip netplumb ports { type inet_proto . inet_service : ipv4_addr . inet_service; comment "published ports"; }': (tx) =>
    tx.addSet({ family, table, name: 'ports', ...sets.ports, comment: 'published ports' }),
  'add set ip netplumb addrs { type ipv4_addr; }': (tx) => tx.addSet({ family, table, name: 'addrs', keyType: 'ipv4_addr' }),
  'add set ip netplumb v6 { type ipv6_addr; }': (tx) => tx.addSet({ family, table, name: 'v6', keyType: 'ipv6_addr' }),
  'add set ip netplumb svc { type inet_service; flags interval; }': (tx) => tx.addSet({ family, table, name: 'svc', keyType: 'inet_service', flags: ['interval'] }),
  'add set ip netplumb names { type ifname; }': (tx) => tx.addSet({ family, table, name: 'names', keyType: 'ifname' }),
  'add set ip netplumb macs { type ether_addr; }': (tx) => tx.addSet({ family, table, name: 'macs', keyType: 'ether_addr' }),
  'add set ip netplumb marks { type mark; }': (tx) => tx.addSet({ family, table, name: 'marks', keyType: 'mark' }),
  'add set ip netplumb protos { type inet_proto; }': (tx) => tx.addSet({ family, table, name: 'protos', keyType: 'inet_proto' }),
  'add map ip netplumb vm { type inet_proto . inet_service : verdict; }': (tx) => tx.addSet({ family, table, name: 'vm', ...sets.vm }),
  'add map ip netplumb tm { type ipv4_addr : mark; flags timeout; timeout 30s; }': (tx) =>
    tx.addSet({ family, table, name: 'tm', ...sets.tm, flags: ['timeout'], timeout: 30000 }),
  'add set ip netplumb cidr { type ipv4_addr . inet_service; flags interval; }': (tx) =>
    tx.addSet({ family, table, name: 'cidr', keyType: sets.cidr.keyType, flags: ['interval'] }),
  'add set ip netplumb pub { type ipv4_addr . inet_proto . inet_service; }': (tx) =>
    tx.addSet({ family, table, name: 'pub', keyType: ['ipv4_addr', 'inet_proto', 'inet_service'] }),
  'add element ip netplumb ports { tcp . 81 comment "web" : 172.17.0.2 . 80 }': elements('ports', [{ key: ['tcp', 81], data: ['172.17.0.2', 80], comment: 'web' }]),
  'add element ip netplumb addrs { 172.17.0.2, 172.17.0.3 }': elements('addrs', [{ key: '172.17.0.2' }, { key: '172.17.0.3' }]),
  'add element ip netplumb svc { 80, 1000-2000 }': elements('svc', [{ key: 80 }, { key: 1000, keyEnd: 2000 }]),
  'add element ip netplumb vm { udp . 53 : accept, tcp . 22 : jump docker }': elements('vm', [
    { key: ['udp', 53], data: 'accept' },
    { key: ['tcp', 22], data: { jump: 'docker' } },
  ]),
  'add element ip netplumb tm { 1.2.3.4 timeout 10s : 0x5 }': elements('tm', [{ key: '1.2.3.4', data: 5, timeout: 10000 }]),
  'add element ip netplumb cidr { 10.0.0.0/8 . 80-90 }': elements('cidr', [{ key: ['10.0.0.0', 80], keyEnd: ['10.255.255.255', 90] }]),
  'add element ip netplumb names { "docker0" }': elements('names', [{ key: 'docker0' }]),
  'delete element ip netplumb addrs { 172.17.0.3 }': (tx) => tx.deleteElements({ family, table, set: 'addrs', elements: [{ key: '172.17.0.3' }], keyType: 'ipv4_addr' }),
  'delete rule ip netplumb docker handle': (tx, nftCmd) => tx.deleteRule({ family, table, chain: 'docker', handle: Number(/handle (\d+)/.exec(nftCmd)[1]) }),
  'flush chain ip netplumb docker': (tx) => tx.flushChain({ family, table, name: 'docker' }),
  'delete chain ip netplumb forward': (tx) => tx.deleteChain({ family, table, name: 'forward' }),
  'flush set ip netplumb addrs': (tx) => tx.flushSet({ family, table, name: 'addrs' }),
  'delete set ip netplumb v6': (tx) => tx.deleteSet({ family, table, name: 'v6' }),
  'flush table ip netplumb': (tx) => tx.flushTable({ family, name: table }),
  'delete table inet dormant': (tx) => tx.deleteTable({ family: 'inet', name: 'dormant' }),
};

for (const o of golden.objects) {
  const key = Object.keys(OBJECTS).find((k) => o.nft === k || o.nft.startsWith(`${k} `));
  // The inline-set rule is checked against nft's own listing (nft-roundtrip), not bytes:
  // nft also stores the `typeof` of the rule's left-hand side in the inline set.
  if (!key) {
    test(`golden object: ${o.nft} (not byte-compared)`, (t) => t.regex(o.nft, /\{ 10\.0\.0\.1, 10\.0\.0\.2 \}/));
    continue;
  }
  test(`golden object: ${o.nft}`, (t) => {
    const tx = new Transaction(undefined, registry());
    OBJECTS[key](tx, o.nft);
    const ours = messages(tx).map((m) => ({ type: m.type, flags: m.flags & ~(NLM_F_ACK | NLM_F_ECHO), hex: m.hex }));
    const theirs = o.messages.map((m) => ({ type: m.type, flags: m.flags, hex: (m.type & 0xff) === 12 ? normalizeElements(m.hex) : m.hex }));
    t.deepEqual(ours, theirs, o.debug.join('\n'));
  });
}

test('a transaction rejects bad input at add time and stays usable', (t) => {
  const tx = new Transaction(undefined, registry());
  t.throws(() => tx.addTable({ family: 'ipx', name: 'x' }), { code: 'ERR_NETPLUMB_INVALID', message: /family/ });
  t.throws(() => tx.addChain({ family, table, name: 'c', type: 'nat' }), { message: /base chain needs both type and hook/ });
  t.throws(() => tx.addRule({ family, table, chain: 'c', expressions: [{ kind: 'cmp', op: 'eq', sreg: 99, data: Uint8Array.of(1) }] }), {
    message: /expressions\[0\]\.sreg/,
  });
  t.throws(() => tx.addRule({ family, table, chain: 'c', expressions: [tcp.dport.eq(70000)] }), { message: /not a port/ });
  t.throws(() => tx.addSet({ family, table, name: 's', keyType: 'ipv5_addr' }), { message: /keyType/ });
  t.throws(() => tx.addElements({ family, table, set: 'unknown', elements: [{ key: 1 }] }), { message: /types of set ip netplumb unknown are unknown/ });
  tx.addSet({ family, table, name: 'p', ...sets.ports });
  t.throws(() => tx.addElements({ family, table, set: 'p', elements: [{ key: ['tcp', 80] }] }), { message: /elements\[0\]\.data: a map element needs data/ });
  t.throws(() => tx.addElements({ family, table, set: 'p', elements: [{ key: ['tcp', 80, 1], data: ['1.2.3.4', 80] }] }), { message: /array of 2 values/ });
  t.throws(() => tx.addElements({ family, table, set: 'p', elements: [{ key: ['tcp', 80], data: ['1.2.3.400', 80] }] }), { message: /data\[0\].*IPv4/ });
  t.throws(() => tx.addRule({ family, table, chain: 'c', expressions: [ip.saddr.in('10.0.0.1/8')] }), { message: /host bits/ });
  t.is(tx.size, 1, 'failed adds leave nothing behind');
  t.is(messages(tx).length, 1);
});

test('elements are split into messages under 64 KiB', (t) => {
  const tx = new Transaction(undefined, registry());
  tx.addSet({ family, table, name: 'p', ...sets.ports });
  const els = Array.from({ length: 5000 }, (_, i) => ({ key: ['tcp', 1000 + i], data: [`172.17.${i >> 8}.${i & 255}`, 80], comment: `c${i}` }));
  tx.addElements({ family, table, set: 'p', elements: els });
  const msgs = messages(tx).slice(1);
  t.true(msgs.length > 1);
  for (const m of msgs) t.true(m.hex.length / 2 < 65536);
  t.is(tx.size, 2, 'one change however many messages');
});
