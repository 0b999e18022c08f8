// The embedded DNS resolver (issue 14): containers on a network find each other by name
// at 127.0.0.11, asked by Node's own resolver and by glibc's getaddrinfo inside the
// container; other names go to the host's nameservers (a fake one in the "outside"
// namespace); the container keeps its own port 53; a killed resolver leaves nothing that
// hangs. Checked through real namespaces, real traffic and `nft -j` as the oracle.
import test from 'ava';
import * as dnsPacket from 'dns-packet';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  BridgeNetwork,
  DNS_TABLE,
  DnsResolver,
  endpointRecords,
  Netns,
  ValidationError,
  addressOfReverseName,
  containerResolvConf,
  parseResolvConf,
  reverseName,
} from '../dist/index.js';
import { answer } from '../dist/dns/answer.js';
import { ip, nftJson, ptest, sh, uniqueName } from './helpers.js';

const execFileP = promisify(execFile);
const CLIENT = fileURLToPath(new URL('./dns-client.js', import.meta.url));
const CHILD = fileURLToPath(new URL('./dns-child.js', import.meta.url));
const HOST_ADDR = '198.51.100.1';
const UPSTREAM_ADDR = '198.51.100.53';
const EXTERNAL = { name: 'example.test', address: '203.0.113.7' };

// ---------------------------------------------------------------- helpers

/** A temporary directory removed at teardown. */
function tempDir(t) {
  const dir = mkdtempSync(join(tmpdir(), 'np-dns-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Names of the test's networks, kept the way the network layer will keep them: per
 * network, per endpoint, its names and addresses.
 */
class Names {
  constructor() {
    this.byNetwork = new Map();
  }
  add(network, names, ep) {
    if (!this.byNetwork.has(network)) this.byNetwork.set(network, []);
    this.byNetwork.get(network).push({ names, ipv4: ep.ipv4, ipv6: ep.ipv6 });
  }
  lookup(network, name, type) {
    const eps = this.byNetwork.get(network) ?? [];
    if (type === 'PTR') return eps.find((e) => e.ipv4 === name || e.ipv6 === name)?.names;
    const e = eps.find((x) => x.names.includes(name));
    if (!e) return undefined;
    const addr = type === 'A' ? e.ipv4 : e.ipv6;
    return addr ? [addr] : [];
  }
}

/** A DNS answer to `query` from a tiny authoritative server: one external name, NXDOMAIN for the rest. */
function upstreamAnswer(query, seen) {
  const q = dnsPacket.decode(query);
  const question = q.questions[0];
  seen.push(`${question.type} ${question.name}`);
  const known = question.name.toLowerCase() === EXTERNAL.name;
  return dnsPacket.encode({
    type: 'response',
    id: q.id,
    flags: dnsPacket.RECURSION_AVAILABLE | (known ? 0 : 3),
    questions: q.questions,
    answers: known && question.type === 'A' ? [{ type: 'A', name: question.name, ttl: 60, data: EXTERNAL.address }] : [],
  });
}

/**
 * The lab: a "host" namespace with an uplink to an "outside" namespace (198.51.100.0/24)
 * where a fake upstream nameserver answers UDP and TCP; a resolv.conf naming it.
 */
async function lab(t) {
  const host = await Netns.create(uniqueName('dh'));
  const outside = await Netns.create(uniqueName('do'));
  const closers = [];
  t.teardown(async () => {
    for (const c of closers.reverse()) await c();
    await host.delete();
    await outside.delete();
  });
  for (const n of [host.name, outside.name]) ip(n, 'link', 'set', 'lo', 'up');
  ip(host.name, 'link', 'add', 'uplink', 'type', 'veth', 'peer', 'name', 'wan', 'netns', outside.name);
  ip(host.name, 'addr', 'add', `${HOST_ADDR}/24`, 'dev', 'uplink');
  ip(outside.name, 'addr', 'add', `${UPSTREAM_ADDR}/24`, 'dev', 'wan');
  ip(host.name, 'link', 'set', 'uplink', 'up');
  ip(outside.name, 'link', 'set', 'wan', 'up');

  const seen = [];
  const udp = await outside.udpSocket({ host: UPSTREAM_ADDR, port: 53 });
  udp.on('message', (msg, rinfo) => udp.send(upstreamAnswer(msg, seen), rinfo.port, rinfo.address));
  const tcp = await outside.listen({ host: UPSTREAM_ADDR, port: 53 }, (s) => {
    s.once('data', (d) => s.end(frame(upstreamAnswer(d.subarray(2, 2 + d.readUInt16BE(0)), seen))));
  });
  closers.push(() => udp.close(), () => tcp.close());

  const dir = tempDir(t);
  const hostResolvConf = join(dir, 'host-resolv.conf');
  writeFileSync(hostResolvConf, `nameserver ${UPSTREAM_ADDR}\nsearch corp.test\noptions timeout:2\n`);
  const containerConf = join(dir, 'container-resolv.conf');
  writeFileSync(containerConf, await containerResolvConf({ hostResolvConf }));

  const names = new Names();
  const resolver = new DnsResolver({ records: names, netns: host, resolvConf: hostResolvConf, upstreamTimeout: 3000 });
  closers.push(() => resolver.close());
  return {
    host,
    outside,
    seen,
    names,
    resolver,
    hostResolvConf,
    containerConf,
    closers,
    /** A bridge network in the host namespace, removed at teardown. */
    async network(options) {
      const net = await BridgeNetwork.create({ netns: host, ...options });
      closers.push(() => net.remove({ force: true }).catch(() => {}));
      return net;
    },
    /** A container on `net` with `names`, served by the resolver. */
    async container(net, names) {
      const ns = await Netns.create(uniqueName('dc'));
      closers.push(() => ns.delete().catch(() => {}));
      ip(ns.name, 'link', 'set', 'lo', 'up');
      const ep = await net.connect(ns);
      this.names.add(net.name, names, ep);
      await resolver.attach(ns, net.name);
      return { ns, ep };
    },
  };
}

/** Runs the Node client inside `ns` with `conf` as its /etc/resolv.conf; its results, in order. */
async function inContainer(ns, conf, ops) {
  const { stdout } = await execFileP(
    'ip',
    ['netns', 'exec', ns.name, 'sh', '-c', 'mount --bind "$0" /etc/resolv.conf && exec "$@"', conf, process.execPath, CLIENT, JSON.stringify(ops)],
    { encoding: 'utf8', timeout: 60000 },
  );
  return JSON.parse(stdout);
}

function frame(msg) {
  const out = Buffer.alloc(2 + msg.length);
  out.writeUInt16BE(msg.length, 0);
  msg.copy(out, 2);
  return out;
}

const query = (name, type, id = 4242) => dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] });

