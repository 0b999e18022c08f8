// Issue 13: network-level events from the kernel, including another process's changes.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BridgeNetwork } from '../dist/index.js';
import { ptest, uniqueName } from './helpers.js';
import { lab } from './network-lab.js';

const WORKER = fileURLToPath(new URL('./fixtures/multiprocess/worker.js', import.meta.url));

/** Collects events until `until` returns true for one (bounded by `ms`). */
async function collect(events, until, ms = 5000) {
  const seen = [];
  const timer = setTimeout(() => events.close(), ms);
  for await (const ev of events) {
    seen.push(ev);
    if (until(ev)) break;
  }
  clearTimeout(timer);
  return seen;
}

ptest('events: network created and removed, and another process\'s endpoint connected, published, unpublished, removed', async (t) => {
  const l = await lab(t);
  const all = await BridgeNetwork.events({ netns: l.host });
  const net = await l.network({ name: 'ev', subnet: '172.26.0.0/24' });
  const mine = await net.events();
  t.teardown(() => {
    all.close();
    mine.close();
  });
  const r = spawnSync(process.execPath, [WORKER, l.hostName, 'ev', '1', uniqueName('ev'), '8088', '1'], { encoding: 'utf8', env: { ...process.env, KEEP: '0', NOREMOVE: '0' } });
  t.is(r.status, 0, r.stderr);
  const wanted = new Set(['endpoint-connected', 'endpoint-removed', 'port-unpublished']);
  const seen = await collect(mine, (e) => wanted.delete(e.type) && wanted.size === 0);
  const types = seen.map((e) => e.type);
  t.false(types.includes('resync'));
  // Link and nftables notifications come on two sockets: order is kept within each.
  t.deepEqual(types.filter((x) => x.startsWith('port')), ['port-published', 'port-unpublished']);
  t.deepEqual(types.filter((x) => x.startsWith('endpoint')), ['endpoint-connected', 'endpoint-removed']);
  t.false(types.includes('network-created'), 'the network existed before this reader opened');
  const published = seen.find((e) => e.type === 'port-published');
  t.deepEqual(published.port, { protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 8088, containerPort: 80 });
  t.is(new Set(seen.filter((e) => e.endpoint).map((e) => e.endpoint)).size, 1);
  await net.remove();
  const host = await collect(all, (e) => e.type === 'network-removed');
  t.deepEqual(host.filter((e) => e.type.startsWith('network')).map((e) => [e.type, e.network]), [['network-created', 'ev'], ['network-removed', 'ev']]);
});
