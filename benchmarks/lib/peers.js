// Peers run side by side with the others: pyroute2 (benchmarks/runners/peer_pyroute2.py),
// when the system's Python has it (Debian: python3-pyroute2). A child process per series,
// like the C floor; latency only.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { FIXTURE } from './endpoints.js';
import { ELD_RESOLUTION_MS, eventLoopSummary } from './harness.js';
import { execFileP, waitDevicesGone } from './system.js';

const PYTHON = '/usr/bin/python3';
const script = fileURLToPath(new URL('../runners/peer_pyroute2.py', import.meta.url));

/** Whether pyroute2 can run here. */
export function havePyroute2() {
  return spawnSync(PYTHON, ['-c', 'import pyroute2'], { stdio: 'ignore' }).status === 0;
}

/** One latency series through pyroute2 (sequential). */
export async function runPyroute2Series({ n, mode }) {
  const eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
  eld.enable();
  let out;
  try {
    ({ stdout: out } = await execFileP(PYTHON, [script, '--n', String(n), '--mode', mode, '--bridge', FIXTURE.bridge, '--gateway', FIXTURE.gateway, '--prefix', 'py'], { maxBuffer: 64 << 20 }));
  } finally {
    eld.disable();
  }
  const r = JSON.parse(out);
  const t0 = performance.now();
  r.teardown.releasedUs = await waitDevicesGone(Array.from({ length: n }, (_, i) => `pyv${i}`), t0);
  return { runner: 'pyroute2', mode, n, ipv6: true, setup: r.setup, teardown: r.teardown, eventLoop: eventLoopSummary(eld) };
}
