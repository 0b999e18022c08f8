// Long run, short version (the 10,000-cycle one is test/soak.js, run by CI on its own):
// 500 connect/remove cycles of every kind of endpoint leave no fd, memory or kernel object
// growth. Measured after a warm-up (sockets opened once, code compiled) and after the
// kernel has finished destroying what the removed endpoints dropped.
import { ptest } from './helpers.js';
import { lab } from './network-lab.js';
import { runCycles, sample, settle } from './fixtures/reliability/cycles.js';

const CYCLES = 500;
/**
 * Growth allowed: the heap after a full GC over the run; RSS over its second half. RSS
 * rises over the first cycles as the allocator's per-thread arenas and V8's spaces fill
 * (by 7–25 MiB, more on a loaded machine) and then stays: a leak keeps growing in the
 * second half as in the first.
 */
const HEAP_GROWTH_MIB = 4;
const RSS_GROWTH_MIB = 16;

ptest.serial(`${CYCLES} connect/remove cycles: no fd, memory or kernel object growth`, async (t) => {
  t.timeout(110000);
  const l = await lab(t);
  const net = await l.network({ name: 'long', subnet: '10.110.0.0/16' });
  const baseLinks = (await l.host.links.list()).length;
  await runCycles({ net, cycles: 30, prefix: 'lw' });
  await settle(l.host, baseLinks);
  const start = await sample(l.host);
  await runCycles({ net, cycles: CYCLES / 2 });
  await settle(l.host, start.links);
  const mid = await sample(l.host);
  await runCycles({ net, cycles: CYCLES / 2 });
  await settle(l.host, start.links);
  const end = await sample(l.host);
  t.log(`RELIABILITY longrun ${JSON.stringify({ cycles: CYCLES, start, mid, end })}`);
  t.true(end.fds <= start.fds, `open fds ${start.fds} → ${end.fds}`);
  t.is(end.links, start.links, 'links');
  t.is(end.elements, start.elements, 'nftables elements');
  t.is(end.runNetns, start.runNetns, '/run/netns entries');
  t.true(end.heapMiB - start.heapMiB < HEAP_GROWTH_MIB, `heap ${start.heapMiB} → ${end.heapMiB} MiB`);
  // Under AddressSanitizer (test/asan.sh) freed memory sits in ASan's quarantine (up to
  // 256 MiB), so RSS says nothing there; LeakSanitizer judges the addon's memory instead.
  if (!process.env.ASAN_OPTIONS) t.true(end.rssMiB - mid.rssMiB < RSS_GROWTH_MIB, `RSS ${start.rssMiB} → ${mid.rssMiB} → ${end.rssMiB} MiB`);
  t.deepEqual(await net.endpoints(), []);
});
