// Turns raw series into what the issue asks to see: latency summaries, CPU per endpoint,
// growth, throughput by operations in flight, event-loop delay, memory, the ratios
// netplumb/floor and shell/netplumb, and each target met or missed.
import { median, round, summarize } from './stats.js';

/** Runners that are netplumb (the others are baselines). */
export const NETPLUMB = ['lowlevel', 'network'];
export const LABELS = { floor: 'C floor', shell: 'ip/nft spawn', lowlevel: 'netplumb low-level', network: 'netplumb BridgeNetwork' };

const r3 = (v) => round(v, 3);

function summarizeSteps(steps) {
  const out = {};
  for (const [k, v] of Object.entries(steps)) out[k] = r3(median(v));
  return out;
}

/** Latency + CPU of one series' setup or teardown phase. */
function phase(series, which) {
  const p = series[which];
  const s = summarize(p.steps.total);
  return {
    median: r3(s.median),
    p90: r3(s.p90),
    p99: r3(s.p99),
    mean: r3(s.mean),
    cpuPerEndpointUs: r3(p.cpuUs / series.n),
    ...(p.childCpuUs ? { childCpuPerEndpointUs: r3(p.childCpuUs / series.n) } : {}),
    perSecond: r3((series.n / p.wallUs) * 1e6),
    stepMedians: summarizeSteps(p.steps),
    ...(which === 'teardown' ? { releasedAllUs: r3(p.releasedUs) } : {}),
  };
}

/** Median of the first and last `window` values. */
function firstLast(values, window) {
  const first = median(values.slice(0, window));
  const last = median(values.slice(-window));
  return { first: r3(first), last: r3(last), ratio: r3(last / first) };
}

export function summarizeAll(groups) {
  const latency = {};
  for (const s of groups.latency) {
    latency[s.mode] ??= {};
    latency[s.mode][s.runner] = { n: s.n, setup: phase(s, 'setup'), teardown: phase(s, 'teardown'), eventLoop: s.eventLoop };
  }

  const growth = {};
  for (const s of groups.growth) {
    const window = Math.max(1, Math.min(100, Math.floor(s.n / 10)));
    const key = `${s.runner}${s.ipv6 ? '' : '-noipv6'}`;
    growth[key] = {
      runner: s.runner,
      ipv6: s.ipv6,
      n: s.n,
      window,
      setup: firstLast(s.setup.steps.total, window),
      publish: s.setup.steps.publish ? firstLast(s.setup.steps.publish, window) : undefined,
      teardown: firstLast(s.teardown.steps.total, window),
      setupStepsFirst: summarizeSteps(Object.fromEntries(Object.entries(s.setup.steps).map(([k, v]) => [k, v.slice(0, window)]))),
      setupStepsLast: summarizeSteps(Object.fromEntries(Object.entries(s.setup.steps).map(([k, v]) => [k, v.slice(-window)]))),
      releasedAllUs: r3(s.teardown.releasedUs),
      ...(s.live ? { per1000Live: { rssMiB: r3((s.live.rssBytes / 2 ** 20) * (1000 / s.n)), fds: r3(s.live.fds * (1000 / s.n)) } } : {}),
      ...(s.eventLoop ? { eventLoop: s.eventLoop } : {}),
    };
  }

  const concurrency = {};
  for (const s of groups.concurrency) {
    concurrency[s.runner] ??= {};
    concurrency[s.runner][s.setup.threads] = {
      n: s.n,
      setupPerSecond: r3((s.n / s.setup.wallUs) * 1e6),
      teardownPerSecond: r3((s.n / s.teardown.wallUs) * 1e6),
      setupMedianUs: r3(median(s.setup.steps.total)),
      teardownMedianUs: r3(median(s.teardown.steps.total)),
      ...(s.eventLoop ? { eventLoop: s.eventLoop } : {}),
    };
  }

  const ratios = {};
  for (const [mode, byRunner] of Object.entries(latency)) {
    ratios[mode] = {};
    for (const which of ['setup', 'teardown']) {
      const floor = byRunner.floor?.[which].median;
      const shell = byRunner.shell?.[which].median;
      const r = {};
      for (const np of NETPLUMB) {
        const v = byRunner[np]?.[which].median;
        if (v === undefined) continue;
        if (floor) r[`${np}/floor`] = r3(v / floor);
        if (shell) r[`shell/${np}`] = r3(shell / v);
      }
      if (floor && shell) r['shell/floor'] = r3(shell / floor);
      ratios[mode][which] = r;
    }
  }

  return { roundtrip: groups.roundtrip, latency, growth, concurrency, ratios, targets: targets(latency, growth, concurrency) };
}

