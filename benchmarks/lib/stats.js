// Summary statistics of latency samples (microseconds in, microseconds out).

/** The q-quantile (0..1) of sorted values, by linear interpolation between ranks. */
function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** median, p90, p99, mean, min, max and count of `values`. */
export function summarize(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const mean = n ? sorted.reduce((s, v) => s + v, 0) / n : NaN;
  return {
    n,
    median: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    mean,
    min: sorted[0] ?? NaN,
    max: sorted[n - 1] ?? NaN,
  };
}

/** Median of a plain array. */
export function median(values) {
  return quantile([...values].sort((a, b) => a - b), 0.5);
}

/** Rounds for JSON and tables: 3 significant digits is all the noise allows. */
export function round(v, digits = 3) {
  if (!Number.isFinite(v)) return v;
  if (v === 0) return 0;
  const p = Math.pow(10, digits - Math.ceil(Math.log10(Math.abs(v))));
  return Math.round(v * p) / p;
}
