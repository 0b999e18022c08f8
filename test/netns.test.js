// The namespace handle against the real kernel, checked through iproute2's eyes.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  Batch,
  ClosedError,
  Netns,
  SystemError,
  ValidationError,
  netlinkConstants as C,
} from '../dist/index.js';
import { ip, ipJson, ipNetns, ptest, sh, uniqueName } from './helpers.js';

const openFds = () => readdirSync('/proc/self/fd').length;

/** RTM_GETLINK dump through the namespace's own socket: names of its links. */
async function linkNames(ns) {
  const replies = await ns.route.dump(() => {
    const b = new Batch();
    b.begin(18, C.NLM_F_DUMP, 'RTM_GETLINK').putZeros(16);
    b.end();
    return b;
  });
  return replies[0].messages
    .map((m) => {
      // IFLA_IFNAME (3) among the attributes after struct ifinfomsg.
      let off = 16;
      while (off + 4 <= m.payload.length) {
        const len = m.payload.readUInt16LE(off);
        if (m.payload.readUInt16LE(off + 2) === 3) return m.payload.toString('utf8', off + 4, off + len - 1);
        off += (len + 3) & ~3;
      }
      return undefined;
    })
    .sort();
}

ptest('a named namespace we create is seen and usable by ip netns', async (t) => {
  const name = uniqueName('np');
  const ns = await Netns.create(name);
  t.teardown(() => ns.closed || ns.delete().catch(() => {}));
  t.is(ns.name, name);
  t.is(ns.path, `/run/netns/${name}`);
  t.true(sh('ip', ['netns', 'list']).split('\n').some((l) => l.split(' ')[0] === name));
  // The inode ip sees is ours.
  t.is(statSync(`/run/netns/${name}`).ino, ns.inode);
  ip(name, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
  t.deepEqual(await linkNames(ns), ['lo', 'v0', 'v1']);
  await ns.delete();
  t.false(sh('ip', ['netns', 'list']).includes(name));
  t.false(existsSync(`/run/netns/${name}`));
});

ptest('a namespace made by ip netns add is opened by name and by path', async (t) => {
  const name = ipNetns(t);
  ip(name, 'link', 'add', 'x0', 'type', 'veth', 'peer', 'name', 'x1');
  const byName = await Netns.open(name);
  const byPath = await Netns.open(`/run/netns/${name}`);
  t.teardown(() => {
    byName.close();
    byPath.close();
  });
  t.is(byName.inode, byPath.inode);
  t.is(byPath.name, name);
  const expected = ipJson(name, 'link').map((l) => l.ifname).sort();
  t.deepEqual(await linkNames(byName), expected);
  t.deepEqual(await linkNames(byPath), expected);
});

ptest('an anonymous namespace is isolated and dies with its last handle', async (t) => {
  const ns = await Netns.create();
  t.is(ns.name, undefined);
  t.deepEqual(await linkNames(ns), ['lo']);
  const here = await Netns.current();
  t.not(ns.inode, here.inode);
  here.close();
  const inode = ns.inode;
  ns.close();
  t.false((await Netns.list()).some((i) => i.inode === inode));
});

ptest('Netns.current and Netns.fromPid agree with /proc', async (t) => {
  const cur = await Netns.current();
  t.teardown(() => cur.close());
  t.is(`net:[${cur.inode}]`, readlinkSync('/proc/self/ns/net'));
  const name = ipNetns(t);
  const child = spawn('ip', ['netns', 'exec', name, 'sleep', '30'], { stdio: 'ignore' });
  t.teardown(() => child.kill('SIGKILL'));
  // Wait until the child has entered the namespace (ip execs sleep after setns).
  const target = statSync(`/run/netns/${name}`).ino;
  let ns;
  for (let i = 0; i < 200; i++) {
    ns = await Netns.fromPid(child.pid);
    if (ns.inode === target) break;
    ns.close();
    await new Promise((r) => setTimeout(r, 10));
  }
  t.teardown(() => ns.close());
  t.is(ns.inode, target);
  const listed = (await Netns.list()).find((i) => i.inode === target);
  t.deepEqual(listed.names, [name]);
  t.true(listed.pids.includes(child.pid));
});

ptest('run() executes synchronously inside the namespace and always returns', async (t) => {
  const ns = await Netns.create(uniqueName('run'));
  t.teardown(() => ns.delete());
  const before = readlinkSync('/proc/thread-self/ns/net');
  const inside = ns.run(() => readlinkSync('/proc/thread-self/ns/net'));
  t.is(inside, `net:[${ns.inode}]`);
  t.is(readlinkSync('/proc/thread-self/ns/net'), before);
  // A child spawned synchronously inside inherits the namespace.
  const out = ns.run(() => spawnSync('ip', ['-j', 'link'], { encoding: 'utf8' }).stdout);
  t.deepEqual(JSON.parse(out).map((l) => l.ifname), ['lo']);
  t.throws(() => ns.run(() => {
    throw new RangeError('boom');
  }), { instanceOf: RangeError, message: 'boom' });
  t.is(readlinkSync('/proc/thread-self/ns/net'), before);
});

/** Two namespaces joined by a veth made with ip: a 10.77.0.1/24 and b 10.77.0.2/24. */
function pair(t) {
  const a = ipNetns(t);
  const b = ipNetns(t);
  ip(a, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb', 'netns', b);
  ip(a, 'addr', 'add', '10.77.0.1/24', 'dev', 'va');
  ip(b, 'addr', 'add', '10.77.0.2/24', 'dev', 'vb');
  for (const [n, d] of [[a, 'va'], [b, 'vb'], [a, 'lo'], [b, 'lo']]) ip(n, 'link', 'set', d, 'up');
  return { a, b };
}

ptest('a TCP server made in one namespace accepts a connection from another over a veth', async (t) => {
  const { a, b } = pair(t);
  const nsA = await Netns.open(a);
  const nsB = await Netns.open(b);
  t.teardown(() => {
    nsA.close();
    nsB.close();
  });
  // 10.77.0.1 exists only in namespace a: binding to it proves where the socket lives.
  const server = await nsA.listen({ host: '10.77.0.1', port: 8080 }, (s) => s.end('hello from a\n'));
  t.teardown(() => server.close());
  const socket = await nsB.connect(8080, '10.77.0.1');
  t.is(socket.localAddress, '10.77.0.2'); // the client really is in b
  const text = await new Promise((resolve, reject) => {
    let acc = '';
    socket.on('data', (d) => (acc += d));
    socket.on('end', () => resolve(acc));
    socket.on('error', reject);
  });
  t.is(text, 'hello from a\n');
  // The same address does not exist here, so a plain server could not bind it.
  await t.throwsAsync(
    new Promise((resolve, reject) => {
      const s = spawnSync(process.execPath, ['-e', "require('net').createServer().listen(8080,'10.77.0.1').on('error',e=>{console.error(e.code);process.exit(3)})"], { encoding: 'utf8', timeout: 5000 });
      if (s.status === 3) reject(new Error(s.stderr.trim()));
      else resolve();
    }),
    { message: 'EADDRNOTAVAIL' },
  );
});

ptest('a UDP socket made in a namespace exchanges datagrams with another namespace', async (t) => {
  const { a, b } = pair(t);
  const nsA = await Netns.open(a);
  const nsB = await Netns.open(b);
  const rx = await nsA.udpSocket({ host: '10.77.0.1', port: 5353 });
  const tx = await nsB.udpSocket({ host: '10.77.0.2' });
  t.teardown(() => {
    rx.close();
    tx.close();
    nsA.close();
    nsB.close();
  });
  const got = new Promise((resolve) => rx.once('message', (m, rinfo) => resolve({ m: m.toString(), from: rinfo.address })));
  tx.send('ping', 5353, '10.77.0.1');
  t.deepEqual(await got, { m: 'ping', from: '10.77.0.2' });
});

ptest('sysctl values match `ip netns exec NAME sysctl` and stay in their namespace', async (t) => {
  const name = uniqueName('sys');
  const ns = await Netns.create(name);
  t.teardown(() => ns.delete());
  const here = await Netns.current();
  t.teardown(() => here.close());
  const hostBefore = await here.sysctl.get('net.ipv4.ip_forward');
  t.is(await ns.sysctl.get('net.ipv4.ip_forward'), '0');
  await ns.sysctl.set('net.ipv4.ip_forward', 1);
  t.is(sh('ip', ['netns', 'exec', name, 'sysctl', '-n', 'net.ipv4.ip_forward']).trim(), '1');
  t.is(await ns.sysctl.get('net/ipv4/ip_forward'), '1');
  t.is(await here.sysctl.get('net.ipv4.ip_forward'), hostBefore);
  // Per-interface keys with dots in the interface name use '/' like sysctl(8).
  ip(name, 'link', 'add', 'e.5', 'type', 'veth', 'peer', 'name', 'p5');
  await ns.sysctl.set('net.ipv6.conf.e/5.disable_ipv6', '1');
  t.is(sh('ip', ['netns', 'exec', name, 'sysctl', '-n', 'net.ipv6.conf.e/5.disable_ipv6']).trim(), '1');
  await t.throwsAsync(ns.sysctl.get('net.ipv4.no_such_key'), { instanceOf: SystemError, code: 'ENOENT' });
  await t.throwsAsync(ns.sysctl.get('../etc/passwd'), { instanceOf: ValidationError });
});

ptest('errors: missing namespace, existing name, invalid name, double delete, closed handle', async (t) => {
  await t.throwsAsync(Netns.open(uniqueName('missing')), { instanceOf: SystemError, code: 'ENOENT' });
  await t.throwsAsync(Netns.open('/etc/hostname'), { instanceOf: SystemError, code: 'EINVAL' });
  for (const bad of ['', 'a/b', '..', 'x'.repeat(256)]) {
    await t.throwsAsync(Netns.create(bad), { instanceOf: ValidationError });
  }
  const name = uniqueName('dup');
  const ns = await Netns.create(name);
  const inode = ns.inode;
  await t.throwsAsync(Netns.create(name), { instanceOf: SystemError, code: 'EEXIST' });
  // The existing namespace survived the failed create.
  t.is(statSync(`/run/netns/${name}`).ino, inode);
  sh('ip', ['netns', 'exec', name, 'true']);
  await ns.delete();
  await t.throwsAsync(ns.delete(), { instanceOf: ClosedError });
  t.throws(() => ns.route, { instanceOf: ClosedError });
  t.false(existsSync(`/run/netns/${name}`));
});

ptest('a cleanup racing with creates never takes a name a create holds: only a dead create\'s file is stale', async (t) => {
  const prefix = uniqueName('race');
  const reaper = spawn(process.execPath, [fileURLToPath(new URL('./fixtures/netns/reaper.js', import.meta.url)), prefix], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  reaper.stdout.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => reaper.once('exit', resolve));
  await new Promise((resolve) => reaper.stdout.once('data', resolve));
  const made = [];
  try {
    // Both ways of naming a namespace: created named, and an anonymous one mounted later.
    for (let i = 0; i < 150; i++) {
      if (i % 2) made.push(await Netns.create(`${prefix}n${i}`));
      else {
        const ns = await Netns.create();
        await ns.mount(`${prefix}n${i}`);
        made.push(ns);
      }
    }
    for (const ns of made) t.is(statSync(`/run/netns/${prefix}n${made.indexOf(ns)}`).ino, ns.inode);
  } finally {
    reaper.stdin.end();
    await exited;
    for (const [i] of made.entries()) await Netns.unmount(`${prefix}n${i}`).catch(() => {});
    for (const ns of made) ns.close();
  }
  const { removed, passes } = JSON.parse(out.split('\n')[1]);
  t.is(removed, 0);
  t.true(passes > 10, `the reaper ran alongside (${passes} passes)`);
});

ptest('without CAP_NET_ADMIN / CAP_SYS_ADMIN every call fails with a typed EPERM and leaves nothing', async (t) => {
  const script = fileURLToPath(new URL('./fixtures/unprivileged.js', import.meta.url));
  const name = uniqueName('unpriv');
  const r = spawnSync(
    'setpriv',
    ['--inh-caps=-all', '--bounding-set=-all', '--', process.execPath, script, name],
    { encoding: 'utf8', timeout: 30000 },
  );
  t.is(r.status, 0, r.stderr);
  const results = JSON.parse(r.stdout);
  t.deepEqual(results.create, { name: 'SystemError', code: 'EPERM' });
  t.deepEqual(results.newlink, { name: 'NetlinkError', code: 'EPERM' });
  t.false(existsSync(`/run/netns/${name}`));
  t.false(ipJson(null, 'link').some((l) => l.ifname === name.slice(0, 15)));
});

ptest.serial('thousands of create/delete cycles leak no fds and leave no mounts', async (t) => {
  const before = openFds();
  for (let i = 0; i < 1000; i++) {
    const ns = await Netns.create(`cyc${process.pid}`);
    ns.route; // open the sockets too
    await ns.delete();
    const anon = await Netns.create();
    anon.close();
  }
  t.is(openFds(), before);
  t.false(readdirSync('/run/netns').some((n) => n.startsWith('cyc')));
  t.false(sh('cat', ['/proc/self/mountinfo']).includes(`cyc${process.pid}`));
});
