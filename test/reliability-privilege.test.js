// Privilege: without CAP_NET_ADMIN (and every other capability: `setpriv --inh-caps=-all
// --bounding-set=-all`), each call that would change kernel state fails with a typed
// permission error (EPERM, or EACCES for a sysctl file) and changes nothing — checked
// by snapshotting the namespaces and /run/netns before and after.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Netns } from '../dist/index.js';
import { ip, ipJson, nftJson, ptest, uniqueName } from './helpers.js';
import { lab } from './network-lab.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/reliability/unprivileged-api.js', import.meta.url));

ptest('without CAP_NET_ADMIN every call fails with a typed permission error and changes nothing', async (t) => {
  const l = await lab(t);
  const net = await l.network({ name: 'priv', subnet: '10.90.0.0/24' });
  const c = await l.container();
  await net.connect(c, { publish: [{ hostPort: 8080, containerPort: 80 }] });
  const other = await Netns.create(uniqueName('po'));
  t.teardown(() => other.delete());
  // Links by what a change would touch (not timers or carrier state, which move by themselves;
  // nor IPv6 link-local addresses and their routes, which the kernel's autoconfiguration adds
  // when duplicate address detection ends, a while after a link comes up).
  const linkLocal = (a) => a?.startsWith('fe80:');
  const links = (ns) =>
    ipJson(ns, '-d', 'addr').map((x) => ({ name: x.ifname, flags: x.flags.filter((f) => f !== 'LOWER_UP' && f !== 'NO-CARRIER'), mtu: x.mtu, master: x.master, alias: x.ifalias, kind: x.linkinfo?.info_kind, addrs: x.addr_info.filter((a) => !linkLocal(a.local)).map((a) => `${a.local}/${a.prefixlen}`) }));
  const snapshot = () => ({
    host: links(l.hostName),
    routes: ipJson(l.hostName, 'route', 'show', 'table', 'all').filter((r) => !linkLocal(r.dst)),
    rules: ipJson(l.hostName, 'rule'),
    neigh: ipJson(l.hostName, 'neigh'),
    nft: nftJson(l.hostName),
    other: links(other.name),
    forward: ip(l.hostName, 'netns', 'exec', l.hostName, 'cat', '/proc/sys/net/ipv4/ip_forward'),
    // This process's entries, and any the child could have made (`unpriv<pid>`); other test files run beside this one.
    runNetns: readdirSync('/run/netns').filter((n) => n.includes(String(process.pid)) || n.startsWith('unpriv')).sort(),
  });
  const before = snapshot();
  const r = spawnSync(
    'ip',
    ['netns', 'exec', l.hostName, 'setpriv', '--inh-caps=-all', '--bounding-set=-all', '--', process.execPath, SCRIPT, l.hostName, 'priv', other.name],
    { encoding: 'utf8', timeout: 60000 },
  );
  t.is(r.status, 0, r.stderr);
  const results = JSON.parse(r.stdout);
  const tried = Object.keys(results);
  t.true(['net.endpoints', 'net.inspect', 'net.connect', 'net.remove'].every((k) => tried.includes(k)), 'the opened network was tried');
  // Reads of links need no capability: finding a network by its bridge's tag is one.
  const unprivileged = ['BridgeNetwork.open', 'BridgeNetwork.list'];
  for (const [call, res] of Object.entries(results)) {
    if (unprivileged.includes(call)) {
      t.is(res.outcome, 'succeeded', `${call}: ${res.class} ${res.code}`);
      continue;
    }
    if (call.startsWith('monitor')) {
      // Entering another namespace needs CAP_SYS_ADMIN even to watch it.
      t.like(res, { outcome: 'failed', code: 'EPERM' }, call);
      continue;
    }
    t.is(res.outcome, 'failed', `${call} must not succeed`);
    t.true(res.typed, `${call}: typed error (${res.class} ${res.code})`);
    t.true(['EPERM', 'EACCES'].includes(res.code), `${call}: a permission error (${res.class} ${res.code})`);
  }
  t.deepEqual(snapshot(), before, 'nothing changed');
  t.log(`RELIABILITY privilege ${JSON.stringify({ calls: tried.length, slowestMs: Math.max(...Object.values(results).map((x) => x.ms)).toFixed(1) })}`);
});
