// Turns raw series into what the issue asks to see: latency summaries, CPU per endpoint,
// growth, throughput by operations in flight, event-loop delay, memory, the ratios
// netplumb/floor and shell/netplumb, and each target met or missed.
import { median, round, summarize } from './stats.js';

/** Runners that are netplumb (the others are baselines). */
export const NETPLUMB = ['lowlevel', 'network'];
export const LABELS = { floor: 'C floor', shell: 'ip/nft spawn', pyroute2: 'pyroute2 (no publish)', lowlevel: 'netplumb low-level', network: 'netplumb BridgeNetwork' };

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

  const beforeAfter = groups.beforeAfter ? summarizeBeforeAfter(groups.beforeAfter) : undefined;
  return { roundtrip: groups.roundtrip, latency, growth, concurrency, ratios, scale: groups.scale, pool: groups.pool, ...(beforeAfter ? { beforeAfter } : {}), targets: targets(latency, growth, concurrency, groups.scale) };
}

/** Before/after: per build, connect/remove medians (attach, full) and 16-in-flight throughput. */
function summarizeBeforeAfter(b) {
  const out = {};
  for (const [build, list] of Object.entries(b)) {
    out[build] = {};
    for (const s of list) {
      const key = s.setup.threads > 1 ? `attach@${s.setup.threads}` : s.mode;
      out[build][key] = s.setup.threads > 1
        ? { setupPerSecond: r3((s.n / s.setup.wallUs) * 1e6), teardownPerSecond: r3((s.n / s.teardown.wallUs) * 1e6) }
        : { connect: phase(s, 'setup'), remove: phase(s, 'teardown') };
    }
  }
  return out;
}

