// The endpoint reservation's hand-built element bytes (reservation.ts, the hot path) against
// the typed encoder of the nft layer, which the nft golden and round-trip tests check
// against nft and the kernel: for every shape of endpoint (IPv4 only, dual stack, ports on
// every address and on one, tcp and udp, shared container ports, an owner label) the two
// batches must be the same bytes, message for message (sequence numbers aside). Needs no
// privileges.
import test from 'ava';
import { Transaction } from '../dist/nft/transaction.js';
import { HOST_LE } from '../dist/netlink/writer.js';
import { hostPortElement, releaseEndpoint, reserveEndpoint } from '../dist/network/reservation.js';
import { SETS, elementsOf, portElement, publishedElement } from '../dist/network/ruleset.js';
import { endpointComment, networkComment } from '../dist/network/tag.js';
import { portElements } from '../dist/network/ports.js';

/** What reservation.ts did before the hand-built bytes: typed elements, same order and sharing. */
function typedGroups(r, holder) {
  const comment = endpointComment(r.network, r.id);
  const anchor = holder ? endpointComment(r.network, r.id, { holder, ifname: r.ifname, ...(r.owner !== undefined ? { owner: r.owner } : {}), ...(r.names?.length ? { names: r.names } : {}) }) : comment;
  const groups = [
    [SETS.attached, [{ key: [r.bridge, r.inode], comment: anchor }], true],
    [SETS.addrs4, [{ key: r.ipv4, comment }], true],
    ...(r.ipv6 ? [[SETS.addrs6, [{ key: r.ipv6, comment }], true]] : []),
    [SETS.macs, [{ key: r.mac, comment }], true],
  ];
  const byMap = new Map();
  const put = (set, element, exclusive) => {
    let g = byMap.get(set);
    if (!g) byMap.set(set, (g = { elements: [], exclusive, keys: new Set() }));
    const k = JSON.stringify(element.key);
    if (g.keys.has(k)) return;
    g.keys.add(k);
    g.elements.push(element);
  };
  for (const p of r.ports) {
    if (p.hostFamily === 4) put(SETS.hostports, hostPortElement(p, comment), true);
    put(portElement(p, comment).set, portElement(p, comment).element, false);
    put(publishedElement(p, comment).set, publishedElement(p, comment).element, false);
  }
  for (const [set, g] of byMap) groups.push([set, g.elements, g.exclusive]);
  return groups;
}

/** The batch's bytes with every message's sequence number zeroed. */
function bytesOf(tx) {
  const b = Buffer.from(tx.seal().batch.bytes());
  for (let off = 0; off + 16 <= b.length; ) {
    const len = HOST_LE ? b.readUInt32LE(off) : b.readUInt32BE(off);
    b.fill(0, off + 8, off + 12);
    off += (len + 3) & ~3;
  }
  return b;
}

const holder = { pid: 4242, start: 987654, time: 31337 };
const base = { network: 'web', bridge: 'npbr0', id: '0123456789ab', ifname: 'eth0', inode: 4026532999, ipv4: '172.30.4.7', mac: '02:42:ac:1e:04:07' };
const cases = {
  'IPv4 only, no ports': { ...base, ports: [] },
  'one tcp port on every address': { ...base, ports: portElements([{ protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80 }], base.ipv4) },
  'ports on one address, udp, a shared container port, an owner': {
    ...base,
    owner: 'c0ffee/eth0',
    names: ['web', 'www'],
    ports: portElements([
      { protocol: 'udp', hostIp: '203.0.113.9', hostPort: 5353, containerPort: 53 },
      { protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 8443, containerPort: 443 },
      { protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 9443, containerPort: 443 },
      { protocol: 'tcp', hostIp: '198.51.100.1', hostPort: 65535, containerPort: 1 },
    ], base.ipv4),
  },
  'dual stack with ports': {
    ...base,
    ipv6: 'fd00:30::4:7',
    ports: portElements([
      { protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 80, containerPort: 8080 },
      { protocol: 'udp', hostIp: '0.0.0.0', hostPort: 53, containerPort: 53 },
    ], base.ipv4, 'fd00:30::4:7'),
  },
};

for (const [title, r] of Object.entries(cases)) {
  test(`reserve: ${title}`, (t) => {
    const typed = new Transaction(null, new Map());
    typed.deleteElements(elementsOf(SETS.cursors, [{ key: r.bridge }]));
    typed.addElements(elementsOf(SETS.cursors, [{ key: r.bridge, data: '172.30.4.8', comment: networkComment(r.network) }]));
    for (const [set, elements, exclusive] of typedGroups(r, holder)) (exclusive ? typed.createElements : typed.addElements).call(typed, elementsOf(set, elements));
    const wire = new Transaction(null, new Map());
    reserveEndpoint(wire, r, holder, '172.30.4.8');
    t.deepEqual(bytesOf(wire), bytesOf(typed));
  });

  test(`release: ${title}`, (t) => {
    const typed = new Transaction(null, new Map());
    for (const [set, elements] of typedGroups(r, undefined).reverse()) typed.deleteElements(elementsOf(set, elements.map((e) => ({ key: e.key, ...(e.keyEnd !== undefined ? { keyEnd: e.keyEnd } : {}) }))));
    const wire = new Transaction(null, new Map());
    releaseEndpoint(wire, r);
    t.deepEqual(bytesOf(wire), bytesOf(typed));
  });
}