/** Bounded wait so a broken resolver fails the test instead of hanging it; not a timing assert. */
const GUARD_MS = 10000;

/** One question over UDP from inside `ns` to `addr`:53; rejects with the socket error's code (e.g. ECONNREFUSED). */
async function udpAsk(ns, name, type, addr = '127.0.0.11') {
  const s = await ns.udpSocket();
  try {
    return await new Promise((resolve, reject) => {
      const guard = setTimeout(() => reject(Object.assign(new Error('no answer'), { code: 'ETIMEOUT' })), GUARD_MS);
      s.on('error', (e) => {
        clearTimeout(guard);
        reject(e);
      });
      s.on('message', (m) => {
        clearTimeout(guard);
        resolve(dnsPacket.decode(m));
      });
      s.connect(53, addr, () => s.send(query(name, type)));
    });
  } finally {
    // Netns.udpSocket closes its socket itself on an error event.
    try {
      s.close();
    } catch {}
  }
}

/** One question over TCP from inside `ns` to 127.0.0.11:53. */
async function tcpAsk(ns, name, type) {
  const s = await ns.connect(53, '127.0.0.11', { timeout: GUARD_MS });
  try {
    return await new Promise((resolve, reject) => {
      let buf = Buffer.alloc(0);
      s.setTimeout(GUARD_MS, () => reject(Object.assign(new Error('no answer'), { code: 'ETIMEOUT' })));
      s.on('error', reject);
      s.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) resolve(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))));
      });
      s.write(frame(query(name, type)));
    });
  } finally {
    s.destroy();
  }
}

/** Whether `nft list tables` in `ns` shows the resolver's table (nft prints nothing for an empty ruleset). */
function hasDnsTable(ns) {
  const out = sh('ip', ['netns', 'exec', ns.name, 'nft', '-j', 'list', 'tables']);
  return out.trim() !== '' && JSON.parse(out).nftables.some((o) => o.table?.name === DNS_TABLE);
}

// ---------------------------------------------------------------- without root

