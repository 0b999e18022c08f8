// Runs one series: N endpoints set up (with K in flight) and kept alive, then torn down,
// through one runner, timing every step of every endpoint. Also measures what the
// process pays for it: CPU, memory and fds while all N are alive, event-loop delay.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { endpoints } from './endpoints.js';
import { childrenCpuUs, cpuUs, openFds, rss, sysctlGet, sysctlSet, waitDevicesGone } from './system.js';

/** Event-loop delay histogram resolution, ms. Values are reported net of it. */
export const ELD_RESOLUTION_MS = 1;

/** Step timer: lap(name) records µs since the previous lap; done() adds the total. */
export function stepTimer() {
  const start = performance.now();
  let last = start;
  const steps = {};
  return {
    lap(name) {
      const now = performance.now();
      steps[name] = (steps[name] ?? 0) + (now - last) * 1000;
      last = now;
    },
    done() {
      steps.total = (performance.now() - start) * 1000;
      return steps;
    },
  };
}

/** Runs fn(item) over items with at most `inFlight` running at once. */
export async function pool(items, inFlight, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(inFlight, items.length)) }, worker));
}

/** Per-step arrays (in endpoint order) from per-endpoint step objects. */
function transpose(perEndpoint) {
  const out = {};
  for (const steps of perEndpoint) for (const k of Object.keys(steps)) out[k] ??= [];
  for (const k of Object.keys(out)) out[k] = perEndpoint.map((s) => s[k] ?? 0);
  return out;
}

/**
 * With `ipv6: false`, IPv6 is disabled on the endpoint links: the sandbox's default for
 * new devices (the host-side veths) here, and each endpoint namespace's by the runner.
 */
async function withIpv6(ipv6, fn) {
  if (ipv6) return fn();
  const key = 'net.ipv6.conf.default.disable_ipv6';
  const before = sysctlGet(key);
  sysctlSet(key, 1);
  try {
    return await fn();
  } finally {
    sysctlSet(key, before);
  }
}

/**
 * One series through `runner`. Options: n, mode ('attach' | 'full'), ipv6 (default true),
 * setupInFlight, teardownInFlight (default 1). Resolves with per-step µs per endpoint.
 */
export async function runSeries(runner, options) {
  const { n, mode, ipv6 = true, setupInFlight = 1, teardownInFlight = 1 } = options;
  const opts = { mode, ipv6 };
  const eps = endpoints(runner.prefix, n, runner.octets);
  // A runner with its own IPv6 policy (runner.ipv6 === false: it keeps IPv6 off per link)
  // runs as it is, and is reported as such.
  const policy = runner.ipv6 ?? ipv6;
  return withIpv6(runner.ipv6 === undefined ? ipv6 : true, async () => {
    await runner.prepare(eps, opts);
    const eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
    const rss0 = rss();
    const fds0 = openFds();
    const child0 = childrenCpuUs();
    eld.enable();

    const setupSteps = new Array(n);
    let cpu0 = cpuUs();
    let t0 = performance.now();
    await pool(eps, setupInFlight, async (ep) => {
      const timer = stepTimer();
      await runner.setup(ep, opts, timer);
      setupSteps[ep.i] = timer.done();
    });
    const setup = { threads: setupInFlight, wallUs: (performance.now() - t0) * 1000, cpuUs: cpuUs() - cpu0, childCpuUs: childrenCpuUs() - child0 };
    const live = { endpoints: n, rssBytes: rss() - rss0, fds: openFds() - fds0 };

    const teardownSteps = new Array(n);
    const child1 = childrenCpuUs();
    cpu0 = cpuUs();
    t0 = performance.now();
    await pool(eps, teardownInFlight, async (ep) => {
      const timer = stepTimer();
      await runner.teardown(ep, opts, timer);
      teardownSteps[ep.i] = timer.done();
    });
    const teardownWall = (performance.now() - t0) * 1000;
    const teardownCpu = cpuUs() - cpu0;
    // Stop before polling: reading /proc/net/dev with 1000 devices is our cost, not the library's.
    eld.disable();
    // Owned namespaces are destroyed by the kernel after the call returns: poll until the
    // host-side veths are really gone (the bridge ports are then released too).
    const releasedUs = await waitDevicesGone(eps.map((e) => e.veth), t0);
    const teardown = { threads: teardownInFlight, wallUs: teardownWall, cpuUs: teardownCpu, childCpuUs: childrenCpuUs() - child1, releasedUs };

    await runner.finish(eps, opts);
    return {
      runner: runner.name,
      mode,
      n,
      ipv6: policy,
      setup: { ...setup, steps: transpose(setupSteps) },
      teardown: { ...teardown, steps: transpose(teardownSteps) },
      live,
      eventLoop: eventLoopSummary(eld),
    };
  });
}

/** Delay beyond the timer's own interval, ms: how long the JS thread was kept busy. */
export function eventLoopSummary(h) {
  const net = (ns) => Math.max(0, ns / 1e6 - ELD_RESOLUTION_MS);
  return { p50Ms: net(h.percentile(50)), p99Ms: net(h.percentile(99)), maxMs: net(h.max), resolutionMs: ELD_RESOLUTION_MS };
}