/** The issue's targets, each with the measurement it is judged on. */
function targets(latency, growth, concurrency) {
  const out = [];
  const add = (name, goal, measured, met, note) => out.push({ name, goal, measured, met, ...(note ? { note } : {}) });
  for (const np of NETPLUMB) {
    for (const mode of ['attach', 'full']) {
      const l = latency[mode];
      if (!l?.[np]) continue;
      if (l.floor) {
        const r = l[np].setup.median / l.floor.setup.median;
        add(`${np} setup (${mode}) vs floor`, '≤ 1.2×', `${r3(r)}×`, r <= 1.2);
      }
      if (l.shell) {
        const r = l.shell.setup.median / l[np].setup.median;
        add(`${np} setup (${mode}) vs ip/nft`, '≥ 40× faster', `${r3(r)}×`, r >= 40);
      }
    }
    const full = latency.full?.[np];
    if (full) {
      add(`${np} teardown, owned namespace: call to return`, '< 1 ms', `${r3(full.teardown.median / 1000)} ms (links gone after ${r3(full.teardown.releasedAllUs / 1000)} ms for all ${full.n})`, full.teardown.median < 1000);
    }
    const att = latency.attach?.[np];
    if (att && latency.attach.floor) {
      const r = att.teardown.median / latency.attach.floor.teardown.median;
      add(`${np} teardown, namespace owned by someone else, vs floor`, '≤ 1.2×', `${r3(r)}×`, r <= 1.2);
    }
    const c = concurrency[np];
    if (c?.[1] && c?.[16]) {
      const r = c[16].teardownPerSecond / c[1].teardownPerSecond;
      add(`${np} teardown throughput, 16 in flight vs 1`, '≥ 8×', `${r3(r)}×`, r >= 8);
    }
    for (const key of [np, `${np}-noipv6`]) {
      const g = growth[key];
      if (!g) continue;
      const ipv = g.ipv6 ? 'IPv6 on' : 'IPv6 off';
      add(`${np} setup growth, last ${g.window} vs first ${g.window} of ${g.n} (${ipv})`, '≤ 2×', `${g.setup.ratio}×`, g.setup.ratio <= 2);
      if (g.publish) add(`${np} publish growth (${ipv})`, 'same cost (≤ 1.25×)', `${g.publish.ratio}×`, g.publish.ratio <= 1.25);
      if (g.eventLoop) {
        // The same kernel work done by the C floor, with our loop idle: what the load alone costs.
        const ref = growth[g.ipv6 ? 'floor' : 'floor-noipv6']?.eventLoop;
        const note = ref ? `; idle loop during the floor's run: p99 ${r3(ref.p99Ms)} ms, max ${r3(ref.maxMs)} ms` : '';
        add(`${np} event-loop delay p99 while ${g.n} endpoints churn (${ipv})`, '< 2 ms', `${r3(g.eventLoop.p99Ms)} ms (max ${r3(g.eventLoop.maxMs)} ms${note})`, g.eventLoop.p99Ms < 2);
      }
    }
  }
  return out;
}

const fmtUs = (us) => (us === undefined ? '—' : us >= 1000 ? `${(us / 1000).toFixed(us >= 10000 ? 1 : 2)} ms` : `${us.toFixed(us >= 100 ? 0 : 1)} µs`);

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  return rows.map((r, i) => {
    const line = r.map((cell, c) => (c === 0 ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c]))).join('  ');
    return i === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
  }).join('\n');
}

