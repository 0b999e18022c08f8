// NetnsPool's own numbers: how long take() takes (a namespace, or a namespace already
// connected to the network, out of the pool), and how fast the pool fills in the
// background — against making the same thing on the start path (Netns.create, or
// connect() with a namespace netplumb makes).
import { round, summarize } from './stats.js';

export async function runPool(runner, { n }) {
  const { NetnsPool, Netns } = await import(new URL('../../dist/index.js', import.meta.url).href);
  const out = {};
  for (const [kind, opts] of [['bare', {}], ['connected', { network: runner.net }]]) {
    const t0 = performance.now();
    const pool = await NetnsPool.create({ size: n, refill: false, concurrency: 16, ...opts });
    const fillS = (performance.now() - t0) / 1000;
    const takes = [];
    const items = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      items.push(pool.take());
      takes.push((performance.now() - t) * 1000);
    }
    // The same on the start path, one at a time.
    const direct = [];
    for (let i = 0; i < Math.min(n, 50); i++) {
      const t = performance.now();
      const made = kind === 'bare' ? { netns: await Netns.create() } : { endpoint: await runner.net.connect(undefined) };
      direct.push((performance.now() - t) * 1000);
      items.push(made);
    }
    for (const x of items) {
      if (x.endpoint) await x.endpoint.remove();
      else x.netns.close();
    }
    await pool.close();
    const s = summarize(takes);
    const d = summarize(direct);
    out[kind] = { n, takeMedianUs: round(s.median), takeP99Us: round(s.p99), fillPerSecond: round(n / fillS), directMedianUs: round(d.median), directP90Us: round(d.p90) };
  }
  return out;
}
