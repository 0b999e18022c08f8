// A bounded fuzz of the nftables decoders: random bytes, truncations and bit flips of real
// messages (the golden ones nft sent) either decode or fail with DecodeError — never
// another exception. Seeded, so a failure reproduces. Needs no privileges.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { DecodeError } from '../dist/errors.js';
import { decodeChain } from '../dist/nft/chain.js';
import { decodeElementList, decodeElements } from '../dist/nft/elements.js';
import { decodeExpression } from '../dist/nft/expr/index.js';
import { decodeRule } from '../dist/nft/rule.js';
import { decodeSet } from '../dist/nft/set.js';
import { decodeTable } from '../dist/nft/table.js';
import { parseUdata } from '../dist/nft/udata.js';

const golden = JSON.parse(readFileSync(new URL('./fixtures/nft/golden.json', import.meta.url), 'utf8'));
const samples = [...golden.rules.map((c) => c.hex), ...golden.objects.flatMap((o) => o.messages.map((m) => m.hex))].map((h) => Buffer.from(h, 'hex'));

/** Attributes of `buf` as [type, payload] pairs. */
function tlvs(buf) {
  const out = [];
  for (let off = 0; off + 4 <= buf.length; off += (buf.readUInt16LE(off) + 3) & ~3) {
    if (buf.readUInt16LE(off) < 4) break;
    out.push([buf.readUInt16LE(off + 2) & 0x3fff, buf.subarray(off + 4, off + buf.readUInt16LE(off))]);
  }
  return out;
}
/** Every expression (NFTA_LIST_ELEM payload) of the golden rules. */
const expressionSamples = golden.rules.flatMap((c) =>
  tlvs(Buffer.from(c.hex, 'hex').subarray(4))
    .filter(([type]) => type === 4)
    .flatMap(([, list]) => tlvs(list).map(([, elem]) => elem)),
);

/** mulberry32: a small seeded PRNG. */
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const decoders = {
  rule: decodeRule,
  set: (b) => {
    const { shape } = decodeSet(b);
    return shape;
  },
  chain: decodeChain,
  table: decodeTable,
  elements: (b) => decodeElements({ key: undefined, keyLen: 8, data: undefined, dataLen: 0, interval: true }, decodeElementList(b)),
  typedElements: (b) => {
    const { shape } = decodeSet(samples.find((s) => s.length > 100 && s.includes(Buffer.from('ports'))) ?? b);
    return decodeElements(shape, decodeElementList(b.subarray(4)));
  },
  expression: decodeExpression,
  udata: parseUdata,
};

function inputs(random, from = samples) {
  const out = [];
  for (let i = 0; i < 300; i++) out.push(Buffer.from(Array.from({ length: Math.floor(random() * 200) }, () => Math.floor(random() * 256))));
  for (const s of from) {
    for (let cut = 0; cut < s.length; cut += Math.max(1, Math.floor(s.length / 24))) out.push(s.subarray(0, cut));
    for (let k = 0; k < 12; k++) {
      const m = Buffer.from(s);
      const flips = 1 + Math.floor(random() * 4);
      for (let f = 0; f < flips; f++) m[Math.floor(random() * m.length)] ^= 1 << Math.floor(random() * 8);
      out.push(m);
    }
  }
  return out;
}

for (const [name, decode] of Object.entries(decoders)) {
  test(`fuzz: ${name} decoder yields a value or DecodeError, nothing else`, (t) => {
    const random = rng(0x5eed ^ name.length);
    let decoded = 0;
    let refused = 0;
    for (const input of inputs(random, name === 'expression' ? expressionSamples : samples)) {
      try {
        decode(input);
        decoded++;
      } catch (err) {
        if (!(err instanceof DecodeError)) t.fail(`${err?.name}: ${err?.message} on ${input.toString('hex')}`);
        refused++;
      }
    }
    t.true(decoded + refused > 1000);
    t.log(`${decoded} decoded, ${refused} refused with DecodeError`);
  });
}

test('unknown and malformed expressions decode as raw, keeping their bytes', (t) => {
  const elem = (name, data) => {
    const n = Buffer.from(`${name}\0`);
    const nameAttr = Buffer.alloc(4 + ((n.length + 3) & ~3));
    nameAttr.writeUInt16LE(4 + n.length, 0);
    nameAttr.writeUInt16LE(1, 2);
    n.copy(nameAttr, 4);
    const dataAttr = Buffer.alloc(4 + data.length);
    dataAttr.writeUInt16LE(4 + data.length, 0);
    dataAttr.writeUInt16LE(2 | 0x8000, 2);
    data.copy(dataAttr, 4);
    return Buffer.concat([nameAttr, dataAttr]);
  };
  const quota = Buffer.from('0c00010000000000000a000008000200000000000', 'hex').subarray(0, 20);
  t.deepEqual(decodeExpression(elem('quota', quota)), { kind: 'raw', name: 'quota', data: Uint8Array.from(quota) });
  // A cmp whose op is unknown to this code: kept raw rather than guessed.
  const cmp = Buffer.from('08000100000000010800020000000009', 'hex');
  t.deepEqual(decodeExpression(elem('cmp', cmp)), { kind: 'raw', name: 'cmp', data: Uint8Array.from(cmp) });
  // A meta with an attribute this code does not know: raw too.
  const meta = Buffer.from('080002000000000608000100000000010800090000000001', 'hex');
  t.is(decodeExpression(elem('meta', meta)).kind, 'raw');
});
