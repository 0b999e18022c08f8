// NetnsPool: namespaces made ahead of time and taken in O(1), bare (lo up) or already
// connected to a bridge network. Checked against the kernel through `ip -j` (a taken
// namespace is given a /run/netns name so the oracle can enter it) and the network's own
// endpoint list, which other processes would see.
import { Netns, NetnsPool, ValidationError } from '../dist/index.js';
import { ipJson, ptest, uniqueName } from './helpers.js';
import { lab } from './network-lab.js';

/** Names `ns` in /run/netns (for the oracle) until the test ends. */
async function named(t, ns) {
  const name = uniqueName('pl');
  await ns.mount(name);
  t.teardown(() => Netns.unmount(name).catch(() => {}));
  return name;
}

ptest('a bare pool hands out namespaces with lo up, refills itself, and close() releases the rest', async (t) => {
  const pool = await NetnsPool.create({ size: 3 });
  t.teardown(() => pool.close());
  t.is(pool.available, 3);
  const taken = [pool.take(), pool.take(), pool.take()];
  const inodes = new Set(taken.map((x) => x.netns.inode));
  t.is(inodes.size, 3, 'three different namespaces');
  for (const x of taken) {
    const links = ipJson(await named(t, x.netns), 'link');
    t.deepEqual(links.map((l) => l.ifname), ['lo']);
    t.true(links[0].flags.includes('UP'));
    t.is(x.endpoint, undefined);
  }
  // Taking started a refill; once it is done the pool is full again, with new namespaces.
  await pool.fill();
  t.is(pool.available, 3);
  const again = pool.take();
  t.false(inodes.has(again.netns.inode));
  again.netns.close();
  for (const x of taken) x.netns.close();
  await pool.close();
  t.throws(() => pool.take(), { code: 'ERR_NETPLUMB_CLOSED' });
});

ptest('a pool on a network pre-connects its namespaces; taken ones keep their endpoint, close() removes the others', async (t) => {
  const l = await lab(t);
  const net = await l.network({ name: 'pool', subnet: '10.62.0.0/24' });
  const pool = await NetnsPool.create({ size: 2, network: net, refill: false });
  t.is(pool.available, 2);
  t.is((await net.endpoints()).length, 2, 'pooled endpoints are real endpoints of the network');
  const { netns, endpoint } = pool.take();
  t.is(endpoint.netns, netns);
  const name = await named(t, netns);
  const eth0 = ipJson(name, 'addr', 'show', 'eth0')[0];
  t.true(eth0.flags.includes('UP'));
  t.deepEqual(eth0.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`), [`${endpoint.ipv4}/24`]);
  t.deepEqual(ipJson(name, 'route', 'show', 'default').map((r) => r.gateway), ['10.62.0.1']);
  // Without refill the pool empties; acquire() then makes one on the spot.
  pool.take();
  t.is(pool.take(), undefined);
  const made = await pool.acquire();
  t.truthy(made.endpoint);
  t.is((await net.endpoints()).length, 3);
  await pool.close();
  t.is((await net.endpoints()).length, 3, 'taken endpoints belong to the caller');
  await endpoint.remove();
  await made.endpoint.remove();
  t.is((await net.endpoints()).length, 1);
});

ptest('close() removes the endpoints still in the pool', async (t) => {
  const l = await lab(t);
  const net = await l.network({ name: 'poolc', subnet: '10.63.0.0/24' });
  const pool = await NetnsPool.create({ size: 3, network: net });
  t.is((await net.endpoints()).length, 3);
  await pool.close();
  t.deepEqual(await net.endpoints(), []);
  t.deepEqual(ipJson(l.hostName, 'link').filter((x) => x.master === net.bridge), [], 'no veth left on the bridge');
});

ptest('bad options are refused before anything is made', async (t) => {
  await t.throwsAsync(NetnsPool.create({ size: 0 }), { instanceOf: ValidationError, message: /size/ });
  await t.throwsAsync(NetnsPool.create({ size: 2, concurrency: 100 }), { instanceOf: ValidationError, message: /concurrency/ });
  await t.throwsAsync(NetnsPool.create({ size: 2, connect: { publish: [{ hostPort: 80, containerPort: 80 }] } }), { instanceOf: ValidationError, message: /publish/ });
});