/** The targets of issue 12 (and the teardown ones before it), each with the measurement it is judged on. */
function targets(latency, growth, concurrency, scale) {
  const out = [];
  // met: true/false, or null for what is only reported.
  const add = (name, goal, measured, met, note) => out.push({ name, goal, measured, met, ...(note ? { note } : {}) });
  for (const np of NETPLUMB) {
    for (const mode of ['attach', 'full']) {
      const l = latency[mode];
      if (!l?.[np] || !l.floor) continue;
      const rm = l[np].setup.median / l.floor.setup.median;
      add(`${np} setup (${mode}) median vs floor`, '≤ 1.2×', `${r3(rm)}× (${r3(l[np].setup.median)} vs ${r3(l.floor.setup.median)} µs)`, rm <= 1.2);
      const rp = l[np].setup.p90 / l.floor.setup.p90;
      add(`${np} setup (${mode}) p90 vs floor p90`, '≤ 1.5×', `${r3(rp)}× (${r3(l[np].setup.p90)} vs ${r3(l.floor.setup.p90)} µs)`, rp <= 1.5);
      if (mode === 'attach') {
        const rc = l[np].setup.cpuPerEndpointUs / l.floor.setup.cpuPerEndpointUs;
        add(`${np} CPU per attach setup vs floor`, '≤ 1.3×', `${r3(rc)}× (${r3(l[np].setup.cpuPerEndpointUs)} vs ${r3(l.floor.setup.cpuPerEndpointUs)} µs)`, rc <= 1.3);
      }
      if (l.shell) add(`${np} setup (${mode}): ip/nft spawn / netplumb`, 'reported', `${r3(l.shell.setup.median / l[np].setup.median)}×`, null);
      if (l.pyroute2) {
        const rp2 = l.pyroute2.setup.median / l[np].setup.median;
        add(`${np} setup (${mode}) vs pyroute2 (same run)`, '≥ 5× faster', `${r3(rp2)}× (${r3(l[np].setup.median)} vs ${r3(l.pyroute2.setup.median)} µs)`, rp2 >= 5);
      }
    }
    for (const k of [16, 64]) {
      const c = concurrency[np]?.[k];
      const f = concurrency.floor?.[k];
      if (!c || !f) continue;
      const r = c.setupPerSecond / f.setupPerSecond;
      add(`${np} setup throughput, ${k} in flight vs floor's ${k} threads`, '≥ 1×', `${r3(r)}× (${Math.round(c.setupPerSecond)} vs ${Math.round(f.setupPerSecond)}/s)`, r >= 1);
    }
    const c16 = concurrency[np]?.[16];
    const f16 = concurrency.floor?.[16];
    if (c16?.eventLoop && f16?.eventLoop) {
      const d = c16.eventLoop.p99Ms - f16.eventLoop.p99Ms;
      add(`${np} event-loop p99 under 16-in-flight churn, above idle`, '≤ 2 ms', `${r3(d)} ms (${r3(c16.eventLoop.p99Ms)} ms; idle loop during the floor's run ${r3(f16.eventLoop.p99Ms)} ms)`, d <= 2);
    }
    const full = latency.full?.[np];
    if (full) add(`${np} teardown, owned namespace: call to return`, '< 1 ms', `${r3(full.teardown.median / 1000)} ms (links gone after ${r3(full.teardown.releasedAllUs / 1000)} ms for all ${full.n})`, full.teardown.median < 1000);
    const c = concurrency[np];
    if (c?.[1] && c?.[16]) {
      const r = c[16].teardownPerSecond / c[1].teardownPerSecond;
      add(`${np} teardown throughput, 16 in flight vs 1`, '≥ 8×', `${r3(r)}×`, r >= 8);
    }
    for (const key of [np, `${np}-noipv6`]) {
      const g = growth[key];
      if (!g) continue;
      const ipv = g.ipv6 ? 'IPv6 on' : 'IPv6 off';
      add(`${np} setup growth, last ${g.window} vs first ${g.window} of ${g.n} (${ipv})`, '≤ 1.3×', `${g.setup.ratio}×`, g.setup.ratio <= 1.3);
    }
  }
  if (scale?.checkpoints.length) {
    const cps = scale.checkpoints;
    const last = cps.at(-1);
    const first = cps[0];
    add(`network at ${last.live} live endpoints (${last.networks} bridges): setup median / p90`, 'reported', `${r3(last.setupMedianUs)} / ${r3(last.setupP90Us)} µs (${r3(last.setupMedianUs / first.setupMedianUs)}× at ${first.live})`, null);
    add(`network at ${last.live} live endpoints: RSS and fds per endpoint`, 'reported', `${last.rssPerEndpointKiB} KiB, ${last.fdsPerEndpoint} fds`, null);
    // Linear: time per endpoint at the big size no more than 1.5× that at a tenth or so of it.
    const linear = (k, big, small) => (small ? big[k] / big.openEndpoints / (small[k] / small.openEndpoints) : undefined);
    const fullest = cps.reduce((a, c) => (c.openEndpoints > a.openEndpoints ? c : a), first);
    const smallOpen = cps.filter((c) => c.openEndpoints <= fullest.openEndpoints / 5).at(-1);
    for (const [k, what] of [['openUs', 'BridgeNetwork.open()'], ['endpointsUs', 'net.endpoints()']]) {
      const r = linear(k, fullest, smallOpen);
      add(`${what} of a network with ${fullest.openEndpoints} endpoints (a bridge's most: 1023)`, 'no worse than linear', `${r3(fullest[k] / 1000)} ms${smallOpen ? ` (${smallOpen.openEndpoints}: ${r3(smallOpen[k] / 1000)} ms; per endpoint ${r3(r)}×)` : ''}`, r === undefined ? null : r <= 1.5);
    }
    const big = cps.find((c) => c.live >= 5000) ?? last;
    const small = cps.filter((c) => c.live <= big.live / 5).at(-1);
    for (const [k, what] of [['listUs', 'BridgeNetwork.list()'], ['cleanupUs', 'cleanupNetworks()']]) {
      const r = small ? big[k] / big.live / (small[k] / small.live) : undefined;
      add(`${what} with ${big.live} endpoints on ${big.networks} networks`, 'no worse than linear', `${r3(big[k] / 1000)} ms${small ? ` (${small.live}: ${r3(small[k] / 1000)} ms; per endpoint ${r3(r)}×)` : ''}`, r === undefined ? null : r <= 1.5);
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
  if (summary.scale?.checkpoints.length) {
    out.push('', `scale: bridge networks of up to ${summary.scale.perNetwork} endpoints, ${summary.scale.inFlight} connects in flight between checkpoints, ${summary.scale.window} sequential at each`);
    out.push(table([
      ['live', 'networks', 'setup median', 'setup p90', 'open() of the first', 'its endpoints()', 'list()', 'cleanupNetworks()', 'RSS/ep', 'fds/ep'],
      ...summary.scale.checkpoints.map((c) => [c.live, c.networks, fmtUs(c.setupMedianUs), fmtUs(c.setupP90Us), `${fmtUs(c.openUs)} (${c.openEndpoints})`, fmtUs(c.endpointsUs), fmtUs(c.listUs), fmtUs(c.cleanupUs), `${c.rssPerEndpointKiB} KiB`, c.fdsPerEndpoint]),
    ]));
  }
  if (summary.pool) {
    out.push('', 'NetnsPool: take() against making the same thing on the start path');
    out.push(table([
      ['', 'take() median', 'p99', 'made on the spot: median', 'p90', 'pool fill/s (16 at once)'],
      ...Object.entries(summary.pool).map(([k, p]) => [k === 'bare' ? 'namespace (lo up) vs Netns.create()' : 'connected namespace vs connect()', fmtUs(p.takeMedianUs), fmtUs(p.takeP99Us), fmtUs(p.directMedianUs), fmtUs(p.directP90Us), Math.round(p.fillPerSecond)]),
    ]));
  }
  if (summary.beforeAfter) {
    out.push('', 'before/after: BridgeNetwork connect and remove, each build in a sandbox of its own');
    const rows = [['', 'connect attach', 'p90', 'CPU', 'connect full', 'p90', 'CPU', 'remove attach', 'remove full', 'setup/s @16', 'teardown/s @16']];
    for (const [build, b] of Object.entries(summary.beforeAfter)) {
      rows.push([build, fmtUs(b.attach?.connect.median), fmtUs(b.attach?.connect.p90), fmtUs(b.attach?.connect.cpuPerEndpointUs), fmtUs(b.full?.connect.median), fmtUs(b.full?.connect.p90), fmtUs(b.full?.connect.cpuPerEndpointUs), fmtUs(b.attach?.remove.median), fmtUs(b.full?.remove.median), b['attach@16'] ? Math.round(b['attach@16'].setupPerSecond) : '—', b['attach@16'] ? Math.round(b['attach@16'].teardownPerSecond) : '—']);
    }
    out.push(table(rows));
  }
  if (summary.targets.length) {
    out.push('', 'targets');
    out.push(table([['', 'goal', 'measured', ''], ...summary.targets.map((t) => [t.name, t.goal, t.measured, t.met === null ? '' : t.met ? 'met' : 'MISSED'])]));
  }
  return out.join('\n');
}
