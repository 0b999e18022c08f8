// Before/after: BridgeNetwork of another build (e.g. the pre-rewrite code, built in its
// own worktree) against this tree's, measured in the same run. Both use netplumb's nft
// table, whose layout differs between builds, so each runs in a throwaway sandbox of its
// own (a child process): connect/remove latency (attach and full, sequential) and
// throughput with 16 in flight.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createNetworkRunner } from '../runners/network.js';
import { runSeries } from './harness.js';

const self = fileURLToPath(import.meta.url);
const sandbox = fileURLToPath(new URL('../../test/sandbox.js', import.meta.url));

/** The series each build runs. */
export function beforeAfterPlan(n, concurrency) {
  return [
    { n, mode: 'attach' },
    { n, mode: 'full' },
    ...(concurrency > 0 ? [{ n: concurrency, mode: 'attach', setupInFlight: 16, teardownInFlight: 16 }] : []),
  ];
}

/** Runs `plan` with the BridgeNetwork of `dist` (undefined: this tree) in a fresh sandbox; resolves with the series. */
export function runBuild(label, dist, plan) {
  const env = { ...process.env };
  delete env.NETPLUMB_SANDBOX;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [sandbox, process.execPath, self, label, dist ?? '', JSON.stringify(plan)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`before/after (${label}) exited with ${code}`));
      resolve(JSON.parse(out));
    });
  });
}

if (process.argv[1] === self) {
  const [label, dist, plan] = process.argv.slice(2);
  const runner = await createNetworkRunner({ dist: dist || undefined, name: label, prefix: label === 'before' ? 'ob' : 'oa' });
  const results = [];
  try {
    for (const opts of JSON.parse(plan)) {
      results.push(await runSeries(runner, opts));
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await runner.close();
  }
  process.stdout.write(JSON.stringify(results));
  process.exit(0);
}
