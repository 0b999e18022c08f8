// Where netplumb's per-request overhead goes: the same bare round trip (a no-op
// RTM_NEWLINK on lo, acked) timed in C, through netplumb on the JS thread
// (executeSync: encode, one N-API call, sendmsg/recv, decode) and through netplumb's
// normal path (execute: the same, plus a hop to an addon thread and back to the event
// loop, which is what keeps the loop free). Every endpoint step pays this once.
import { Batch, Netns, encodeLinkSet } from '../../dist/index.js';
import { binary } from './floor.js';
import { execFileP } from './system.js';
import { round, summarize } from './stats.js';

const LO = 1;

function noop() {
  const b = new Batch(64);
  encodeLinkSet(b, LO, { up: true });
  return b;
}

const brief = (values) => {
  const s = summarize(values);
  return { median: round(s.median), p90: round(s.p90), p99: round(s.p99), mean: round(s.mean) };
};

/** Medians (µs) of `n` round trips each way, after a short warm-up. */
export async function measureRoundTrips(n) {
  const { stdout } = await execFileP(binary, ['--roundtrip', String(n)], { maxBuffer: 64 << 20 });
  const c = JSON.parse(stdout).roundtripUs;

  const host = await Netns.current();
  try {
    const conn = host.route;
    for (let i = 0; i < 200; i++) conn.executeSync(noop());
    for (let i = 0; i < 200; i++) await conn.execute(noop());
    const sync = [];
    const asyncT = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      conn.executeSync(noop());
      sync.push((performance.now() - t0) * 1000);
    }
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await conn.execute(noop());
      asyncT.push((performance.now() - t0) * 1000);
    }
    return { n, c: brief(c), netplumbSync: brief(sync), netplumbAsync: brief(asyncT) };
  } finally {
    host.close();
  }
}
