// Draws the results as one SVG file (no dependencies): latency per endpoint by runner,
// throughput by operations in flight, and setup latency as live endpoints accumulate.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { LABELS } from './report.js';

const COLORS = { floor: '#555555', lowlevel: '#1f77b4', network: '#2ca02c', shell: '#d62728' };
const FONT = 'font-family="system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif"';
const W = 900;

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const text = (x, y, s, attrs = '') =>
  `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${FONT}${attrs.includes('font-size') ? '' : ' font-size="12"'} ${attrs}>${esc(s)}</text>`;
const line = (x1, y1, x2, y2, attrs) => `<line x1="${x1.toFixed(1)}" y1="${y1.toFixed(1)}" x2="${x2.toFixed(1)}" y2="${y2.toFixed(1)}" ${attrs}/>`;

function fmtTime(us) {
  if (us >= 1e6) return `${us / 1e6} s`;
  if (us >= 1000) return `${us / 1000} ms`;
  return `${us} µs`;
}

/** Log-scale axis over the decades that cover [lo, hi]. */
function logScale(lo, hi, a, b) {
  const l0 = Math.floor(Math.log10(Math.max(lo, 1e-9)));
  const l1 = Math.ceil(Math.log10(Math.max(hi, lo * 10)));
  const f = (v) => a + ((Math.log10(Math.max(v, 10 ** l0)) - l0) / (l1 - l0)) * (b - a);
  const ticks = [];
  for (let e = l0; e <= l1; e++) ticks.push(10 ** e);
  return { f, ticks };
}

/** Panel 1: median setup/teardown per endpoint, horizontal bars on a log axis. */
function latencyPanel(summary, y0) {
  const parts = [];
  const cats = [
    ['setup', 'attach', 'setup, namespace exists (attach)'],
    ['setup', 'full', 'setup, with namespace (full)'],
    ['teardown', 'attach', 'teardown, veth deleted (attach)'],
    ['teardown', 'full', 'teardown, namespace dropped (full)'],
  ];
  const runners = ['floor', 'lowlevel', 'network', 'shell'].filter((r) => cats.some(([w, m]) => summary.latency[m]?.[r]));
  const values = cats.flatMap(([w, m]) => runners.map((r) => summary.latency[m]?.[r]?.[w].median).filter((v) => v > 0));
  if (values.length === 0) return { svg: '', height: 0 };
  const left = 250;
  const right = W - 90;
  const { f, ticks } = logScale(Math.min(...values), Math.max(...values), left, right);
  const barH = 12;
  const groupH = runners.length * (barH + 3) + 16;
  const top = y0 + 40;
  parts.push(text(20, y0 + 20, 'Per-endpoint latency, median (log scale)', 'font-size="15" font-weight="600"'));
  const bottom = top + cats.length * groupH;
  for (const t of ticks) {
    parts.push(line(f(t), top - 6, f(t), bottom, 'stroke="#ddd"'));
    parts.push(text(f(t), bottom + 15, fmtTime(t), 'text-anchor="middle" fill="#444"'));
  }
  cats.forEach(([which, mode, label], ci) => {
    const gy = top + ci * groupH;
    parts.push(text(20, gy + groupH / 2 - 2, label, 'fill="#222"'));
    runners.forEach((r, ri) => {
      const v = summary.latency[mode]?.[r]?.[which].median;
      if (!(v > 0)) return;
      const y = gy + ri * (barH + 3);
      parts.push(`<rect x="${left}" y="${y}" width="${Math.max(1, f(v) - left).toFixed(1)}" height="${barH}" fill="${COLORS[r]}"/>`);
      parts.push(text(f(v) + 4, y + barH - 2, fmtTime(Math.round(v * 10) / 10), 'font-size="11" fill="#333"'));
    });
  });
  return { svg: parts.join('\n'), height: bottom - y0 + 30 };
}

/** Panel 2: endpoints per second by operations in flight. */
function throughputPanel(summary, y0) {
  const conc = summary.concurrency;
  const runners = Object.keys(conc);
  if (runners.length === 0) return { svg: '', height: 0 };
  const levels = [...new Set(runners.flatMap((r) => Object.keys(conc[r]).map(Number)))].sort((a, b) => a - b);
  const values = runners.flatMap((r) => Object.values(conc[r]).flatMap((c) => [c.setupPerSecond, c.teardownPerSecond]));
  const left = 90;
  const right = W - 250;
  const top = y0 + 40;
  const bottom = top + 220;
  const { f: fy, ticks } = logScale(Math.min(...values), Math.max(...values), bottom, top);
  const fx = (k) => left + (levels.length === 1 ? 0.5 : levels.indexOf(k) / (levels.length - 1)) * (right - left);
  const parts = [text(20, y0 + 20, 'Throughput by operations in flight, namespace exists (endpoints/s, log scale)', 'font-size="15" font-weight="600"')];
  for (const t of ticks) {
    parts.push(line(left, fy(t), right, fy(t), 'stroke="#ddd"'));
    parts.push(text(left - 8, fy(t) + 4, String(t), 'text-anchor="end" fill="#444"'));
  }
  for (const k of levels) parts.push(text(fx(k), bottom + 16, String(k), 'text-anchor="middle" fill="#444"'));
  parts.push(text((left + right) / 2, bottom + 34, 'operations in flight', 'text-anchor="middle" fill="#444"'));
  let ly = top;
  for (const r of runners) {
    for (const [which, dash] of [['setupPerSecond', ''], ['teardownPerSecond', 'stroke-dasharray="5,4"']]) {
      const pts = levels.filter((k) => conc[r][k]).map((k) => `${fx(k).toFixed(1)},${fy(conc[r][k][which]).toFixed(1)}`);
      parts.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${COLORS[r]}" stroke-width="2" ${dash}/>`);
      for (const p of pts) {
        const [x, y] = p.split(',');
        parts.push(`<circle cx="${x}" cy="${y}" r="3" fill="${COLORS[r]}"/>`);
      }
      parts.push(line(right + 20, ly, right + 45, ly, `stroke="${COLORS[r]}" stroke-width="2" ${dash}`));
      parts.push(text(right + 50, ly + 4, `${LABELS[r] ?? r} ${which.startsWith('setup') ? 'setup' : 'teardown'}`, 'font-size="11"'));
      ly += 16;
    }
  }
  return { svg: parts.join('\n'), height: bottom - y0 + 50 };
}

