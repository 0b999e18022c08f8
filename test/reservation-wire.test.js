// The endpoint reservation's hand-built element bytes (reservation.ts, the hot path), judged
// by what the kernel holds afterwards: each case is reserved in a fresh namespace holding
// netplumb's table, and `nft -j list table` must show exactly the elements the
// reservation's design names (the table in reservation.ts's header) — computed here from
// the case, not by reservation.ts — with their comments; then the release must be taken by
// the kernel (a key written wrong is ENOENT) and leave every endpoint set empty and the
// network's elements as they were, the cursor moved.
import { createHash } from 'node:crypto';
import { Netns } from '../dist/netns.js';
import { addTable } from '../dist/network/ruleset.js';
import { hostIp6Digest, releaseEndpoint, reserveEndpoint, reserveNetwork } from '../dist/network/reservation.js';
import { choosePorts, normalizePublish, portElements } from '../dist/network/ports.js';
import { endpointComment, networkComment } from '../dist/network/tag.js';
import { ipNetns, nftJson, ptest } from './helpers.js';

const ENDPOINT_SETS = ['attached', 'addrs4', 'addrs6', 'macs', 'hostports', 'hostports6', 'ports4', 'ports4_addr', 'ports6', 'ports6_addr', 'published4', 'published6'];
const PROTO = { tcp: 6, udp: 17 };
const holder = { pid: 4242, start: 987654, time: 31337 };

/** An IPv6 address's text (any of its spellings) as a number. */
function v6(text) {
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const words = (s) => (s ? s.split(':') : []);
  const h = words(head);
  const tl = tail === undefined ? [] : words(tail);
  const all = tail === undefined ? h : [...h, ...Array(8 - h.length - tl.length).fill('0'), ...tl];
  if (all.length !== 8) throw new Error(`not an IPv6 address: ${text}`);
  return all.reduce((acc, w) => (acc << 16n) | BigInt(parseInt(w, 16)), 0n);
}

function v4(text) {
  return text.split('.').reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
}

/** An element of an interval set of ipv6_addr as nft shows it (one address, a prefix or a range), as [first, last]. */
function bounds(val) {
  if (typeof val === 'string') return [v6(val), v6(val)];
  if (val.prefix) {
    const first = v6(val.prefix.addr);
    return [first, first | ((1n << BigInt(128 - val.prefix.len)) - 1n)];
  }
  return [v6(val.range[0]), v6(val.range[1])];
}

const hex = (n) => n.toString(16).padStart(32, '0');

