// The C floor (floor.c): compiled once per run with the system's cc, then run as a child
// process for each series. It returns the same shape as a JS series.
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { FIXTURE } from './endpoints.js';
import { ELD_RESOLUTION_MS, eventLoopSummary } from './harness.js';
import { execFileP, sysctlGet, sysctlSet } from './system.js';

const source = fileURLToPath(new URL('../floor.c', import.meta.url));
const buildDir = fileURLToPath(new URL('../build/', import.meta.url));
export const binary = `${buildDir}floor`;

/** Compiles floor.c when the binary is missing or older than the source. */
export function buildFloor() {
  let fresh = false;
  try {
    fresh = statSync(binary).mtimeMs >= statSync(source).mtimeMs;
  } catch {}
  if (fresh) return binary;
  mkdirSync(buildDir, { recursive: true });
  execFileSync('cc', ['-O2', '-Wall', '-o', binary, source, '-lpthread'], { stdio: 'inherit' });
  return binary;
}

/**
 * One series of the floor. Options as runSeries (in flight = threads). Endpoint names use
 * prefix "fl"; the host-side default disable_ipv6 is switched as for the JS runs.
 */
export async function runFloorSeries(options) {
  const { n, mode, ipv6 = true, setupInFlight = 1, teardownInFlight = 1 } = options;
  const args = [
    '--n', String(n), '--mode', mode,
    '--setup-threads', String(setupInFlight), '--teardown-threads', String(teardownInFlight),
    '--bridge', FIXTURE.bridge, '--table', FIXTURE.table, '--map', FIXTURE.map,
    '--prefix', 'fl', '--port-base', String(FIXTURE.portBase),
  ];
  const key = 'net.ipv6.conf.default.disable_ipv6';
  const before = sysctlGet(key);
  if (!ipv6) {
    args.push('--no-ipv6');
    sysctlSet(key, 1);
  }
  // Our event loop is idle meanwhile: its delay shows what the kernel's load alone does
  // to a JS thread (the reference for netplumb's own event-loop numbers).
  const eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
  eld.enable();
  let out;
  try {
    ({ stdout: out } = await execFileP(binary, args, { maxBuffer: 256 << 20 }));
  } finally {
    eld.disable();
    sysctlSet(key, before);
  }
  const r = JSON.parse(out);
  return {
    runner: 'floor',
    mode,
    n,
    ipv6,
    setup: { threads: r.setup.threads, wallUs: r.setup.wallUs, cpuUs: r.setup.cpuUs, steps: r.setup.steps },
    teardown: { threads: r.teardown.threads, wallUs: r.teardown.wallUs, cpuUs: r.teardown.cpuUs, releasedUs: r.teardown.releasedUs, steps: r.teardown.steps },
    eventLoop: eventLoopSummary(eld),
  };
}
