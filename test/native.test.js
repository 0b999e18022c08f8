// The native primitives against the real kernel, checked through independent eyes
// (`ip`, `ip -j`, `ip netns`, `sysctl`, real TCP/UDP traffic). Everything they create
// lives in namespaces they create, so they are harmless even outside the sandbox; they
// still need root, and skip visibly without it (fail under CI).
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import { Worker } from 'node:worker_threads';
import { native } from '../dist/native.js';
import { SystemError, ValidationError } from '../dist/errors.js';

const isRoot = process.getuid?.() === 0;
const isCI = process.env.CI === 'true' || process.env.CI === '1';
const ptest = isRoot
  ? test
  : isCI
    ? (title) => test(title, (t) => t.fail('needs root, and CI must not skip'))
    : (title, fn) => test.skip(`${title} [skipped: needs root]`, fn);
ptest.serial = isRoot ? test.serial : ptest;

const nativeUrl = new URL('../dist/native.js', import.meta.url).href;

// --- oracles -------------------------------------------------------------------------

const ip = (...args) => execFileSync('ip', args, { encoding: 'utf8' });
const ipJson = (...args) => JSON.parse(ip('-j', ...args) || '[]');
const netnsNames = () => ip('netns', 'list').split('\n').map((l) => l.split(' ')[0]).filter(Boolean);
/**
 * Waits until `pred()` holds, for at most `ms` of time in which the event loop ran: each
 * check comes after the loop has polled I/O (a monitor's pending events are delivered
 * first), and a stall of the JS thread — a synchronous `ip` of another test of this file
 * running at once — counts as one step, not as its length.
 */
async function eventually(pred, ms = 5000) {
  for (let waited = 0; !pred() && waited < ms; ) {
    const before = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setImmediate(resolve));
    waited += Math.min(Date.now() - before, 100);
  }
}

const nsLink = () => fs.readlinkSync('/proc/thread-self/ns/net');
const openFds = () => fs.readdirSync('/proc/self/fd').length;
/** Threads of the addon's pool in this process (they are named). */
const poolThreads = () =>
  fs.readdirSync('/proc/self/task').filter((id) => {
    try {
      return fs.readFileSync(`/proc/self/task/${id}/comm`, 'utf8').trim() === 'netplumb-pool';
    } catch {
      return false; // exited meanwhile
    }
  }).length;

const made = new Set();
let counter = 0;
/** A fresh `ip netns add` namespace; removed after the run. */
function ipNetns() {
  const name = `npn${process.pid}x${++counter}`;
  ip('netns', 'add', name);
  made.add(name);
  return name;
}
/** A name for a namespace the addon creates (mount path under /run/netns). */
function freshName() {
  const name = `npn${process.pid}y${++counter}`;
  made.add(name);
  return name;
}
test.after.always(() => {
  for (const name of made) spawnSync('ip', ['netns', 'del', name]);
});

// --- hand-built netlink messages (no library code: the addon only moves bytes) --------

const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const RTM_GETLINK = 18;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_DUMP = 0x300;
const IFLA_IFNAME = 3;