/** What one set or map of the table holds, comparable: a sorted list of { key, data?, comment }. */
function held(table, name) {
  const s = table.nftables.map((x) => x.set ?? x.map).find((x) => x?.name === name);
  const interval = name === 'hostports' || name === 'hostports6';
  return (s?.elem ?? [])
    .map((e) => {
      const [k, data] = Array.isArray(e) ? e : [e, undefined];
      const val = k.elem ? k.elem.val : k;
      const key = interval ? bounds(val).map(hex).join('-') : JSON.stringify(val);
      return { key, ...(data === undefined ? {} : { data: JSON.stringify(data) }), comment: k.elem?.comment };
    })
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * What the design says an endpoint holds: its attachment (the anchor, naming the holder,
 * interface, owner and names), address(es), MAC; per host binding its host-port range(s)
 * (every address: both families' ranges; one IPv4 address: a point in `hostports`; one
 * IPv6 address: the point of its digest in `hostports6`), the DNAT element towards each
 * address family the binding reaches, and the forward-accept element of each container port.
 */
function expected(c) {
  const comment = endpointComment(c.network, c.id);
  const out = Object.fromEntries(ENDPOINT_SETS.map((s) => [s, new Map()]));
  const put = (set, key, data) => out[set].set(key + (data ?? ''), { key, ...(data === undefined ? {} : { data }), comment });
  const anchor = endpointComment(c.network, c.id, { holder, ifname: c.ifname, ...(c.owner ? { owner: c.owner } : {}), ...(c.names ? { names: c.names } : {}) });
  out.attached.set('a', { key: JSON.stringify({ concat: [c.bridge, c.inode] }), comment: anchor });
  if (c.ipv4) put('addrs4', JSON.stringify(c.ipv4));
  if (c.ipv6) put('addrs6', JSON.stringify(c.ipv6));
  put('macs', JSON.stringify(c.mac));
  const range = (set, first, last) => put(set, `${hex(first)}-${hex(last)}`);
  for (const p of c.published) {
    const pp = (BigInt(PROTO[p.protocol]) << 112n) | (BigInt(p.hostPort) << 96n);
    const any = p.hostIp === '0.0.0.0';
    const six = p.hostIp.includes(':');
    if (any || !six) {
      const mapped = pp | (0xffffn << 32n);
      range('hostports', any ? mapped : mapped | v4(p.hostIp), any ? mapped | 0xffffffffn : mapped | v4(p.hostIp));
    }
    if (any || six) {
      const digest = six ? BigInt(`0x${createHash('sha256').update(p.hostIp).digest('hex').slice(0, 24)}`) : 0n;
      range('hostports6', pp | digest, any ? pp | ((1n << 96n) - 1n) : pp | digest);
    }
    for (const [family, target] of [['4', c.ipv4], ['6', c.ipv6]]) {
      if (!target || (!any && six !== (family === '6'))) continue;
      const data = JSON.stringify({ concat: [target, p.containerPort] });
      if (any) put(`ports${family}`, JSON.stringify({ concat: [p.protocol, p.hostPort] }), data);
      else put(`ports${family}_addr`, JSON.stringify({ concat: [p.hostIp, p.protocol, p.hostPort] }), data);
      put(`published${family}`, JSON.stringify({ concat: [target, p.protocol, p.containerPort] }));
    }
  }
  return Object.fromEntries(Object.entries(out).map(([s, m]) => [s, [...m.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))]));
}

const base = { network: 'web', bridge: 'npbr0', id: '0123456789ab', ifname: 'eth0', inode: 4026532999, mac: '02:42:ac:1e:04:07' };
const dual = { ...base, ipv4: '172.30.4.7', ipv6: 'fd00:30::4:7', subnet: ['172.30.4.0', '172.30.4.255'], subnet6: ['fd00:30::', 'fd00:30::ffff'], cursor: '172.30.4.8' };
const only4 = { ...base, ipv4: '172.30.4.7', subnet: ['172.30.4.0', '172.30.4.255'], cursor: '172.30.4.8' };
const only6 = { ...base, ipv6: 'fd00:31::9', mac: '02:42:00:00:00:09', subnet6: ['fd00:31::', 'fd00:31::ffff'], cursor: 'fd00:31::a' };

const cases = {
  'IPv4 only, no ports': { ...only4, publish: [] },
  'IPv4 only, a port on every address (both families\' host-port ranges, one DNAT)': { ...only4, publish: [{ hostPort: 8080, containerPort: 80 }] },
  'IPv4 only, udp on one IPv4 address, two host ports to one container port, an owner and names': {
    ...only4,
    owner: 'c0ffee/eth0',
    names: ['web', 'www'],
    publish: [
      { hostIp: '203.0.113.9', hostPort: 5353, containerPort: 53, protocol: 'udp' },
      { hostPort: 8443, containerPort: 443 },
      { hostPort: 9443, containerPort: 443 },
      { hostIp: '198.51.100.1', hostPort: 65535, containerPort: 1 },
    ],
  },
  'dual stack, no ports': { ...dual, publish: [] },
  'dual stack, ports on every address, on one IPv4 and on one IPv6 address': {
    ...dual,
    publish: [
      { hostPort: 80, containerPort: 8080 },
      { hostPort: 53, containerPort: 53, protocol: 'udp' },
      { hostIp: '203.0.113.9', hostPort: 81, containerPort: 8080 },
      { hostIp: '2001:db8::9', hostPort: 9443, containerPort: 443 },
      { hostIp: '2001:db8::9', hostPort: 9444, containerPort: 443, protocol: 'udp' },
    ],
  },
  'dual stack, port ranges (port by port, and the first free of a range), an owner': {
    ...dual,
    owner: 'abc/eth1',
    publish: [
      { hostPort: 8000, hostPortEnd: 8002, containerPort: 80, containerPortEnd: 82 },
      { hostPort: 9000, hostPortEnd: 9005, containerPort: 90 },
      { hostIp: '2001:db8::1:2', hostPort: 7000, hostPortEnd: 7001, containerPort: 70, containerPortEnd: 71, protocol: 'udp' },
    ],
  },
  'IPv6 only, no ports': { ...only6, publish: [] },
  'IPv6 only, a port on every address and one on an IPv6 address, names': {
    ...only6,
    names: ['six'],
    publish: [
      { hostPort: 8080, containerPort: 80 },
      { hostIp: '2001:db8::9', hostPort: 8081, containerPort: 80 },
    ],
  },
};

