// Scale: many live endpoints (netplumb-owned anonymous namespaces, one published port
// each), K connects in flight between checkpoints. A Linux bridge takes at most 1023 ports
// (BR_MAX_PORTS: the 1024th RTM_NEWLINK is refused with EXFULL), so endpoints fill bridge
// networks of `perNetwork` one after the other. At each checkpoint: the latency of
// `window` sequential connects at that size, then the other network operations —
// BridgeNetwork.open() and endpoints() of the first network (the fullest), list() and
// cleanupNetworks() (nothing to clean: the full scan) over all — and RSS and fds per live
// endpoint. Then everything is removed, K in flight.
import { round, summarize } from './stats.js';
import { openFds, rss } from './system.js';
import { pool } from './harness.js';

const PORT_BASE = 30000;

/** Options: n (largest size), checkpoints (sizes, ascending, ≤ n), window, inFlight, perNetwork. */
export async function runScale({ n, checkpoints, window = 100, inFlight = 16, perNetwork = 1000, log = () => {} }) {
  const { BridgeNetwork, cleanupNetworks } = await import(new URL('../../dist/index.js', import.meta.url).href);
  const networks = [];
  const live = [];
  let next = 0;
  const networkFor = async (i) => {
    const k = Math.floor(i / perNetwork);
    // Made in order: the pool below never asks for network k+1 before k exists.
    networks[k] ??= BridgeNetwork.create({ name: `scale${k}`, bridge: `npscale${k}`, subnet: `10.${96 + k}.0.0/16` });
    return networks[k];
  };
  const connect = async () => {
    const i = next++;
    const net = await networkFor(i);
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
  const out = { n, window, inFlight, perNetwork, checkpoints: [] };
  try {
    for (const size of checkpoints) {
      const grow = size - window - live.length;
      if (grow > 0) await pool(Array.from({ length: grow }), inFlight, connect);
      const lat = [];
      while (live.length < size) lat.push(await connect());
      const first = await networks[0];
      const open = await time(() => BridgeNetwork.open(first.name));
      const eps = await time(() => first.endpoints());
      const list = await time(() => BridgeNetwork.list());
      const cleanup = await time(() => cleanupNetworks());
      const s = summarize(lat);
      const cp = {
        live: live.length,
        networks: networks.length,
        setupMedianUs: round(s.median),
        setupP90Us: round(s.p90),
        openEndpoints: eps.v.length,
        openUs: round(open.us),
        endpointsUs: round(eps.us),
        listUs: round(list.us),
        listed: list.v.length,
        cleanupUs: round(cleanup.us),
        cleanupRemoved: cleanup.v.endpoints?.length ?? 0,
        rssPerEndpointKiB: round((rss() - rss0) / 1024 / live.length),
        fdsPerEndpoint: round((openFds() - fds0) / live.length),
      };
      out.checkpoints.push(cp);
      log(`  scale ${size}: setup ${(cp.setupMedianUs / 1000).toFixed(2)} ms; open ${(cp.openUs / 1000).toFixed(1)} ms and endpoints ${(cp.endpointsUs / 1000).toFixed(1)} ms (${cp.openEndpoints}); list ${(cp.listUs / 1000).toFixed(1)} ms and cleanup ${(cp.cleanupUs / 1000).toFixed(1)} ms (${cp.networks} networks)`);
    }
  } finally {
    const t0 = performance.now();
    const count = live.length;
    await pool(live.splice(0), inFlight, (ep) => ep.remove());
    out.teardownPerSecond = round(count / ((performance.now() - t0) / 1000));
    for (const net of networks) await (await net).remove({ force: true });
  }
  return out;
}
