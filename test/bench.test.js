// The benchmark script must keep working: npm test runs it once with tiny sizes. It
// asserts that it runs and reports what the issue asks for, never how fast anything is
// (timings belong in the benchmark's report, not in pass/fail).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ptest } from './helpers.js';

const execFileP = promisify(execFile);
const bench = fileURLToPath(new URL('../benchmarks/bench.js', import.meta.url));

ptest.serial('benchmarks/bench.js --quick runs and writes the results JSON', async (t) => {
  t.timeout(180_000);
  const dir = mkdtempSync(join(os.tmpdir(), 'netplumb-bench-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'results.json');
  const chart = join(dir, 'chart.svg');
  // bench.js makes a sandbox of its own inside the test's, so its changes stay there.
  const { stdout } = await execFileP(process.execPath, [bench, '--quick', '--out', out, '--chart', chart], {
    encoding: 'utf8',
    maxBuffer: 16 << 20,
    timeout: 170_000,
  });
  t.regex(stdout, /targets/);

  const r = JSON.parse(readFileSync(out, 'utf8'));
  for (const k of ['kernel', 'cpus', 'node']) t.truthy(r.machine[k], `machine.${k}`);
  t.is(r.options.quick, true);
  const runners = r.options.runners;
  for (const name of ['floor', 'shell', 'lowlevel', 'network']) t.true(runners.includes(name), `runner ${name} ran`);

  for (const mode of ['attach', 'full']) {
    for (const name of runners) {
      const s = r.summary.latency[mode]?.[name];
      t.truthy(s, `latency ${mode} ${name}`);
      for (const which of ['setup', 'teardown']) {
        for (const k of ['median', 'p90', 'p99', 'mean', 'cpuPerEndpointUs']) t.true(Number.isFinite(s[which][k]), `${mode} ${name} ${which}.${k}`);
      }
      t.true(Number.isFinite(s.teardown.releasedAllUs));
    }
    t.true(Number.isFinite(r.summary.ratios[mode].setup['lowlevel/floor']));
    t.true(Number.isFinite(r.summary.ratios[mode].setup['shell/lowlevel']));
  }
  t.truthy(r.summary.growth.lowlevel?.setup.ratio);
  t.truthy(r.summary.growth['lowlevel-noipv6']);
  t.truthy(r.summary.growth.lowlevel.per1000Live);
  t.true(Number.isFinite(r.summary.growth.lowlevel.eventLoop.p99Ms));
  t.truthy(r.summary.concurrency.lowlevel?.[1]?.teardownPerSecond);
  t.truthy(r.summary.concurrency.network?.[1]?.setupPerSecond);
  t.truthy(r.summary.growth['network-noipv6']);
  t.true(Array.isArray(r.summary.targets) && r.summary.targets.length > 0);
  // Issue 12's targets are each printed with a ratio (throughput at 16/64 needs those levels, which --quick skips).
  const names = r.summary.targets.map((x) => x.name);
  for (const np of ['lowlevel', 'network']) {
    for (const mode of ['attach', 'full']) {
      t.true(names.includes(`${np} setup (${mode}) median vs floor`), `${np} ${mode} median target`);
      t.true(names.includes(`${np} setup (${mode}) p90 vs floor p90`), `${np} ${mode} p90 target`);
    }
    t.true(names.includes(`${np} CPU per attach setup vs floor`), `${np} CPU target`);
  }
  for (const what of ['BridgeNetwork.open()', 'BridgeNetwork.list()', 'cleanupNetworks()']) t.true(names.some((n) => n.startsWith(what)), what);
  const cps = r.summary.scale.checkpoints;
  t.true(cps.length >= 2);
  for (const k of ['setupMedianUs', 'openUs', 'endpointsUs', 'listUs', 'cleanupUs', 'rssPerEndpointKiB', 'fdsPerEndpoint']) t.true(Number.isFinite(cps.at(-1)[k]), `scale ${k}`);
  t.is(cps[0].openEndpoints, cps[0].live, 'endpoints() of the first network found every endpoint on it');
  for (const kind of ['bare', 'connected']) t.true(Number.isFinite(r.summary.pool[kind].takeMedianUs), `pool ${kind}`);
  t.regex(readFileSync(chart, 'utf8'), /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
});