/** The human-readable report printed at the end of a run. */
export function formatReport(summary, machine) {
  const out = [];
  out.push(`netplumb benchmarks — kernel ${machine.kernel}, ${machine.cpus} CPU (${machine.cpuModel}), Node ${machine.node}`);
  const rt = summary.roundtrip;
  if (rt) {
    out.push('', `one bare round trip (no-op RTM_NEWLINK on lo, acked), ${rt.n} times`);
    out.push(table([
      ['', 'median', 'p90', 'p99'],
      ...[['C', rt.c], ['netplumb executeSync (JS thread)', rt.netplumbSync], ['netplumb execute (addon thread, promise)', rt.netplumbAsync]].map(([k, v]) => [k, fmtUs(v.median), fmtUs(v.p90), fmtUs(v.p99)]),
    ]));
  }
  for (const [mode, byRunner] of Object.entries(summary.latency)) {
    for (const which of ['setup', 'teardown']) {
      out.push('', `${which} (${mode}) per endpoint`);
      const rows = [['', 'median', 'p90', 'p99', 'mean', 'CPU/ep', 'steps (median)']];
      for (const [runner, s] of Object.entries(byRunner)) {
        const p = s[which];
        const steps = Object.entries(p.stepMedians).filter(([k]) => k !== 'total').map(([k, v]) => `${k} ${fmtUs(v)}`).join(', ');
        const cpu = fmtUs(p.cpuPerEndpointUs) + (p.childCpuPerEndpointUs ? ` (+${fmtUs(p.childCpuPerEndpointUs)} children)` : '');
        rows.push([LABELS[runner] ?? runner, fmtUs(p.median), fmtUs(p.p90), fmtUs(p.p99), fmtUs(p.mean), cpu, steps]);
      }
      out.push(table(rows));
      const r = summary.ratios[mode]?.[which];
      if (r && Object.keys(r).length) out.push(`ratios: ${Object.entries(r).map(([k, v]) => `${k} ${v}×`).join(', ')}`);
      if (which === 'teardown') {
        const rel = Object.entries(byRunner).map(([k, s]) => `${k} ${fmtUs(s.teardown.releasedAllUs)}`).join(', ');
        out.push(`all links gone after: ${rel}`);
      }
    }
  }
  if (Object.keys(summary.growth).length) {
    out.push('', 'growth (full setup, endpoints kept alive): median of first vs last window');
    const rows = [['', 'n', 'setup first', 'setup last', 'ratio', 'publish ratio', 'RSS/1000', 'fds/1000', 'loop p99/max']];
    for (const [k, g] of Object.entries(summary.growth)) {
      rows.push([
        `${LABELS[g.runner] ?? g.runner}${g.ipv6 ? '' : ' (IPv6 off)'}`,
        g.n,
        fmtUs(g.setup.first),
        fmtUs(g.setup.last),
        `${g.setup.ratio}×`,
        g.publish ? `${g.publish.ratio}×` : '—',
        g.per1000Live ? `${g.per1000Live.rssMiB} MiB` : '—',
        g.per1000Live ? g.per1000Live.fds : '—',
        g.eventLoop ? `${g.eventLoop.p99Ms.toFixed(2)}/${g.eventLoop.maxMs.toFixed(1)} ms` : '—',
      ]);
      void k;
    }
    out.push(table(rows));
  }
  if (Object.keys(summary.concurrency).length) {
    out.push('', 'throughput (attach), endpoints per second by operations in flight');
    const levels = [...new Set(Object.values(summary.concurrency).flatMap((c) => Object.keys(c).map(Number)))].sort((a, b) => a - b);
    const rows = [['', ...levels.flatMap((k) => [`setup@${k}`, `teardown@${k}`])]];
    for (const [runner, c] of Object.entries(summary.concurrency)) {
      rows.push([LABELS[runner] ?? runner, ...levels.flatMap((k) => [c[k] ? Math.round(c[k].setupPerSecond) : '—', c[k] ? Math.round(c[k].teardownPerSecond) : '—'])]);
    }
    out.push(table(rows));
  }
  if (summary.targets.length) {
    out.push('', 'targets');
    out.push(table([['', 'goal', 'measured', ''], ...summary.targets.map((t) => [t.name, t.goal, t.measured, t.met ? 'met' : 'MISSED'])]));
  }
  return out.join('\n');
}