test('reverse names of IPv4 and IPv6 addresses round-trip', (t) => {
  t.is(reverseName('172.18.0.2'), '2.0.18.172.in-addr.arpa');
  t.is(addressOfReverseName('2.0.18.172.in-addr.arpa'), '172.18.0.2');
  t.is(addressOfReverseName('2.0.18.172.IN-ADDR.ARPA.'), '172.18.0.2');
  for (const a of ['fd00:31:1::2', '2001:db8::', '::1', '1:2:3:4:5:6:7:8', 'fd00::1:0:0:5']) {
    t.is(addressOfReverseName(reverseName(a)), a, a);
  }
  t.is(reverseName('::ffff:1.2.3.4').split('.').slice(0, 8).join('.'), '4.0.3.0.2.0.1.0');
  for (const bad of ['18.172.in-addr.arpa', '256.0.18.172.in-addr.arpa', '01.0.18.172.in-addr.arpa', '1.ip6.arpa', 'db', '']) {
    t.is(addressOfReverseName(bad), undefined, bad);
  }
  t.is(reverseName('db'), undefined);
});

test('resolv.conf is parsed as glibc reads it and written for containers as Docker writes it', async (t) => {
  const conf = parseResolvConf('# c\nnameserver 10.0.0.1\nnameserver fe80::1%eth0\nnameserver bogus\ndomain a.test\nsearch b.test c.test ; x\noptions edns0 ndots:2\noptions rotate\n');
  t.deepEqual(conf, { nameservers: ['10.0.0.1', 'fe80::1'], search: ['b.test', 'c.test'], options: ['edns0', 'ndots:2', 'rotate'] });

  const dir = tempDir(t);
  const host = join(dir, 'resolv.conf');
  writeFileSync(host, 'nameserver 10.255.255.53\nsearch corp.test\noptions edns0\n');
  const text = await containerResolvConf({ hostResolvConf: host });
  const written = parseResolvConf(text);
  t.deepEqual(written, { nameservers: ['127.0.0.11'], search: ['corp.test'], options: ['edns0', 'ndots:0'] });
  t.true(text.includes('# ExtServers: [host(10.255.255.53)]'));
  // --dns-search / --dns-option override, and the host's ndots is kept rather than forced to 0.
  writeFileSync(host, 'nameserver 10.0.0.1\noptions ndots:3\n');
  t.deepEqual(parseResolvConf(await containerResolvConf({ hostResolvConf: host, search: ['x.test'], options: ['timeout:1'] })).options, ['ndots:3', 'timeout:1']);
  await t.throwsAsync(containerResolvConf({ hostResolvConf: host, search: ['a b'] }), { instanceOf: ValidationError });
  // Without the embedded resolver (the default bridge): the host's nameservers, less its loopback ones.
  writeFileSync(host, 'nameserver 127.0.0.53\nnameserver 10.0.0.1\nnameserver ::1\nnameserver 2001:db8::53\nsearch corp.test\n');
  t.deepEqual(parseResolvConf(await containerResolvConf({ hostResolvConf: host, embedded: false })), { nameservers: ['10.0.0.1', '2001:db8::53'], search: ['corp.test'], options: [] });
  await t.throwsAsync(containerResolvConf({ hostResolvConf: join(dir, 'missing') }), { code: 'ENOENT' });
});

test('answers: own names, no-data for a missing type, forwarding for the rest, errors as rcodes', async (t) => {
  const records = {
    lookup: (network, name, type) => {
      if (network !== 'n1') return undefined;
      if (type === 'PTR') return name === '10.0.0.2' ? ['db', 'database'] : undefined;
      if (name === 'db') return type === 'A' ? ['10.0.0.2'] : [];
      if (name === 'boom') throw new Error('source down');
      return undefined;
    },
  };
  const ctx = { networks: ['n0', 'n1'], records, ttl: 600 };
  const decode = (v) => dnsPacket.decode(v.reply);
  const a = decode(await answer(query('DB.', 'A', 7), 'udp', ctx));
  t.like(a, { id: 7, type: 'response', flag_rd: true, flag_ra: true, rcode: 'NOERROR' });
  t.deepEqual(a.answers.map((x) => [x.type, x.name, x.ttl, x.data]), [['A', 'DB', 600, '10.0.0.2']]);
  const aaaa = decode(await answer(query('db', 'AAAA'), 'udp', ctx));
  t.is(aaaa.rcode, 'NOERROR');
  t.deepEqual(aaaa.answers, []);
  const ptr = decode(await answer(query('2.0.0.10.in-addr.arpa', 'PTR'), 'udp', ctx));
  t.deepEqual(ptr.answers.map((x) => x.data), ['db', 'database']);
  for (const [name, type] of [['example.test', 'A'], ['db', 'MX'], ['3.0.0.10.in-addr.arpa', 'PTR'], ['0.10.in-addr.arpa', 'PTR']]) {
    const v = await answer(query(name, type, 9), 'udp', { ...ctx, networks: ['n1'] });
    t.true(v.forward, `${type} ${name}`);
    t.like(dnsPacket.decode(v.fallback), { id: 9, rcode: 'SERVFAIL' });
  }
  // A name on another network is not ours to answer.
  t.true((await answer(query('db', 'A'), 'udp', { ...ctx, networks: ['n2'] })).forward);
  t.is(decode(await answer(query('boom', 'A'), 'udp', ctx)).rcode, 'SERVFAIL');
  t.deepEqual(await answer(Buffer.alloc(5), 'udp', ctx), { drop: true });
  const response = dnsPacket.encode({ type: 'response', id: 1, questions: [{ type: 'A', name: 'db' }] });
  t.deepEqual(await answer(response, 'udp', ctx), { drop: true });
  const two = dnsPacket.encode({ type: 'query', id: 3, questions: [{ type: 'A', name: 'db' }, { type: 'A', name: 'x' }] });
  t.is(decode(await answer(two, 'udp', ctx)).rcode, 'FORMERR');
  const status = query('db', 'A');
  status[2] |= 2 << 3; // opcode STATUS
  t.is(decode(await answer(status, 'udp', ctx)).rcode, 'NOTIMP');
});

