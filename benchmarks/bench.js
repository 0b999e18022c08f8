#!/usr/bin/env node
// The endpoint hot-path benchmark: one endpoint is what Docker does for
// `docker run -p PORT:80` on a bridge (namespace, veth with eth0 inside, lo/eth0 up,
// address, default route, one published TCP port; and the reverse). Measured in one run,
// side by side, through: the C floor (floor.c, fewest syscalls on raw netlink), the
// ip/nft spawning baseline, netplumb's low-level API and netplumb's BridgeNetwork.
//
//   npm run bench                       default sizes, a few minutes on 2 cores
//   node benchmarks/bench.js --quick    seconds (npm test runs this)
//
// It always works in a throwaway network + mount namespace of its own (re-executing
// itself through test/sandbox.js), so it never touches the machine's network, nor the
// namespace of a test run it is started from.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeChart } from './lib/chart.js';
import { removeFixture, createFixture } from './lib/fixture.js';
import { buildFloor, runFloorSeries } from './lib/floor.js';
import { runSeries } from './lib/harness.js';
import { parseOptions, USAGE } from './lib/options.js';
import { measureRoundTrips } from './lib/roundtrip.js';
import { formatReport, summarizeAll } from './lib/report.js';
import { round } from './lib/stats.js';
import { machine } from './lib/system.js';
import { runScale } from './lib/scale.js';
import { runPool } from './lib/pool.js';
import { beforeAfterPlan, runBuild } from './lib/beforeafter.js';
import { havePyroute2, runPyroute2Series } from './lib/peers.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

