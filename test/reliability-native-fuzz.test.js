// A bounded fuzz of the native addon, the one place where a malformed message could mean
// an out-of-bounds read rather than an exception: random, truncated and corrupted netlink
// requests (nlmsg_len past the end, below the header, attribute lengths oversized) sent
// through netlinkTransact / netlinkTransactSync / pipeline in a throwaway namespace — the
// kernel answers with errors (echoing our bytes back) and the addon has to walk those
// replies — plus junk arguments of every type for the addon's functions. Each call must
// return or throw/reject (ValidationError or SystemError), never crash or hang. Seeded: a
// failure reproduces. Run under AddressSanitizer by test/asan.sh.
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { native } from '../dist/native.js';
import { Netns, SystemError } from '../dist/index.js';
import { ptest, uniqueName } from './helpers.js';

/** Sysctl paths that try to leave /proc/sys/net of the target namespace (or are not keys at all). */
const HOSTILE_SYSCTL_PATHS = ['../../etc/hostname', '', 'net/ipv4/../../../tmp/np', 'x'.repeat(5000), 'net/ipv4/nosuch', '/abs'];

/**
 * Every file a hostile path could reach if the addon followed it: resolved below
 * /proc/sys (where the addon writes) and from / (if it took the path as absolute).
 */
const ESCAPE_TARGETS = [...new Set(HOSTILE_SYSCTL_PATHS.flatMap((p) => [resolve('/proc/sys', p), resolve('/', p)]))].filter((p) => p.length < 4096);

/** What each target is now: absent, or its type, identity and content (procfs files: content only, their times are not stable). */
function snapshot() {
  const out = {};
  for (const p of ESCAPE_TARGETS) {
    try {
      const st = lstatSync(p);
      const e = { type: st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other' };
      if (st.isFile()) {
        try {
          e.sha256 = createHash('sha256').update(readFileSync(p)).digest('hex');
        } catch (err) {
          e.unreadable = err.code;
        }
        if (!p.startsWith('/proc/')) Object.assign(e, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs });
      }
      out[p] = e;
    } catch (err) {
      out[p] = { absent: err.code };
    }
  }
  return out;
}

const NETLINK_ROUTE = 0;
const NETLINK_NETFILTER = 12;
const ITERATIONS = Number(process.env.NETPLUMB_FUZZ_ITERATIONS ?? 1500);

