// Scale: one BridgeNetwork grown to many live endpoints (netplumb-owned anonymous
// namespaces, one published port each), with K connects in flight between checkpoints.
// At each checkpoint: the latency of `window` sequential connects at that size, then the
// other network operations on that many endpoints — BridgeNetwork.open(), list(),
// net.endpoints(), cleanupNetworks() (nothing to clean: the full scan) — and RSS and fds
// per live endpoint. Then everything is removed, K in flight.
import { round, summarize } from './stats.js';
import { openFds, rss } from './system.js';
import { pool } from './harness.js';

const PORT_BASE = 30000;

/** Options: n (largest size), checkpoints (sizes, ascending, ≤ n), window, inFlight. */
export async function runScale(runner, { n, checkpoints, window = 100, inFlight = 16, log = () => {} }) {
  const { net, BridgeNetwork } = runner;
  const { cleanupNetworks } = await import(new URL('../../dist/index.js', import.meta.url).href);
  const live = [];
  let next = 0;
  const connect = async () => {
    const i = next++;
    const t0 = performance.now();
    const ep = await net.connect(undefined, { publish: [{ hostPort: PORT_BASE + i, containerPort: 80 }] });
    live.push(ep);
    return (performance.now() - t0) * 1000;
  };
  const time = async (fn) => {
    const t0 = performance.now();
    const v = await fn();
    return { us: (performance.now() - t0) * 1000, v };
  };
  const rss0 = rss();
  const fds0 = openFds();
  const out = { n, window, inFlight, checkpoints: [] };
  for (const size of checkpoints) {
    const grow = size - window - live.length;
    if (grow > 0) await pool(Array.from({ length: grow }), inFlight, connect);
    const lat = [];
    while (live.length < size) lat.push(await connect());
    const open = await time(() => BridgeNetwork.open('bench'));
    const list = await time(() => BridgeNetwork.list());
    const eps = await time(() => net.endpoints());
    const cleanup = await time(() => cleanupNetworks());
    const s = summarize(lat);
    const cp = {
      live: live.length,
      setupMedianUs: round(s.median),
      setupP90Us: round(s.p90),
      openUs: round(open.us),
      listUs: round(list.us),
      endpointsUs: round(eps.us),
      endpointsFound: eps.v.length,
      cleanupUs: round(cleanup.us),
      cleanupRemoved: cleanup.v.endpoints?.length ?? 0,
      rssPerEndpointKiB: round((rss() - rss0) / 1024 / live.length),
      fdsPerEndpoint: round((openFds() - fds0) / live.length),
    };
    out.checkpoints.push(cp);
    log(`  scale ${size}: setup ${(cp.setupMedianUs / 1000).toFixed(2)} ms, open ${(cp.openUs / 1000).toFixed(1)} ms, list ${(cp.listUs / 1000).toFixed(1)} ms, endpoints ${(cp.endpointsUs / 1000).toFixed(1)} ms, cleanup ${(cp.cleanupUs / 1000).toFixed(1)} ms`);
  }
  const t0 = performance.now();
  await pool(live.splice(0), inFlight, (ep) => ep.remove());
  out.teardownPerSecond = round((out.checkpoints.at(-1)?.live ?? 0) / ((performance.now() - t0) / 1000));
  out.firstWindowMedianUs = out.checkpoints[0]?.setupMedianUs;
  return out;
}