let options;
try {
  options = parseOptions(process.argv.slice(2));
} catch (e) {
  console.error(`bench: ${e.message}\n${USAGE}`);
  process.exit(2);
}
if (options.help) {
  console.log(USAGE);
  process.exit(0);
}
if (process.getuid?.() !== 0) {
  console.error('bench: needs root (it creates namespaces, links and nftables objects, inside a sandbox)');
  process.exit(1);
}
if (process.env.NETPLUMB_BENCH_SANDBOX !== '1') {
  // A fresh sandbox of our own, even inside the test suite's: the benchmark changes
  // namespace-wide defaults (disable_ipv6) that concurrent tests must not see.
  const env = { ...process.env, NETPLUMB_BENCH_SANDBOX: '1' };
  delete env.NETPLUMB_SANDBOX;
  const r = spawnSync(process.execPath, [join(root, 'test/sandbox.js'), process.execPath, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit', env });
  process.exit(r.status ?? 1);
}

const log = (msg) => process.stderr.write(`${msg}\n`);
// Lets the kernel finish destroying the previous series (cleanup_net runs after the links are gone).
const settle = () => new Promise((r) => setTimeout(r, 500));

async function loadRunners() {
  const runners = {};
  const want = new Set(options.runners);
  if (want.has('shell')) runners.shell = (await import('./runners/shell.js')).shellRunner;
  if (want.has('lowlevel')) runners.lowlevel = await (await import('./runners/lowlevel.js')).createLowlevelRunner();
  if (want.has('network')) runners.network = await (await import('./runners/network.js')).createNetworkRunner();
  return runners;
}

async function main() {
  const started = Date.now();
  if (options.runners.includes('floor')) buildFloor();
  createFixture();
  const runners = await loadRunners();
  const pyroute2 = options.runners.includes('pyroute2') && havePyroute2();
  if (options.runners.includes('pyroute2') && !pyroute2) log('pyroute2 is not installed for /usr/bin/python3 (Debian: python3-pyroute2): that peer is skipped');
  const names = options.runners.filter((r) => r === 'floor' || runners[r] || (r === 'pyroute2' && pyroute2));
  const series = async (name, opts) => {
    const t0 = performance.now();
    const s = name === 'floor' ? await runFloorSeries(opts) : name === 'pyroute2' ? await runPyroute2Series(opts) : await runSeries(runners[name], opts);
    log(`  ${name.padEnd(8)} ${opts.mode.padEnd(6)} n=${opts.n} in flight ${opts.setupInFlight ?? 1}/${opts.teardownInFlight ?? 1}${opts.ipv6 === false ? ' IPv6 off' : ''}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    await settle();
    return s;
  };

  const groups = { latency: [], growth: [], concurrency: [] };
  try {
    log('warm-up');
    for (const name of names) if (name !== 'pyroute2') await series(name, { n: options.warmup, mode: 'full' });

    if (names.includes('floor') && names.includes('lowlevel')) {
      log('round trip (transport overhead)');
      groups.roundtrip = await measureRoundTrips(options.quick ? 200 : 3000);
    }

    log('latency (sequential)');
    for (const mode of ['attach', 'full']) {
      for (const name of names) groups.latency.push(await series(name, { n: options.n, mode }));
    }

    if (options.growth > 0) {
      log(`growth (${options.growth} endpoints kept alive)`);
      for (const ipv6 of [true, false]) {
        for (const name of names) {
          if (name === 'shell' || name === 'pyroute2') continue; // the peers are measured for latency only
          // A runner with its own IPv6 policy (BridgeNetwork: off per link) runs once.
          if (name !== 'floor' && runners[name].ipv6 !== undefined && !ipv6) continue;
          groups.growth.push(await series(name, { n: options.growth, mode: 'full', ipv6 }));
        }
      }
    }

    if (options.concurrency > 0) {
      log(`throughput (${options.concurrency} endpoints, attach)`);
      for (const k of options.inFlight) {
        for (const name of names) {
          if (name === 'shell' || name === 'pyroute2') continue;
          groups.concurrency.push(await series(name, { n: options.concurrency, mode: 'attach', setupInFlight: k, teardownInFlight: k }));
        }
      }
    }

    if (options.scale > 0 && names.includes('network')) {
      const window = options.quick ? 10 : 100;
      const checkpoints = [window, 500, 1000, 5000, options.scale].filter((c, i, a) => c >= window && c <= options.scale && a.indexOf(c) === i).sort((a, b) => a - b);
      log(`scale (${options.scale} endpoints, bridge networks of up to 1000)`);
      groups.scale = await runScale({ n: options.scale, checkpoints, window, inFlight: 16, perNetwork: options.quick ? 20 : 1000, log });
      await settle();
    }

    if (runners.network) {
      log('NetnsPool');
      groups.pool = await runPool(runners.network, { n: options.quick ? 8 : 200 });
      await settle();
    }

    if (options.old) {
      log(`before/after (${options.old} against this tree)`);
      const plan = beforeAfterPlan(options.n, options.concurrency);
      groups.beforeAfter = { before: await runBuild('before', options.old, plan), after: await runBuild('after', undefined, plan) };
    }
  } finally {
    await Promise.all(Object.values(runners).map((r) => r.close?.()));
    removeFixture();
  }

  const m = machine();
  const summary = summarizeAll(groups);
  console.log(formatReport(summary, m));

  const date = new Date(started).toISOString().slice(0, 10);
  const out = options.out ?? (options.quick ? join(os.tmpdir(), `netplumb-bench-quick-${process.pid}.json`) : join(here, 'results', `${date}-${m.host}.json`));
  const results = {
    version: 1,
    startedAt: new Date(started).toISOString(),
    durationS: round((Date.now() - started) / 1000),
    machine: m,
    options: { quick: options.quick, n: options.n, growth: options.growth, concurrency: options.concurrency, inFlight: options.inFlight, runners: names, scale: options.scale, old: options.old },
    summary,
    // Raw per-endpoint totals (µs), in endpoint order, for anyone who wants to re-plot.
    raw: Object.fromEntries(['latency', 'growth', 'concurrency'].map((g) => [g, groups[g]]).map(([g, list]) => [g, list.map((s) => ({
      runner: s.runner, mode: s.mode, n: s.n, ipv6: s.ipv6, inFlight: s.setup.threads,
      setupTotal: s.setup.steps.total.map((v) => round(v, 4)),
      teardownTotal: s.teardown.steps.total.map((v) => round(v, 4)),
      ...(g === 'growth' && s.setup.steps.publish ? { publish: s.setup.steps.publish.map((v) => round(v, 4)) } : {}),
    }))])),
  };
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 1)}\n`);
  log(`results: ${out}`);
  const chart = options.noChart ? undefined : (options.chart ?? (options.quick ? undefined : join(root, 'docs', 'benchmarks.svg')));
  if (chart) {
    writeChart(chart, results);
    log(`chart: ${chart}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