/** mulberry32: a small seeded PRNG. */
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** One netlink message: header (len, type, flags, seq, pid) + payload. */
function message(type, flags, seq, payload) {
  const b = Buffer.alloc(16 + ((payload.length + 3) & ~3));
  b.writeUInt32LE(16 + payload.length, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt16LE(flags, 6);
  b.writeUInt32LE(seq, 8);
  payload.copy(b, 16);
  return b;
}

/** An attribute (len, type, value), padded. */
function attr(type, value) {
  const b = Buffer.alloc(4 + ((value.length + 3) & ~3));
  b.writeUInt16LE(4 + value.length, 0);
  b.writeUInt16LE(type, 2);
  value.copy(b, 4);
  return b;
}

const NLM_F_REQUEST = 1;
const NLM_F_ACK = 4;
const NLM_F_DUMP = 0x300;
/** Requests that change nothing outside the fuzz namespace: dumps, and a bridge made in it. */
function seeds(seq) {
  const ifinfo = Buffer.alloc(16);
  const ifaddr = Buffer.alloc(8);
  const rtmsg = Buffer.alloc(12);
  const nfgen = Buffer.from([1, 0, 0, 0]); // NFPROTO_INET, version 0, res_id 0
  return {
    route: [
      message(18, NLM_F_REQUEST | NLM_F_DUMP, seq, ifinfo), // RTM_GETLINK
      message(22, NLM_F_REQUEST | NLM_F_DUMP, seq, ifaddr), // RTM_GETADDR
      message(26, NLM_F_REQUEST | NLM_F_DUMP, seq, rtmsg), // RTM_GETROUTE
      message(16, NLM_F_REQUEST | NLM_F_ACK | 0x400 | 0x200, seq, Buffer.concat([ifinfo, attr(3, Buffer.from('fz0\0')), attr(18, attr(1, Buffer.from('bridge\0')))])), // RTM_NEWLINK bridge
      message(18, NLM_F_REQUEST | NLM_F_ACK, seq, Buffer.concat([ifinfo, attr(3, Buffer.from('lo\0'))])), // RTM_GETLINK lo
    ],
    netfilter: [
      message((10 << 8) | 1, NLM_F_REQUEST | NLM_F_DUMP, seq, nfgen), // NFT_MSG_GETTABLE
      message((10 << 8) | 4, NLM_F_REQUEST | NLM_F_DUMP, seq, nfgen), // NFT_MSG_GETCHAIN
      message((10 << 8) | 16, NLM_F_REQUEST | NLM_F_ACK, seq, nfgen), // NFT_MSG_GETGEN
    ],
  };
}

/** A hostile variant of `b`: truncated, length fields lied about, bytes flipped, random, glued. */
function mutate(b, r) {
  const out = Buffer.from(b);
  switch (Math.floor(r() * 8)) {
    case 0:
      return out.subarray(0, Math.floor(r() * out.length));
    case 1:
      out.writeUInt32LE(Math.floor(r() * 0xffffffff), 0); // nlmsg_len anywhere
      return out;
    case 2:
      out.writeUInt32LE(Math.floor(r() * 16), 0); // shorter than the header
      return out;
    case 3:
      if (out.length > 20) out.writeUInt16LE(Math.floor(r() * 0xffff), 16 + 4 * Math.floor(r() * ((out.length - 20) / 4))); // an attribute length
      return out;
    case 4:
      for (let i = 0; i < 1 + r() * 8; i++) out[Math.floor(r() * out.length)] ^= 1 << Math.floor(r() * 8);
      return out;
    case 5:
      return Buffer.from(Array.from({ length: Math.floor(r() * 512) }, () => Math.floor(r() * 256)));
    case 6:
      return Buffer.concat([out, mutate(b, r)]);
    default:
      return Buffer.concat([out, Buffer.alloc(Math.floor(r() * 64), 0xff)]);
  }
}

/** The sequence numbers to wait for: the real one, none, junk, or many. */
function expectFor(seq, r) {
  switch (Math.floor(r() * 4)) {
    case 0:
      return new Uint32Array([seq]);
    case 1:
      return new Uint32Array(0);
    case 2:
      return Uint32Array.from({ length: 1 + Math.floor(r() * 8) }, () => Math.floor(r() * 0xffffffff));
    default:
      return Uint32Array.from({ length: 1000 }, (_, i) => seq + i);
  }
}

ptest('fuzz: random and corrupted requests through transact, transactSync and pipeline never crash or hang the addon', async (t) => {
  t.timeout(110000);
  const ns = await Netns.create(uniqueName('fz'));
  t.teardown(() => ns.delete());
  const r = rng(0xf00d);
  const socks = { route: native.netlinkOpen(NETLINK_ROUTE, ns.fd, 1 << 20), netfilter: native.netlinkOpen(NETLINK_NETFILTER, ns.fd, 1 << 20) };
  t.teardown(() => {
    native.close(socks.route);
    native.close(socks.netfilter);
  });
  const stats = { calls: 0, replies: 0, systemErrors: 0, replyBytes: 0 };
  const sysctl = { refused: 0, written: [] };
  const before = snapshot();
  const outcome = async (fn) => {
    stats.calls++;
    try {
      const out = await fn();
      stats.replies++;
      stats.replyBytes += Buffer.isBuffer(out) ? out.length : 0;
    } catch (e) {
      if (!(e instanceof SystemError)) throw e;
      stats.systemErrors++;
    }
  };
  for (let i = 0; i < ITERATIONS; i++) {
    const seq = 1 + i;
    const proto = r() < 0.7 ? 'route' : 'netfilter';
    const pool = seeds(seq)[proto];
    const req = mutate(pool[Math.floor(r() * pool.length)], r);
    const expect = expectFor(seq, r);
    const how = r();
    if (how < 0.5) await outcome(() => native.netlinkTransact(socks[proto], req, expect));
    else if (how < 0.8) await outcome(() => native.netlinkTransactSync(socks[proto], req, expect));
    else {
      // A pipeline: a few such steps, and a sysctl step with a hostile path now and then,
      // before or after the netlink step (after a refused netlink step it never runs).
      const hostile = r() < 0.5 ? HOSTILE_SYSCTL_PATHS[Math.floor(r() * HOSTILE_SYSCTL_PATHS.length)] : undefined;
      const steps = [{ fd: socks[proto], request: req, expect }];
      if (hostile !== undefined) {
        const step = { nsFd: ns.fd, path: hostile, value: '1' };
        if (r() < 0.5) steps.unshift(step);
        else steps.push(step);
      }
      if (r() < 0.5) steps.push({ fd: socks.route, request: mutate(seeds(seq + 1).route[0], r), expect: new Uint32Array([seq + 1]) });
      await outcome(async () => {
        let results;
        try {
          results = await native.pipeline(steps);
        } catch (e) {
          // The addon refused the whole run before anything ran: the hostile key was refused.
          if (hostile !== undefined && e instanceof SystemError) sysctl.refused++;
          throw e;
        }
        for (const x of results) if (x instanceof Error && !(x instanceof SystemError)) throw x;
        const at = steps.findIndex((s) => 'path' in s);
        if (at >= 0 && results[at] === true) sysctl.written.push(hostile);
        else if (at >= 0 && results[at] instanceof SystemError) sysctl.refused++;
        return Buffer.alloc(0);
      });
    }
  }
  t.deepEqual(sysctl.written, [], 'no hostile sysctl write was accepted');
  t.true(sysctl.refused > 0, 'hostile sysctl writes were attempted and refused');
  t.deepEqual(snapshot(), before, 'nothing a hostile sysctl path could reach has changed');
  // The sockets still work after all that.
  const ok = await native.netlinkTransact(socks.route, seeds(9999999).route[0], new Uint32Array([9999999]));
  t.true(ok.length > 0);
  t.log(`RELIABILITY native-fuzz ${JSON.stringify({ ...stats, sysctlRefused: sysctl.refused })}`);
});

ptest('fuzz: junk arguments of every type to the addon\'s functions throw, never crash', async (t) => {
  const r = rng(0xbad);
  const junk = [undefined, null, -1, 0, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, NaN, Infinity, 1.5, '', 'x'.repeat(70000), '/proc/self/ns/net\0x', {}, [], [1, 2], () => 1, Symbol('s'), 10n, Buffer.alloc(0), Buffer.alloc(70000), new Uint32Array(3), new Int32Array(2), new Float64Array(1), true];
  const pick = () => junk[Math.floor(r() * junk.length)];
  // Functions that could act on something real with a lucky valid argument (close a random
  // fd, mount or unmount a path, write a sysctl) get junk only where that cannot happen.
  const safe = {
    netlinkOpen: () => native.netlinkOpen(pick(), pick(), pick()),
    netlinkPortId: () => native.netlinkPortId(pick()),
    netlinkTransact: () => native.netlinkTransact(pick(), pick(), pick()),
    netlinkTransactSync: () => native.netlinkTransactSync(pick(), pick(), pick()),
    monitorOpen: () => native.monitorOpen(pick(), pick(), pick(), pick(), pick()),
    monitorClose: () => native.monitorClose(typeof pick() === 'number' ? -5 : pick()),
    netnsOpen: () => native.netnsOpen(pick()),
    netnsCreate: () => native.netnsCreate(typeof pick() === 'string' ? 42 : pick()),
    inetSocket: () => native.inetSocket(pick(), pick(), pick(), pick(), pick(), pick()),
    sysctlRead: () => native.sysctlRead(pick(), pick()),
    sysctlWrite: () => native.sysctlWrite(pick(), typeof pick() === 'string' ? 7 : pick(), pick()),
    pipeline: () => native.pipeline(pick()),
    pipelineSteps: () => native.pipeline([{ fd: pick(), request: pick(), expect: pick() }, { nsFd: pick(), path: 42, value: pick() }]),
    runIn: () => native.runIn(pick(), pick()),
  };
  let calls = 0;
  const opened = [];
  for (let round = 0; round < 60; round++) {
    for (const [name, fn] of Object.entries(safe)) {
      calls++;
      try {
        const v = fn();
        if (v && typeof v.then === 'function') await v.then((x) => typeof x === 'number' && x > 2 && opened.push(x), () => {});
        else if (typeof v === 'number' && v > 2) opened.push(v); // a junk call that opened something: close it
      } catch (e) {
        t.true(e instanceof Error, `${name}: threw a non-error ${String(e)}`);
      }
    }
  }
  for (const fd of opened) {
    try {
      native.close(fd);
    } catch {}
  }
  t.log(`RELIABILITY native-junk ${JSON.stringify({ calls })}`);
  t.pass();
});