test('an answer too big for a datagram is truncated over UDP and whole over TCP', async (t) => {
  const many = Array.from({ length: 60 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
  const ctx = { networks: ['n'], records: { lookup: () => many }, ttl: 600 };
  const udp = dnsPacket.decode((await answer(query('big', 'A'), 'udp', ctx)).reply);
  t.true(udp.flag_tc);
  t.deepEqual(udp.answers, []);
  const tcp = dnsPacket.decode((await answer(query('big', 'A'), 'tcp', ctx)).reply);
  t.false(tcp.flag_tc);
  t.is(tcp.answers.length, 60);
  // EDNS raises the datagram size the client accepts.
  const edns = dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name: 'big' }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096 }] });
  t.is(dnsPacket.decode((await answer(edns, 'udp', ctx)).reply).answers.length, 60);
});

test('random and truncated queries get a verdict, never an exception', async (t) => {
  const ctx = { networks: ['n'], records: { lookup: () => ['10.0.0.1'] }, ttl: 1 };
  const good = query('db', 'A');
  for (let i = 0; i < 2000; i++) {
    const input = i % 2 ? randomBytes(i % 300) : good.subarray(0, i % good.length);
    const v = await answer(input, 'udp', ctx);
    t.true('drop' in v || 'reply' in v || 'forward' in v);
    if ('reply' in v) dnsPacket.decode(v.reply);
  }
});

test('the resolver refuses bad options before opening anything', (t) => {
  t.throws(() => new DnsResolver({}), { instanceOf: ValidationError, message: /records/ });
  t.throws(() => new DnsResolver({ records: { lookup() {} }, ttl: -1 }), { instanceOf: ValidationError, message: /ttl/ });
  t.throws(() => new DnsResolver({ records: { lookup() {} }, netns: 'host' }), { instanceOf: ValidationError });
});

// ---------------------------------------------------------------- in namespaces

ptest('containers find peers by name and alias with dns.resolve4 and getaddrinfo; names of other networks do not resolve', async (t) => {
  const l = await lab(t);
  const n1 = await l.network({ name: 'dnsn1', bridge: 'dnsn1', subnet: '172.31.1.0/24' });
  const n2 = await l.network({ name: 'dnsn2', bridge: 'dnsn2', subnet: '172.31.22.0/24' });
  const web = await l.container(n1, ['web']);
  const db = await l.container(n1, ['db', 'database']);
  const other = await l.container(n2, ['other']);

  const r = await inContainer(web.ns, l.containerConf, [
    ['resolve4', 'db'],
    ['resolve4', 'database'],
    ['lookup4', 'db'],
    ['lookup4', 'database'],
    ['resolve4', 'other'],
    ['lookup4', 'other'],
  ]);
  t.deepEqual(r.slice(0, 4), [{ ok: [db.ep.ipv4] }, { ok: [db.ep.ipv4] }, { ok: [db.ep.ipv4] }, { ok: [db.ep.ipv4] }]);
  t.deepEqual(r.slice(4), [{ code: 'ENOTFOUND' }, { code: 'ENOTFOUND' }]);
  // Unknown names went upstream (with the container's search domain too); the names web's network answered did not.
  t.true(l.seen.includes('A other'));
  t.true(l.seen.includes('A other.corp.test'));
  t.false(l.seen.some((q) => /\b(db|database)\b/.test(q)));
  // From the other network, n1's names are unknown and its own are known.
  const o = await inContainer(other.ns, l.containerConf, [['resolve4', 'db'], ['resolve4', 'other']]);
  t.deepEqual(o, [{ code: 'ENOTFOUND' }, { ok: [other.ep.ipv4] }]);

  // The name leads to the peer: a TCP connection from web to "db" reaches db's server.
  const server = await db.ns.listen({ port: 8080 }, (s) => s.end('db here'));
  t.teardown(() => server.close());
  const sock = await web.ns.connect(8080, r[0].ok[0], { timeout: GUARD_MS });
  const reply = await new Promise((resolve) => {
    let data = '';
    sock.on('data', (d) => (data += d)).on('end', () => resolve(data));
  });
  t.is(reply, 'db here');
});