/** Centred rolling median of `values` over about `window` points (fewer at the ends). */
function rolling(values, window) {
  const half = Math.floor(window / 2);
  const out = [];
  for (let i = 0; i < values.length; i++) {
    const s = values.slice(Math.max(0, i - half), i + half + 1).sort((a, b) => a - b);
    out.push(s[Math.floor(s.length / 2)]);
  }
  return out;
}

/** Panel 3: setup latency against the number of endpoints already alive. */
function growthPanel(results, y0) {
  const series = results.raw.growth ?? [];
  if (series.length === 0) return { svg: '', height: 0 };
  const n = Math.max(...series.map((s) => s.n));
  const window = Math.max(1, Math.floor(n / 40));
  const smoothed = series.map((s) => ({ ...s, y: rolling(s.setupTotal, window) }));
  const values = smoothed.flatMap((s) => s.y).filter((v) => v > 0);
  const left = 90;
  const right = W - 250;
  const top = y0 + 40;
  const bottom = top + 220;
  const { f: fy, ticks } = logScale(Math.min(...values), Math.max(...values), bottom, top);
  const fx = (i) => left + (i / Math.max(1, n - 1)) * (right - left);
  const parts = [text(20, y0 + 20, `Full setup latency as endpoints accumulate (rolling median of ${window}, log scale)`, 'font-size="15" font-weight="600"')];
  for (const t of ticks) {
    parts.push(line(left, fy(t), right, fy(t), 'stroke="#ddd"'));
    parts.push(text(left - 8, fy(t) + 4, fmtTime(t), 'text-anchor="end" fill="#444"'));
  }
  for (const f of [0, 0.25, 0.5, 0.75, 1]) {
    const i = Math.round(f * (n - 1));
    parts.push(text(fx(i), bottom + 16, String(i + 1), 'text-anchor="middle" fill="#444"'));
  }
  parts.push(text((left + right) / 2, bottom + 34, 'endpoints alive (including this one)', 'text-anchor="middle" fill="#444"'));
  let ly = top;
  for (const s of smoothed) {
    const dash = s.ipv6 ? '' : 'stroke-dasharray="5,4"';
    const step = Math.max(1, Math.floor(s.y.length / 400));
    const pts = [];
    for (let i = 0; i < s.y.length; i += step) pts.push(`${fx(i).toFixed(1)},${fy(s.y[i]).toFixed(1)}`);
    parts.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${COLORS[s.runner]}" stroke-width="1.5" ${dash}/>`);
    parts.push(line(right + 20, ly, right + 45, ly, `stroke="${COLORS[s.runner]}" stroke-width="2" ${dash}`));
    parts.push(text(right + 50, ly + 4, `${LABELS[s.runner] ?? s.runner}${s.ipv6 ? '' : ', IPv6 off'}`, 'font-size="11"'));
    ly += 16;
  }
  return { svg: parts.join('\n'), height: bottom - y0 + 50 };
}

/** Writes the chart for `results` (the object bench.js saves as JSON) to `file`. */
export function writeChart(file, results) {
  const m = results.machine;
  const parts = [];
  let y = 10;
  parts.push(text(20, y + 18, 'netplumb: the endpoint hot path (docker run -p PORT:80 on a bridge)', 'font-size="17" font-weight="700"'));
  parts.push(text(20, y + 36, `${m.cpus} CPU ${m.cpuModel}, kernel ${m.kernel}, Node ${m.node}, ${results.startedAt.slice(0, 10)}`, 'fill="#555"'));
  y += 50;
  // Legend of runners.
  let lx = 20;
  for (const r of ['floor', 'lowlevel', 'network', 'shell']) {
    if (!results.options.runners.includes(r)) continue;
    parts.push(`<rect x="${lx}" y="${y}" width="12" height="12" fill="${COLORS[r]}"/>`);
    parts.push(text(lx + 16, y + 11, LABELS[r]));
    lx += 30 + LABELS[r].length * 7;
  }
  y += 20;
  for (const draw of [(at) => latencyPanel(results.summary, at), (at) => throughputPanel(results.summary, at), (at) => growthPanel(results, at)]) {
    const panel = draw(y);
    parts.push(panel.svg);
    y += panel.height;
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${Math.ceil(y)}" viewBox="0 0 ${W} ${Math.ceil(y)}">\n<rect width="100%" height="100%" fill="#fff"/>\n${parts.join('\n')}\n</svg>\n`;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, svg);
}
