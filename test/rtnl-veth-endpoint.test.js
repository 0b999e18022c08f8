// The fixed-shape messages of a veth endpoint (src/rtnl/veth-endpoint.ts) are byte for
// byte what the generic encoders write for the same request — which rtnl-codec compares
// with iproute2's own requests and the network tests run against the kernel — across
// MTUs, both families, prefix lengths and names, and refuse what the generic ones refuse.
import test from 'ava';
import { ValidationError } from '../dist/errors.js';
import { Batch } from '../dist/netlink/batch.js';
import { encodeAddressAdd, encodeLinkAdd, encodeLinkSet, encodeRouteAdd, formatIp, parseIp } from '../dist/rtnl/index.js';
import { writeAddressAdd, writeBridgePortSetup, writeDefaultRouteAdd, writeLinkAlias, writeLinkUp, writeVethCreate } from '../dist/rtnl/veth-endpoint.js';

/** The batch's bytes with every sequence number zeroed, and its labels. */
function shape(write) {
  const b = new Batch(64);
  write(b);
  const bytes = Buffer.from(b.bytes());
  for (const r of b.requests) bytes.writeUInt32LE(0, r.offset + 8);
  return { hex: bytes.toString('hex'), labels: b.requests.map((r) => `${r.operation} ${r.flags}`) };
}

const mac = (i) => `02:42:ac:1d:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
const macBytes = (text) => Uint8Array.from(text.split(':').map((x) => parseInt(x, 16)));

const one = { numTxQueues: 1, numRxQueues: 1 };

test('veth create: the same bytes as encodeLinkAdd (one queue each way on both ends), with and without an MTU', (t) => {
  for (const [i, mtu] of [[1, undefined], [2, 1450], [3, 9000], [4, 68]]) {
    const name = `veth${(0x5aa2470 + i).toString(16)}`;
    const spec = { name, index: 1000 + i, master: 2 + i, peerName: i % 2 ? 'eth0' : `eth${i}`, peerIndex: 40000 + i, peerAddress: macBytes(mac(i)), netnsFd: 17 + i, ...(mtu ? { mtu } : {}) };
    const generic = shape((b) =>
      encodeLinkAdd(b, { kind: 'veth', name, index: spec.index, master: spec.master, up: true, ...(mtu ? { mtu } : {}), ...one, peer: { name: spec.peerName, index: spec.peerIndex, netns: { fd: spec.netnsFd }, address: mac(i), ...(mtu ? { mtu } : {}), ...one } }),
    );
    t.deepEqual(shape((b) => writeVethCreate(b, spec)), generic, `mtu ${mtu}`);
  }
});

test('bridge port setup, link up, alias: the same bytes as encodeLinkSet', (t) => {
  for (const isolated of [false, true]) {
    t.deepEqual(
      shape((b) => writeBridgePortSetup(b, 'veth0123456', isolated)),
      shape((b) => encodeLinkSet(b, 'veth0123456', { addrGenMode: 'none', bridgePort: { hairpin: true, ...(isolated ? { isolated: true } : {}) } })),
    );
  }
  for (const index of [1, 2, 4242, 0x7fffffff]) {
    t.deepEqual(shape((b) => writeLinkUp(b, index)), shape((b) => encodeLinkSet(b, index, { up: true })));
    t.deepEqual(shape((b) => writeLinkUp(b, index, true)), shape((b) => encodeLinkSet(b, index, { addrGenMode: 'none', up: true })));
  }
  const alias = 'netplumb:endpoint {"id":"5aa2479c0f2e","net":"prof","if":"eth0","ino":4026532000,"own":false,"ns":"ñame"}';
  t.deepEqual(shape((b) => writeLinkAlias(b, 'veth5aa2479', alias)), shape((b) => encodeLinkSet(b, 'veth5aa2479', { alias })));
});

test('address add: the same bytes as encodeAddressAdd, IPv4 with broadcast and IPv6 nodad, every prefix length', (t) => {
  for (let len = 0; len <= 32; len++) {
    const text = `172.29.${len}.120/${len}`;
    t.deepEqual(shape((b) => writeAddressAdd(b, 7, parseIp(text.split('/')[0], 'a').bytes, len, text)), shape((b) => encodeAddressAdd(b, { link: 7, address: text, broadcast: true })), text);
  }
  for (const len of [0, 1, 48, 64, 65, 127, 128]) {
    const text = `fd00:2a::${len.toString(16)}/${len}`;
    t.deepEqual(shape((b) => writeAddressAdd(b, 9, parseIp(text.split('/')[0], 'a').bytes, len, text)), shape((b) => encodeAddressAdd(b, { link: 9, address: text, nodad: true })), text);
  }
});

test('default route: the same bytes as encodeRouteAdd in both families', (t) => {
  for (const [family, gw] of [[4, '172.29.0.1'], [4, '10.255.255.254'], [6, 'fd00:2a::1'], [6, '2001:db8:1::128']]) {
    const bytes = parseIp(gw, 'gateway').bytes;
    t.is(formatIp(bytes), gw);
    t.deepEqual(shape((b) => writeDefaultRouteAdd(b, bytes)), shape((b) => encodeRouteAdd(b, { dst: 'default', family, gateway: gw })), gw);
  }
});

test('what the generic encoders refuse, these refuse before writing anything', (t) => {
  const ok = { name: 'veth0', index: 10, master: 2, peerName: 'eth0', peerIndex: 11, peerAddress: macBytes(mac(1)), netnsFd: 3 };
  const refused = [
    () => writeVethCreate(new Batch(), { ...ok, name: 'x'.repeat(16) }),
    () => writeVethCreate(new Batch(), { ...ok, peerName: 'a/b' }),
    () => writeVethCreate(new Batch(), { ...ok, index: 0 }),
    () => writeVethCreate(new Batch(), { ...ok, peerIndex: -1 }),
    () => writeVethCreate(new Batch(), { ...ok, netnsFd: 1.5 }),
    () => writeVethCreate(new Batch(), { ...ok, mtu: -1 }),
    () => writeVethCreate(new Batch(), { ...ok, peerAddress: new Uint8Array(5) }),
    () => writeBridgePortSetup(new Batch(), '', false),
    () => writeLinkUp(new Batch(), 0),
    () => writeAddressAdd(new Batch(), 1, new Uint8Array(4), 33, 'x'),
    () => writeAddressAdd(new Batch(), 1, new Uint8Array(5), 8, 'x'),
    () => writeDefaultRouteAdd(new Batch(), new Uint8Array(8)),
    () => writeLinkAlias(new Batch(), 'veth0', 'a'.repeat(256)),
    () => writeLinkAlias(new Batch(), 'veth0', 'a\0b'),
  ];
  for (const f of refused) t.throws(f, { instanceOf: ValidationError }, f.toString());
  const b = new Batch();
  t.throws(() => writeVethCreate(b, { ...ok, mtu: 2 ** 32 }), { instanceOf: ValidationError });
  t.is(b.length, 0);
  t.is(b.bytes().length, 0);
});