for (const [title, c] of Object.entries(cases)) {
  ptest(`${title}: the kernel holds what the design says, and the release takes it all back`, async (t) => {
    const ns = await Netns.open(ipNetns(t));
    t.teardown(() => ns.close());
    // The network, as create() reserves it (typed elements).
    const net = { name: c.network, bridge: c.bridge, ...(c.subnet ? { range4: c.subnet } : {}), ...(c.subnet6 ? { range6: c.subnet6 } : {}), firstAddress: c.subnet ? '172.30.4.2' : 'fd00:31::2' };
    let tx = ns.nft.transaction();
    addTable(tx);
    reserveNetwork(tx, net, holder);
    await tx.commit();
    const before = nftJson(ns.name, 'list', 'table', 'inet', 'netplumb');

    const requests = normalizePublish(c.publish, undefined, { ipv4: c.ipv4 !== undefined, ipv6: c.ipv6 !== undefined });
    const published = choosePorts(requests, [], [1, 1], hostIp6Digest);
    const r = {
      network: c.network,
      bridge: c.bridge,
      id: c.id,
      ifname: c.ifname,
      inode: c.inode,
      ...(c.ipv4 ? { ipv4: c.ipv4 } : {}),
      ...(c.ipv6 ? { ipv6: c.ipv6 } : {}),
      mac: c.mac,
      ports: portElements(published, c.ipv4, c.ipv6),
      ...(c.owner ? { owner: c.owner } : {}),
      ...(c.names ? { names: c.names } : {}),
    };
    tx = ns.nft.transaction();
    reserveEndpoint(tx, r, holder, c.cursor);
    await tx.commit();
    const table = nftJson(ns.name, 'list', 'table', 'inet', 'netplumb');
    const want = expected({ ...c, published });
    for (const set of ENDPOINT_SETS) t.deepEqual(held(table, set), want[set], set);
    const cursorSet = c.cursor.includes(':') ? 'cursors6' : 'cursors';
    t.deepEqual(held(table, cursorSet), [{ key: JSON.stringify(c.bridge), data: JSON.stringify(c.cursor), comment: networkComment(c.network) }], 'the cursor moved, with its comment');

    // A second reservation of the same endpoint is refused: its elements are exclusive.
    const again = ns.nft.transaction();
    reserveEndpoint(again, r, holder);
    await t.throwsAsync(again.commit(), { code: 'EEXIST' });

    tx = ns.nft.transaction();
    releaseEndpoint(tx, r);
    await tx.commit();
    const after = nftJson(ns.name, 'list', 'table', 'inet', 'netplumb');
    for (const set of ENDPOINT_SETS) t.deepEqual(held(after, set), [], `${set} after the release`);
    for (const set of ['networks', 'subnets4', 'subnets6', 'bridges', cursorSet === 'cursors' ? 'cursors6' : 'cursors']) t.deepEqual(held(after, set), held(before, set), `${set} untouched`);
  });
}