ptest('AAAA and PTR records are served; a name without IPv6 answers no data without going upstream', async (t) => {
  const l = await lab(t);
  const n1 = await l.network({ name: 'dns6', bridge: 'dns6', subnet: '172.31.3.0/24', subnet6: 'fd00:31:3::/64' });
  const n2 = await l.network({ name: 'dns4', bridge: 'dns4', subnet: '172.31.24.0/24' });
  const web = await l.container(n1, ['web']);
  const db = await l.container(n1, ['db', 'database']);
  const v4only = await l.container(n2, ['v4only']);
  t.truthy(db.ep.ipv6);

  const r = await inContainer(web.ns, l.containerConf, [
    ['resolve6', 'db'],
    ['lookup6', 'database'],
    ['reverse', db.ep.ipv4],
    ['reverse', db.ep.ipv6],
    ['reverse', '172.31.3.200'],
  ]);
  t.deepEqual(r, [{ ok: [db.ep.ipv6] }, { ok: [db.ep.ipv6] }, { ok: ['db', 'database'] }, { ok: ['db', 'database'] }, { code: 'ENOTFOUND' }]);
  // An address the network does not have was asked upstream, which said NXDOMAIN.
  t.true(l.seen.includes('PTR 200.3.31.172.in-addr.arpa'));

  const before = l.seen.length;
  t.deepEqual(await inContainer(v4only.ns, l.containerConf, [['resolve6', 'v4only'], ['resolve4', 'v4only']]), [{ code: 'ENODATA' }, { ok: [v4only.ep.ipv4] }]);
  t.is(l.seen.length, before);
});

ptest('other names are forwarded to the host resolv.conf nameservers over UDP and TCP', async (t) => {
  const l = await lab(t);
  const n1 = await l.network({ name: 'dnsfw', bridge: 'dnsfw', subnet: '172.31.5.0/24' });
  const web = await l.container(n1, ['web']);

  t.deepEqual(await inContainer(web.ns, l.containerConf, [['resolve4', EXTERNAL.name], ['lookup4', EXTERNAL.name], ['resolve4', 'nowhere.test']]), [
    { ok: [EXTERNAL.address] },
    { ok: [EXTERNAL.address] },
    { code: 'ENOTFOUND' },
  ]);
  const tcp = await tcpAsk(web.ns, EXTERNAL.name, 'A');
  t.deepEqual(tcp.answers.map((a) => a.data), [EXTERNAL.address]);
  // TCP also answers the network's own names.
  t.deepEqual((await tcpAsk(web.ns, 'web', 'A')).answers.map((a) => a.data), [web.ep.ipv4]);

  // Two questions in one TCP segment: two answers, in order.
  const s = await web.ns.connect(53, '127.0.0.11', { timeout: GUARD_MS });
  t.teardown(() => s.destroy());
  const both = await new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const got = [];
    s.setTimeout(GUARD_MS, () => reject(new Error('no answer')));
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        got.push(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (got.length === 2) resolve(got);
    });
    s.write(Buffer.concat([frame(query(EXTERNAL.name, 'A', 1)), frame(query('web', 'A', 2))]));
  });
  t.deepEqual(both.map((p) => [p.id, p.answers.map((a) => a.data)]), [[1, [EXTERNAL.address]], [2, [web.ep.ipv4]]]);

  // A nameserver that never answers (no host has its address) is passed over for the next.
  writeFileSync(l.hostResolvConf, `nameserver 198.51.100.77\nnameserver ${UPSTREAM_ADDR}\n`);
  t.deepEqual((await udpAsk(web.ns, EXTERNAL.name, 'A')).answers.map((a) => a.data), [EXTERNAL.address]);

  // No upstream reachable: SERVFAIL, not silence.
  writeFileSync(l.hostResolvConf, 'nameserver 198.51.100.99\n');
  ip(l.outside.name, 'addr', 'add', '198.51.100.99/24', 'dev', 'wan');
  const failed = await udpAsk(web.ns, EXTERNAL.name, 'A');
  t.is(failed.rcode, 'SERVFAIL');
});