/** nlmsghdr + ifinfomsg (family AF_UNSPEC, index). */
function linkRequest(type, flags, seq, index = 0) {
  const b = Buffer.alloc(32);
  b.writeUInt32LE(32, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt16LE(flags, 6);
  b.writeUInt32LE(seq, 8);
  b.writeInt32LE(index, 20);
  return b;
}

/** Splits concatenated datagrams into messages. */
function parse(buf) {
  const out = [];
  for (let off = 0; off + 16 <= buf.length; ) {
    const len = buf.readUInt32LE(off);
    if (len < 16 || off + len > buf.length) break;
    out.push({
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      body: buf.subarray(off + 16, off + len),
    });
    off += (len + 3) & ~3;
  }
  return out;
}

/** IFLA_IFNAME of an RTM_NEWLINK body. */
function ifname(body) {
  for (let off = 16; off + 4 <= body.length; ) {
    const len = body.readUInt16LE(off);
    if (len < 4) break;
    if ((body.readUInt16LE(off + 2) & 0x3fff) === IFLA_IFNAME) return body.toString('utf8', off + 4, off + len - 1);
    off += (len + 3) & ~3;
  }
  return undefined;
}

const errorOf = (msg) => msg.body.readInt32LE(0);
const dump = (seq) => linkRequest(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq);

// --- netlink sockets ------------------------------------------------------------------

ptest('netlinkOpen in an `ip netns add` namespace gets that namespace\'s links (async and sync)', async (t) => {
  const name = ipNetns();
  ip('-n', name, 'link', 'add', 'np-a', 'type', 'veth', 'peer', 'name', 'np-b');
  const ns = native.netnsOpen(`/run/netns/${name}`);
  const sock = native.netlinkOpen(0, ns, 8 << 20);
  try {
    t.true(native.netlinkPortId(sock) > 0);
    const expected = ipJson('-n', name, 'link').map((l) => l.ifname).sort();
    t.deepEqual(expected, ['lo', 'np-a', 'np-b']);

    for (const reply of [await native.netlinkTransact(sock, dump(1), new Uint32Array([1])), native.netlinkTransactSync(sock, dump(2), new Uint32Array([2]))]) {
      t.true(Buffer.isBuffer(reply));
      t.is(reply.length % 4, 0);
      const msgs = parse(reply);
      const links = msgs.filter((m) => m.type === RTM_NEWLINK);
      t.deepEqual(links.map((m) => ifname(m.body)).sort(), expected);
      t.is(msgs.at(-1).type, NLMSG_DONE);
    }
  } finally {
    native.close(sock);
    native.close(ns);
  }
});

ptest('a failing request comes back as NLMSG_ERROR with a negative errno; other seqs pass through', async (t) => {
  const sock = native.netlinkOpen(0, -1, 1 << 20);
  try {
    // Two requests in one sendmsg: no such ifindex (ENODEV), and lo (RTM_NEWLINK + ack).
    const request = Buffer.concat([
      linkRequest(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 10, 0x7ffffff0),
      linkRequest(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 11, 1),
    ]);
    const msgs = parse(await native.netlinkTransact(sock, request, new Uint32Array([10, 11])));
    const err10 = msgs.find((m) => m.type === NLMSG_ERROR && m.seq === 10);
    t.truthy(err10);
    t.is(errorOf(err10), -19); // -ENODEV
    t.is(ifname(msgs.find((m) => m.type === RTM_NEWLINK && m.seq === 11).body), 'lo');
    t.is(errorOf(msgs.find((m) => m.type === NLMSG_ERROR && m.seq === 11)), 0);
  } finally {
    native.close(sock);
  }
});

ptest('transact validates its arguments and reports errno as SystemError', async (t) => {
  const sock = native.netlinkOpen(0, -1, 1 << 20);
  const req = dump(1);
  const seqs = new Uint32Array([1]);
  t.throws(() => native.netlinkTransact('3', req, seqs), { instanceOf: ValidationError, code: 'ERR_NETPLUMB_INVALID' });
  t.throws(() => native.netlinkTransact(sock, 'nope', seqs), { instanceOf: ValidationError, code: 'ERR_NETPLUMB_INVALID' });
  t.throws(() => native.netlinkTransact(sock, req, [1]), { instanceOf: ValidationError, code: 'ERR_NETPLUMB_INVALID' });
  t.throws(() => native.netlinkTransact(sock, req, new Int32Array([1])), { instanceOf: ValidationError, code: 'ERR_NETPLUMB_INVALID' });
  t.throws(() => native.netlinkTransactSync(sock, req, [1]), { instanceOf: ValidationError, code: 'ERR_NETPLUMB_INVALID' });
  native.close(sock);
  const notOpen = 999999;
  await t.throwsAsync(native.netlinkTransact(notOpen, req, seqs), { instanceOf: SystemError, code: 'EBADF' });
  t.throws(() => native.netlinkTransactSync(notOpen, req, seqs), { instanceOf: SystemError, code: 'EBADF' });
  const err = t.throws(() => native.netlinkOpen(0, 0, 1 << 20), { instanceOf: SystemError });
  t.is(err.syscall, 'setns');
  t.throws(() => native.netlinkOpen(4242, -1, 1 << 20), { instanceOf: SystemError, code: 'EPROTONOSUPPORT' });
});

ptest('16 slow transacts on 16 sockets run at once, off the JS thread', async (t) => {
  const name = ipNetns();
  const count = 16;
  execFileSync('ip', ['-n', name, '-batch', '-'], {
    input: Array.from({ length: count + 1 }, (_, i) => `link add np-d${i} type veth peer name np-p${i}\n`).join(''),
  });
  const index = Object.fromEntries(ipJson('-n', name, 'link').map((l) => [l.ifname, l.ifindex]));
  const ns = native.netnsOpen(`/run/netns/${name}`);
  const socks = Array.from({ length: count + 1 }, () => native.netlinkOpen(0, ns, 8 << 20));
  const del = (i) => native.netlinkTransact(socks[i], linkRequest(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, i + 1, index[`np-d${i}`]), new Uint32Array([i + 1]));
  try {
    // One deletion alone (the pair goes with it): it waits for RCU inside sendmsg.
    let start = performance.now();
    t.is(errorOf(parse(await del(count)).find((m) => m.type === NLMSG_ERROR)), 0);
    const single = performance.now() - start;

    start = performance.now();
    const pending = Array.from({ length: count }, (_, i) => del(i));
    // The pool grows while every thread is busy, so deletions that each wait ~20 ms for
    // RCU inside sendmsg run side by side (a thread freed early may take a second one).
    const threads = poolThreads();
    t.true(threads > 1, `${threads} pool threads for ${count} operations`);
    const replies = await Promise.all(pending);
    const all = performance.now() - start;

    replies.forEach((r, i) => {
      const ack = parse(r).find((m) => m.type === NLMSG_ERROR);
      t.is(ack.seq, i + 1);
      t.is(errorOf(ack), 0);
    });
    t.deepEqual(ipJson('-n', name, 'link').map((l) => l.ifname), ['lo']);
    t.log(`one deletion ${single.toFixed(1)} ms, ${count} concurrent ${all.toFixed(1)} ms on ${threads} threads`);
  } finally {
    for (const s of socks) native.close(s);
    native.close(ns);
  }
});

ptest('settling many finished operations gives the event loop its turns in between', async (t) => {
  // 64 operations finish while the JS that awaited the first one is still running (each
  // continuation keeps the thread 1 ms): they are settled a slice per turn of the loop, so
  // timers and I/O are not held up until the last continuation has run.
  const name = ipNetns();
  const ns = native.netnsOpen(`/run/netns/${name}`);
  const count = 64;
  const socks = Array.from({ length: count }, () => native.netlinkOpen(0, ns, 1 << 20));
  let turns = 0;
  let done = false;
  const spin = () => {
    if (done) return;
    turns++;
    setImmediate(spin);
  };
  try {
    setImmediate(spin);
    await Promise.all(
      socks.map(async (sock, i) => {
        const reply = await native.netlinkTransact(sock, linkRequest(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, i + 1, 1), new Uint32Array([i + 1]));
        t.is(errorOf(parse(reply).find((m) => m.type === NLMSG_ERROR)), 0);
        for (const end = performance.now() + 1; performance.now() < end; );
      }),
    );
    t.true(turns >= count / 2, `${turns} turns of the loop while ${count} operations were settled`);
  } finally {
    done = true;
    for (const s of socks) native.close(s);
    native.close(ns);
  }
});

ptest('pool threads that stay idle exit after a few seconds', async (t) => {
  await Promise.all(Array.from({ length: 8 }, () => native.sysctlRead(-1, 'net/ipv4/ip_forward')));
  t.true(poolThreads() > 0);
  // Other tests of this file use the pool meanwhile; all are done well within this.
  const deadline = Date.now() + 20000;
  while (poolThreads() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
  t.is(poolThreads(), 0);
});

// --- namespaces -----------------------------------------------------------------------

ptest('netnsCreate with a path makes a namespace `ip netns` can use; netnsUnmount removes it', async (t) => {
  const name = freshName();
  const path = `/run/netns/${name}`;
  const fd = await native.netnsCreate(path);
  try {
    t.true(netnsNames().includes(name));
    t.is(fs.fstatSync(fd).ino, fs.statSync(path).ino, 'fd and mount are the same namespace');
    t.not(fs.fstatSync(fd).ino, fs.statSync('/proc/thread-self/ns/net').ino);
    t.regex(execFileSync('ip', ['netns', 'exec', name, 'ip', 'link'], { encoding: 'utf8' }), /^1: lo:/);
    await native.netnsUnmount(path);
    t.false(fs.existsSync(path));
    t.false(netnsNames().includes(name));
    const gone = await t.throwsAsync(native.netnsUnmount(path), { instanceOf: SystemError, code: 'ENOENT' });
    t.is(gone.syscall, 'umount2');
    t.is(gone.path, path);
    // A bare mount point file (left by a crash before the bind) is still removed.
    fs.writeFileSync(`${path}-stale`, '');
    await native.netnsUnmount(`${path}-stale`);
    t.false(fs.existsSync(`${path}-stale`));
  } finally {
    native.close(fd);
  }
});

ptest('netnsCreate of a taken name rejects with EEXIST and leaves the existing one alone', async (t) => {
  const name = ipNetns();
  ip('-n', name, 'link', 'add', 'np-keep', 'type', 'veth', 'peer', 'name', 'np-keep1');
  const err = await t.throwsAsync(native.netnsCreate(`/run/netns/${name}`), { instanceOf: SystemError, code: 'EEXIST' });
  t.is(err.errno, 17);
  t.is(err.path, `/run/netns/${name}`);
  t.deepEqual(ipJson('-n', name, 'link').map((l) => l.ifname).sort(), ['lo', 'np-keep', 'np-keep1']);
  t.true(netnsNames().includes(name));
});

ptest('netnsCreate(null) gives an unnamed namespace; netnsMount publishes it like `ip netns attach`', async (t) => {
  const fd = await native.netnsCreate(null);
  const name = freshName();
  const path = `/run/netns/${name}`;
  try {
    t.false(netnsNames().includes(name));
    native.netnsMount(fd, path);
    t.is(fs.statSync(path).ino, fs.fstatSync(fd).ino);
    t.deepEqual(ipJson('-n', name, 'link').map((l) => l.ifname), ['lo']);
    t.throws(() => native.netnsMount(fd, path), { instanceOf: SystemError, code: 'EEXIST' });
    const hostname = fs.openSync('/etc/hostname', 'r');
    t.throws(() => native.netnsMount(hostname, `${path}-x`), { instanceOf: SystemError, code: 'EINVAL' });
    fs.closeSync(hostname);
    t.false(fs.existsSync(`${path}-x`));
    await native.netnsUnmount(path);
  } finally {
    native.close(fd);
  }
});

ptest('netnsOpen checks the file is a network namespace; netnsCurrent is this thread\'s', (t) => {
  const missing = t.throws(() => native.netnsOpen('/run/netns/np-does-not-exist'), { instanceOf: SystemError, code: 'ENOENT' });
  t.is(missing.syscall, 'open');
  t.is(missing.path, '/run/netns/np-does-not-exist');
  t.throws(() => native.netnsOpen('/etc/hostname'), { instanceOf: SystemError, code: 'EINVAL' });
  t.throws(() => native.netnsOpen('/proc/self/ns/uts'), { instanceOf: SystemError, code: 'EINVAL' });
  const cur = native.netnsCurrent();
  t.is(`net:[${fs.fstatSync(cur).ino}]`, nsLink());
  native.close(cur);
  t.throws(() => native.close(cur), { instanceOf: SystemError, code: 'EBADF' });
  t.throws(() => native.netnsOpen(42), { instanceOf: ValidationError, code: 'ERR_NETPLUMB_INVALID' });
});

ptest('runIn moves the JS thread in and back, also when fn throws', async (t) => {
  const fd = await native.netnsCreate(null);
  try {
    const home = nsLink();
    const target = `net:[${fs.fstatSync(fd).ino}]`;
    t.is(native.runIn(fd, () => nsLink()), target);
    t.is(nsLink(), home);
    // A child forked inside fn starts in the namespace.
    t.deepEqual(JSON.parse(native.runIn(fd, () => execFileSync('ip', ['-j', 'link'], { encoding: 'utf8' }))).map((l) => l.ifname), ['lo']);
    const boom = new Error('boom');
    t.throws(() => native.runIn(fd, () => { throw boom; }), { is: boom });
    t.is(nsLink(), home);
    t.is(native.runIn(fd, () => native.runIn(-1, () => 7)), 7);
    const bad = fs.openSync('/etc/hostname', 'r');
    const refused = t.throws(() => native.runIn(bad, () => t.fail()), { instanceOf: SystemError, code: 'EINVAL' });
    t.is(refused.syscall, 'setns');
    fs.closeSync(bad);
    t.is(nsLink(), home);
  } finally {
    native.close(fd);
  }
});

// --- sockets for Node to adopt ----------------------------------------------------------

ptest('inetSocket: a server in one namespace accepts a connection from another through a veth', async (t) => {
  const a = ipNetns();
  const b = ipNetns();
  ip('link', 'add', 'np-va', 'netns', a, 'type', 'veth', 'peer', 'name', 'np-vb', 'netns', b);
  ip('-n', a, 'addr', 'add', '198.51.100.1/24', 'dev', 'np-va');
  ip('-n', b, 'addr', 'add', '198.51.100.2/24', 'dev', 'np-vb');
  ip('-n', a, 'link', 'set', 'np-va', 'up');
  ip('-n', b, 'link', 'set', 'np-vb', 'up');
  const nsA = native.netnsOpen(`/run/netns/${a}`);
  const nsB = native.netnsOpen(`/run/netns/${b}`);
  try {
    // The address exists only in A: binding it proves where the socket lives.
    t.throws(() => native.inetSocket(-1, 4, 1, true, '198.51.100.1', 0), { instanceOf: SystemError, code: 'EADDRNOTAVAIL' });
    t.throws(() => native.inetSocket(nsA, 4, 1, true, 'not-an-ip', 0), { instanceOf: SystemError, code: 'EINVAL' });
    t.throws(() => native.inetSocket(nsA, 5, 1, true, '', 0), { instanceOf: ValidationError, code: 'ERR_NETPLUMB_INVALID' });

    const server = net.createServer((c) => c.end(`hello ${c.remoteAddress}`));
    await new Promise((resolve) => server.listen({ fd: native.inetSocket(nsA, 4, 1, true, '198.51.100.1', 0) }, resolve));
    const { address, port } = server.address();
    t.is(address, '198.51.100.1');
    const client = new net.Socket({ fd: native.inetSocket(nsB, 4, 1, true, '198.51.100.2', 0) });
    let text = '';
    client.on('data', (d) => (text += d));
    const closed = new Promise((resolve, reject) => client.on('close', resolve).on('error', reject));
    client.connect(port, '198.51.100.1');
    await closed;
    t.is(text, 'hello 198.51.100.2');
    await new Promise((resolve) => server.close(resolve));

    // UDP both ways of adoption: dgram bind({fd}).
    const rx = dgram.createSocket('udp4');
    const tx = dgram.createSocket('udp4');
    await new Promise((resolve) => rx.bind({ fd: native.inetSocket(nsA, 4, 2, true, '198.51.100.1', 0) }, resolve));
    await new Promise((resolve) => tx.bind({ fd: native.inetSocket(nsB, 4, 2, true, '', 0) }, resolve));
    const got = new Promise((resolve) => rx.once('message', (m, from) => resolve([String(m), from.address])));
    tx.send('ping', rx.address().port, '198.51.100.1');
    t.deepEqual(await got, ['ping', '198.51.100.2']);
    rx.close();
    tx.close();
  } finally {
    native.close(nsA);
    native.close(nsB);
  }
});

// --- sysctl ---------------------------------------------------------------------------

ptest('sysctl read/write inside a fresh namespace leaves the test\'s own alone', async (t) => {
  const name = freshName();
  const fd = await native.netnsCreate(`/run/netns/${name}`);
  const own = fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
  try {
    t.is(await native.sysctlRead(fd, 'net/ipv4/ip_forward'), '0');
    t.is(await native.sysctlWrite(fd, 'net/ipv4/ip_forward', '1'), undefined);
    t.is(await native.sysctlRead(fd, 'net/ipv4/ip_forward'), '1');
    t.is(execFileSync('ip', ['netns', 'exec', name, 'sysctl', '-n', 'net.ipv4.ip_forward'], { encoding: 'utf8' }).trim(), '1');
    t.is(fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(), own);
    t.is(await native.sysctlRead(-1, 'net/ipv4/ip_forward'), own);
    // Inside runIn, -1 means the namespace the caller is in at that moment.
    t.is(await native.runIn(fd, () => native.sysctlRead(-1, 'net/ipv4/ip_forward')), '1');

    for (const bad of ['../../etc/hostname', '/net/ipv4/ip_forward', 'net/../../etc/hostname', 'net/ipv4/..', 'net//ipv4', '']) {
      await t.throwsAsync(native.sysctlRead(fd, bad), { instanceOf: SystemError, code: 'EINVAL' }, bad);
    }
    const missing = await t.throwsAsync(native.sysctlRead(fd, 'net/ipv4/np_nope'), { instanceOf: SystemError, code: 'ENOENT' });
    t.is(missing.path, '/proc/sys/net/ipv4/np_nope');
    await t.throwsAsync(native.sysctlWrite(fd, 'net/ipv4/ip_forward', 'x'), { instanceOf: SystemError, code: 'EINVAL' });
    t.throws(() => native.sysctlWrite(fd, 'net/ipv4/ip_forward', 1), { instanceOf: ValidationError, code: 'ERR_NETPLUMB_INVALID' });
  } finally {
    await native.netnsUnmount(`/run/netns/${name}`);
    native.close(fd);
  }
});

// --- monitors -------------------------------------------------------------------------

ptest('monitorOpen on RTNLGRP_LINK reports a link created by `ip` in that namespace', async (t) => {
  const name = ipNetns();
  const ns = native.netnsOpen(`/run/netns/${name}`);
  t.throws(() => native.monitorOpen(0, ns, [0], 1 << 20, () => {}), { instanceOf: ValidationError, code: 'ERR_NETPLUMB_INVALID' });
  t.throws(() => native.monitorOpen(0, ns, [1], 1 << 20, null), { instanceOf: ValidationError, code: 'ERR_NETPLUMB_INVALID' });
  const seen = [];
  const fd = native.monitorOpen(0, ns, [1], 1 << 20, (data, errno) => seen.push({ data, errno }));
  try {
    ip('-n', name, 'link', 'add', 'np-m0', 'type', 'veth', 'peer', 'name', 'np-m1');
    const names = () => seen.flatMap((e) => (e.data ? parse(e.data) : [])).filter((m) => m.type === RTM_NEWLINK).map((m) => ifname(m.body));
    await eventually(() => names().includes('np-m0') && names().includes('np-m1'));
    t.true(seen.length > 0);
    for (const e of seen) {
      t.is(e.errno, 0);
      t.true(Buffer.isBuffer(e.data));
      t.is(e.data.length % 4, 0);
    }
    t.true(names().includes('np-m0'));
    t.true(names().includes('np-m1'));
  } finally {
    native.monitorClose(fd);
    native.close(ns);
  }
  t.throws(() => native.monitorClose(fd), { instanceOf: SystemError, code: 'EBADF' });
  // Nothing arrives after close.
  const before = seen.length;
  ip('-n', name, 'link', 'del', 'np-m0');
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.is(seen.length, before);
});

ptest('a monitor whose queue overflowed reports ENOBUFS and keeps delivering', async (t) => {
  const name = ipNetns();
  const ns = native.netnsOpen(`/run/netns/${name}`);
  const seen = [];
  const fd = native.monitorOpen(0, ns, [1], 4096, (data, errno) => seen.push({ data, errno }));
  try {
    // The JS thread is blocked while `ip` makes a burst of events, so the tiny receive
    // queue overflows.
    execFileSync('ip', ['-n', name, '-batch', '-'], {
      input: Array.from({ length: 40 }, (_, i) => `link add np-o${i} type veth peer name np-q${i}\n`).join(''),
    });
    await eventually(() => seen.some((e) => e.errno === 105));
    const lost = seen.findIndex((e) => e.errno === 105);
    t.true(lost >= 0, 'ENOBUFS reported');
    t.is(seen[lost].data, null);
    ip('-n', name, 'link', 'add', 'np-after', 'type', 'veth', 'peer', 'name', 'np-after1');
    const names = () => seen.slice(lost + 1).flatMap((e) => (e.data ? parse(e.data) : [])).map((m) => ifname(m.body));
    await eventually(() => names().includes('np-after'));
    t.true(names().includes('np-after'), 'events still arrive after the loss');
  } finally {
    native.close(fd); // close() on a monitor's fd is monitorClose
  }
  t.throws(() => native.monitorClose(fd), { instanceOf: SystemError, code: 'EBADF' });
  native.close(ns);
});

// --- lifetime -------------------------------------------------------------------------

ptest.serial('no fd leaks over 2000 create/unmount/close cycles, error paths included', async (t) => {
  const base = freshName();
  const cycle = async (i) => {
    const path = `/run/netns/${base}-${i}`;
    const fd = await native.netnsCreate(path);
    if (i % 100 === 0) {
      await t.throwsAsync(native.netnsCreate(path), { code: 'EEXIST' });
      t.throws(() => native.netnsOpen(`${path}-missing`), { code: 'ENOENT' });
      t.throws(() => native.netnsOpen('/etc/hostname'), { code: 'EINVAL' });
      t.is(await native.sysctlRead(fd, 'net/ipv4/ip_forward'), '0');
      await t.throwsAsync(native.sysctlRead(fd, 'net/ipv4/np_nope'), { code: 'ENOENT' });
      const sock = native.netlinkOpen(0, fd, 1 << 20);
      t.is(parse(await native.netlinkTransact(sock, dump(1), new Uint32Array([1]))).length, 2);
      const mon = native.monitorOpen(0, fd, [1], 1 << 16, () => {});
      native.monitorClose(mon);
      native.close(sock);
      t.throws(() => native.runIn(fd, () => { throw new Error('x'); }));
      native.close(native.inetSocket(fd, 4, 1, true, '', 0));
      t.throws(() => native.inetSocket(fd, 6, 1, true, 'not-an-ip', 0), { code: 'EINVAL' });
    }
    await native.netnsUnmount(path);
    native.close(fd);
  };
  await cycle(-1); // warm up (thread-locals, lazily opened fds of Node itself)
  const before = openFds();
  const start = performance.now();
  const width = 8;
  for (let i = 0; i < 2000; i += width) {
    await Promise.all(Array.from({ length: width }, (_, k) => cycle(i + k)));
  }
  t.log(`2000 cycles in ${(performance.now() - start).toFixed(0)} ms`);
  t.is(openFds(), before);
  t.deepEqual(fs.readdirSync('/run/netns').filter((n) => n.startsWith(base)), []);
});

ptest('works in worker threads, and survives a worker torn down with operations in flight', async (t) => {
  const code = `
    import { parentPort, workerData } from 'node:worker_threads';
    const { native } = await import(workerData.url);
    const sock = native.netlinkOpen(0, -1, 1 << 20);
    const req = Buffer.alloc(32);
    req.writeUInt32LE(32, 0); req.writeUInt16LE(18, 4); req.writeUInt16LE(0x301, 6); req.writeUInt32LE(1, 8);
    const reply = await native.netlinkTransact(sock, req, new Uint32Array([1]));
    const fd = await native.netnsCreate(null);
    native.close(fd);
    if (workerData.abandon) {
      // Leave work running and a monitor open while the environment goes away.
      native.monitorOpen(0, -1, [1], 1 << 16, () => {});
      for (let i = 0; i < 8; i++) native.netnsCreate(null);
      native.netlinkTransact(sock, req, new Uint32Array([1]));
      parentPort.postMessage(reply.length);
      await new Promise(() => setInterval(() => {}, 1000));
    }
    native.close(sock);
    parentPort.postMessage(reply.length);
  `;
  const run = (abandon) =>
    new Promise((resolve, reject) => {
      const w = new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`), { workerData: { url: nativeUrl, abandon } });
      w.once('message', (n) => {
        if (abandon) w.terminate();
        resolve({ n, exit: new Promise((r) => w.once('exit', r)) });
      });
      w.once('error', reject);
    });
  const results = await Promise.all([run(false), run(false), run(true), run(true)]);
  for (const r of results) t.true(r.n > 0);
  t.is(await results[0].exit, 0);
  t.is(await results[1].exit, 0);
  await results[2].exit;
  await results[3].exit;
  // The main thread's instance still works afterwards.
  const fd = await native.netnsCreate(null);
  native.close(fd);
});

ptest('a process exits promptly with pool threads idle or busy', (t) => {
  const script = (body) => `import('${nativeUrl}').then(async ({ native }) => { ${body} });`;
  for (const body of [
    // Idle pool threads (they linger ~5 s) must not keep the process alive.
    `const fd = await native.netnsCreate(null); native.close(fd);`,
    // process.exit while operations run on pool threads.
    `await native.netnsCreate(null); for (let i = 0; i < 16; i++) native.netnsCreate(null); process.exit(0);`,
  ]) {
    const start = performance.now();
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script(body)], { encoding: 'utf8', timeout: 10000 });
    t.is(r.status, 0, r.stderr);
    t.true(performance.now() - start < 4000);
  }
});

// --- pipeline -------------------------------------------------------------------------

ptest('pipeline runs its steps in order on one addon thread and stops at the first refusal', async (t) => {
  const name = ipNetns();
  ip('-n', name, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1');
  const p0 = ipJson('-n', name, 'link', 'show', 'p0')[0].ifindex;
  const ns = native.netnsOpen(`/run/netns/${name}`);
  const sock = native.netlinkOpen(0, ns, 1 << 20);
  try {
    const step = (req, seq) => ({ fd: sock, request: req, expect: new Uint32Array([seq]) });
    const results = await native.pipeline([
      { nsFd: ns, path: 'net/ipv4/ip_forward', value: '1' },
      step(linkRequest(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 11, p0), 11),
      step(linkRequest(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, 12, 999999), 12), // no such link
      step(linkRequest(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, 13, p0), 13), // must not run
      { nsFd: ns, path: 'net/ipv4/ip_forward', value: '0' }, // must not run
    ]);
    t.is(results[0], true);
    t.is(ifname(parse(results[1]).find((m) => m.type === RTM_NEWLINK).body), 'p0');
    t.is(errorOf(parse(results[2]).find((m) => m.type === NLMSG_ERROR)), -19); // ENODEV
    t.is(results[3], null);
    t.is(results[4], null);
    // Each step's time on the addon thread: positive for the three that ran, 0 for the rest.
    t.true(results.durationsMs instanceof Float64Array);
    t.is(results.durationsMs.length, 5);
    t.true([0, 1, 2].every((i) => results.durationsMs[i] > 0));
    t.deepEqual([results.durationsMs[3], results.durationsMs[4]], [0, 0]);
    // The kernel's view agrees: the first write happened, the later steps did not.
    t.is(execFileSync('ip', ['netns', 'exec', name, 'sysctl', '-n', 'net.ipv4.ip_forward'], { encoding: 'utf8' }).trim(), '1');
    t.true(ipJson('-n', name, 'link').some((l) => l.ifname === 'p0'));
    // A failing system call ends the run too, reported as a SystemError, not a rejection.
    const failed = await native.pipeline([{ nsFd: ns, path: 'net/ipv4/no_such_key', value: '1' }, step(linkRequest(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 14, p0), 14)]);
    t.true(failed[0] instanceof SystemError);
    t.is(failed[0].code, 'ENOENT');
    t.is(failed[1], null);
  } finally {
    native.close(sock);
    native.close(ns);
  }
});

ptest('pipeline: a batch step in a namespace runs on a socket made there; steps alternating namespaces and a host socket each see their own', async (t) => {
  const a = ipNetns();
  const b = ipNetns();
  ip('-n', a, 'link', 'add', 'ax0', 'type', 'veth', 'peer', 'name', 'ax1');
  ip('-n', b, 'link', 'add', 'bx0', 'type', 'veth', 'peer', 'name', 'bx1');
  const nsA = native.netnsOpen(`/run/netns/${a}`);
  const nsB = native.netnsOpen(`/run/netns/${b}`);
  const here = native.netlinkOpen(0, -1, 1 << 20);
  try {
    const inNs = (nsFd, seq) => ({ nsFd, protocol: 0, request: dump(seq), expect: new Uint32Array([seq]) });
    const names = (buf) => parse(buf).filter((m) => m.type === RTM_NEWLINK).map((m) => ifname(m.body)).sort();
    const results = await native.pipeline([
      inNs(nsA, 21),
      { fd: here, request: dump(22), expect: new Uint32Array([22]) },
      { nsFd: nsA, path: 'net/ipv4/conf/ax0/forwarding', value: '1' },
      inNs(nsB, 23),
      { nsFd: nsB, path: 'net/ipv4/conf/bx0/forwarding', value: '1' },
      inNs(nsA, 24),
      { fd: here, request: dump(25), expect: new Uint32Array([25]) },
    ]);
    t.deepEqual(names(results[0]), ['ax0', 'ax1', 'lo']);
    const mine = ipJson('link').map((l) => l.ifname).sort();
    t.deepEqual(names(results[1]), mine, 'the host socket answers for its own namespace while the thread is in another');
    t.deepEqual(names(results[3]), ['bx0', 'bx1', 'lo']);
    t.deepEqual(names(results[5]), ['ax0', 'ax1', 'lo']);
    t.deepEqual(names(results[6]), mine);
    const sysctl = (ns, key) => execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-n', key], { encoding: 'utf8' }).trim();
    t.is(sysctl(a, 'net.ipv4.conf.ax0.forwarding'), '1');
    t.is(sysctl(b, 'net.ipv4.conf.bx0.forwarding'), '1');
    // The step's socket is the step's: none is left open in the namespace after the runs
    // (/proc/net/netlink there lists its netlink sockets; the kernel's own have port 0).
    for (let i = 0; i < 20; i++) await native.pipeline([inNs(nsA, 100 + i)]);
    const userSockets = execFileSync('ip', ['netns', 'exec', a, 'cat', '/proc/net/netlink'], { encoding: 'utf8' }).trim().split('\n').slice(1).filter((l) => l.trim().split(/\s+/)[2] !== '0');
    t.deepEqual(userSockets, []);
  } finally {
    native.close(here);
    native.close(nsA);
    native.close(nsB);
  }
});