ptest('the container keeps its own port 53: it binds 0.0.0.0:53 while 127.0.0.11 still answers', async (t) => {
  const l = await lab(t);
  const n1 = await l.network({ name: 'dnsp', bridge: 'dnsp', subnet: '172.31.6.0/24' });
  const web = await l.container(n1, ['web']);
  const own = { name: 'own', ttl: 1, type: 'A', data: '192.0.2.53' };
  const udp = await web.ns.udpSocket({ port: 53 });
  udp.on('message', (m, rinfo) => {
    const q = dnsPacket.decode(m);
    udp.send(dnsPacket.encode({ type: 'response', id: q.id, questions: q.questions, answers: [{ ...own, name: q.questions[0].name }] }), rinfo.port, rinfo.address);
  });
  const tcp = await web.ns.listen({ port: 53 });
  t.teardown(() => {
    udp.close();
    tcp.close();
  });
  t.is(udp.address().port, 53);
  t.is(tcp.address().address, '0.0.0.0');
  // 127.0.0.11:53 is the embedded resolver, the container's address :53 its own server.
  t.deepEqual((await udpAsk(web.ns, 'web', 'A')).answers.map((a) => a.data), [web.ep.ipv4]);
  t.deepEqual((await udpAsk(web.ns, 'web', 'A', web.ep.ipv4)).answers.map((a) => a.data), [own.data]);
  t.deepEqual((await udpAsk(web.ns, 'web', 'A', '127.0.0.1')).answers.map((a) => a.data), [own.data]);
});

ptest('attach is per namespace and idempotent, serves several networks, and a second resolver is refused', async (t) => {
  const l = await lab(t);
  const n1 = await l.network({ name: 'dnsa1', bridge: 'dnsa1', subnet: '172.31.7.0/24' });
  const n2 = await l.network({ name: 'dnsa2', bridge: 'dnsa2', subnet: '172.31.28.0/24' });
  const web = await l.container(n1, ['web']);
  const db = await l.container(n2, ['db']);
  const first = l.resolver.attachments().find((a) => a.netnsInode === web.ns.inode);
  t.deepEqual(first.networks, ['dnsa1']);
  t.is((await udpAsk(web.ns, 'db', 'A')).rcode, 'NXDOMAIN');

  // web joins n2 as well (eth1): db becomes known to it, on the same sockets.
  const ep2 = await n2.connect(web.ns);
  l.names.add('dnsa2', ['web'], ep2);
  const again = await l.resolver.attach(web.ns, 'dnsa2');
  t.deepEqual(again, { ...first, networks: ['dnsa1', 'dnsa2'] });
  t.deepEqual(await l.resolver.attach(web.ns, 'dnsa2'), again);
  t.deepEqual((await udpAsk(web.ns, 'db', 'A')).answers.map((a) => a.data), [db.ep.ipv4]);

  // The kernel holds the redirection, owned by the resolver's socket: nft shows it, nobody else may take it.
  const ruleset = nftJson(web.ns.name).nftables;
  // (nft 1.0.6's JSON garbles the owner flag; its text form does not.)
  t.regex(sh('ip', ['netns', 'exec', web.ns.name, 'nft', 'list', 'table', 'ip', DNS_TABLE]), /^\s*flags owner$/m);
  const dports = ruleset.filter((o) => o.rule?.table === DNS_TABLE).map((o) => o.rule.expr.find((e) => e.dnat).dnat.port);
  t.deepEqual(dports.sort(), [first.udpPort, first.tcpPort].sort());
  const rival = new DnsResolver({ records: l.names, resolvConf: l.hostResolvConf });
  await t.throwsAsync(rival.attach(web.ns, 'dnsa1'), { code: 'ERR_NETPLUMB_DNS_ATTACHED' });
  t.deepEqual(rival.attachments(), []);

  // Detaching one network keeps the other; the last one takes sockets and table away.
  await l.resolver.detach(web.ns, 'dnsa2');
  t.is((await udpAsk(web.ns, 'db', 'A')).rcode, 'NXDOMAIN');
  await l.resolver.detach(web.ns, 'dnsa1');
  t.false(hasDnsTable(web.ns));
  t.false(l.resolver.attachments().some((a) => a.netnsInode === web.ns.inode));
  await t.throwsAsync(udpAsk(web.ns, 'web', 'A'), { code: 'ECONNREFUSED' });
  await l.resolver.detach(web.ns);
  // Now the rival may serve it.
  await rival.attach(web.ns, 'dnsa1');
  t.deepEqual((await udpAsk(web.ns, 'web', 'A')).answers.map((a) => a.data), [web.ep.ipv4]);
  await rival.close();
  t.false(hasDnsTable(web.ns));
  await t.throwsAsync(rival.attach(web.ns, 'dnsa1'), { code: 'ERR_NETPLUMB_CLOSED' });
});

ptest('when the embedding process is killed, its namespace answers nothing and queries fail at once', async (t) => {
  const ns = await Netns.create(uniqueName('dk'));
  t.teardown(() => ns.delete());
  ip(ns.name, 'link', 'set', 'lo', 'up');
  const dir = tempDir(t);
  const conf = join(dir, 'resolv.conf');
  writeFileSync(conf, 'nameserver 127.0.0.11\noptions ndots:0\n');

  const child = spawn(process.execPath, [CHILD, ns.name, 'n1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(signal)));
  t.teardown(() => child.kill('SIGKILL'));
  const line = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    child.on('exit', () => reject(new Error('child exited before attaching')));
  });
  t.deepEqual(JSON.parse(line).networks, ['n1']);
  t.deepEqual(await inContainer(ns, conf, [['resolve4', 'alive']]), [{ ok: ['192.0.2.1'] }]);
  t.true(hasDnsTable(ns));

  child.kill('SIGKILL');
  t.is(await exited, 'SIGKILL');
  // The kernel removed the redirection with the dead process's netlink socket.
  t.false(hasDnsTable(ns));
  // Refused, not silent: the kernel answers for the closed ports.
  await t.throwsAsync(udpAsk(ns, 'alive', 'A'), { code: 'ECONNREFUSED' });
  await t.throwsAsync(tcpAsk(ns, 'alive', 'A'), { code: 'ECONNREFUSED' });
  t.deepEqual(await inContainer(ns, conf, [['resolve4', 'alive']]), [{ code: 'ECONNREFUSED' }]);
});

/** Handles of this process on namespace `inode` (its open nsfs fds). */
function nsHandles(inode) {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === `net:[${inode}]`;
    } catch {
      return false;
    }
  }).length;
}

ptest('a namespace whose endpoint another process removes is let go: sockets, table and handle', async (t) => {
  const l = await lab(t);
  const n1 = await l.network({ name: 'dnsgo', bridge: 'dnsgo', subnet: '172.31.9.0/24' });
  const c = await l.container(n1, ['gone']);
  const keep = await l.container(n1, ['kept']);
  t.is(nsHandles(c.ns.inode), 2); // the test's handle and the resolver's own
  // Like a CNI DEL from another process: the host end goes, and with it eth0 inside.
  ip(l.host.name, 'link', 'del', c.ep.hostIfname);
  for (let i = 0; i < 200 && l.resolver.attachments().some((a) => a.netnsInode === c.ns.inode); i++) await new Promise((r) => setTimeout(r, 50));
  t.false(l.resolver.attachments().some((a) => a.netnsInode === c.ns.inode));
  t.is(nsHandles(c.ns.inode), 1);
  t.false(hasDnsTable(c.ns));
  await t.throwsAsync(udpAsk(c.ns, 'gone', 'A'), { code: 'ECONNREFUSED' });
  // The other container is still served.
  t.deepEqual((await udpAsk(keep.ns, 'kept', 'A')).answers.map((a) => a.data), [keep.ep.ipv4]);
});

ptest('names read from the kernel: an endpoint another process connects resolves at once, and goes with its removal', async (t) => {
  const l = await lab(t);
  const net = await l.network({ name: 'dnsk', bridge: 'dnsk', subnet: '172.31.10.0/24', subnet6: 'fd00:31:10::/64' });
  // connect({ name, aliases }) keeps the names in the kernel with the endpoint; the default source answers them.
  const records = endpointRecords({ netns: l.host });
  // A name that is gone is asked upstream (which answers NXDOMAIN): give it time on a loaded machine.
  const resolver = new DnsResolver({ records, netns: l.host, resolvConf: l.hostResolvConf, upstreamTimeout: 8000 });
  t.teardown(() => resolver.close());
  const made = [];
  t.teardown(async () => {
    for (const ns of made) await ns.delete().catch(() => {});
  });
  const container = async () => {
    const ns = await Netns.create(uniqueName('dk'));
    made.push(ns);
    ip(ns.name, 'link', 'set', 'lo', 'up');
    return ns;
  };
  const web = await container();
  await net.connect(web, { owner: 'web/eth0', name: 'web' });
  await resolver.attach(web, 'dnsk');
  t.is((await udpAsk(web, 'worker', 'A')).rcode, 'NXDOMAIN');

  const worker = await container();
  const script = `
    import { BridgeNetwork, Netns } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
    const net = await BridgeNetwork.open('dnsk', { netns: await Netns.open(${JSON.stringify(l.host.name)}) });
    await net.connect(await Netns.open(${JSON.stringify(worker.name)}), { owner: 'worker/eth0', name: 'Worker', aliases: ['jobs'] });
    process.exit(0);`;
  await execFileP(process.execPath, ['--input-type=module', '-e', script]);
  const [ep] = await net.endpoints({ owner: 'worker/eth0' });
  t.truthy(ep);

  t.is(ep.name, 'worker');
  t.deepEqual(ep.aliases, ['jobs']);
  t.deepEqual((await udpAsk(web, 'worker', 'A')).answers.map((a) => a.data), [ep.ipv4]);
  t.deepEqual((await udpAsk(web, 'jobs', 'A')).answers.map((a) => a.data), [ep.ipv4]);
  t.deepEqual((await udpAsk(web, 'Worker.', 'AAAA')).answers.map((a) => a.data), [ep.ipv6]);
  t.deepEqual((await udpAsk(web, reverseName(ep.ipv4), 'PTR')).answers.map((a) => a.data), ['worker']);
  t.deepEqual((await udpAsk(web, reverseName(ep.ipv6), 'PTR')).answers.map((a) => a.data), ['worker']);
  const conf = join(tempDir(t), 'resolv.conf');
  writeFileSync(conf, await containerResolvConf({ hostResolvConf: l.hostResolvConf }));
  t.deepEqual(await inContainer(web, conf, [['lookup4', 'worker'], ['resolve4', 'web']]), [{ ok: [ep.ipv4] }, { ok: [(await net.endpoints({ netns: web }))[0].ipv4] }]);

  await ep.remove();
  t.is((await udpAsk(web, 'worker', 'A')).rcode, 'NXDOMAIN');
  t.is((await udpAsk(web, reverseName(ep.ipv4), 'PTR')).rcode, 'NXDOMAIN');
});

ptest('attach refuses a namespace whose lo is down, and a refused attach leaves nothing; concurrent attaches share one', async (t) => {
  const ns = await Netns.create(uniqueName('dl'));
  t.teardown(() => ns.delete());
  const records = { lookup: (network, name, type) => (name === network ? (type === 'A' ? ['192.0.2.9'] : []) : undefined) };
  const resolver = new DnsResolver({ records, resolvConf: '/dev/null' });
  t.teardown(() => resolver.close());
  // (A socket bound to 127.0.0.11 while lo is down would answer from 127.0.0.1, and be lost.)
  await t.throwsAsync(resolver.attach(ns, 'n1'), { code: 'ENETDOWN' });
  t.is(nsHandles(ns.inode), 1);
  t.false(hasDnsTable(ns));
  t.deepEqual(resolver.attachments(), []);
  ip(ns.name, 'link', 'set', 'lo', 'up');
  const [a, b, c] = await Promise.all([resolver.attach(ns, 'n1'), resolver.attach(ns, 'n2'), resolver.attach(ns, 'n1')]);
  t.is(a.udpPort, b.udpPort);
  t.deepEqual(c.networks, ['n1', 'n2']);
  t.is(nsHandles(ns.inode), 2);
  t.deepEqual((await udpAsk(ns, 'n2', 'A')).answers.map((x) => x.data), ['192.0.2.9']);

  const rival = new DnsResolver({ records, resolvConf: '/dev/null' });
  await t.throwsAsync(rival.attach(ns, 'n1'), { code: 'ERR_NETPLUMB_DNS_ATTACHED' });
  t.is(nsHandles(ns.inode), 2);
  t.deepEqual((await udpAsk(ns, 'n1', 'A')).answers.map((x) => x.data), ['192.0.2.9']);

  await Promise.all([resolver.detach(ns), resolver.detach(ns)]);
  t.is(nsHandles(ns.inode), 1);
  t.false(hasDnsTable(ns));
  await rival.close();
});
