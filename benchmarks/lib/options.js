// Command-line options of bench.js. The default run takes a few minutes on 2 cores;
// --quick takes seconds (npm test runs it so the script cannot rot).

export const USAGE = `usage: node benchmarks/bench.js [options]   (npm run bench: as root, sandboxed)
  --quick              tiny sizes (seconds); results go to a temp dir unless --out is given
  --n N                endpoints per latency series (default 100)
  --growth N           live endpoints in the growth series (default 1000; 0 skips)
  --concurrency N      endpoints per throughput series (default 64; 0 skips)
  --in-flight LIST     operations in flight for throughput (default 1,4,16,64)
  --runners LIST       floor,shell,pyroute2,lowlevel,network (default all; pyroute2 when
                       /usr/bin/python3 has it)
  --scale N            live BridgeNetwork endpoints the scale series grows to, over bridge
                       networks of up to 1000 (default 10000; 0 skips)
  --old DIR            also measure the BridgeNetwork of another build (its dist/, e.g. the
                       pre-rewrite code) against this one, each in a sandbox of its own
  --out FILE           results JSON (default benchmarks/results/<date>-<host>.json)
  --chart FILE         SVG chart (default docs/benchmarks.svg; none with --quick)
  --no-chart           write no chart
  --help`;

const ALL_RUNNERS = ['floor', 'shell', 'pyroute2', 'lowlevel', 'network'];

export function parseOptions(argv) {
  const o = {
    quick: false,
    n: 100,
    growth: 1000,
    concurrency: 64,
    inFlight: [1, 4, 16, 64],
    runners: ALL_RUNNERS,
    out: undefined,
    chart: undefined,
    noChart: false,
    warmup: 20,
    scale: 10000,
    old: undefined,
  };
  const int = (v, name) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 60000) throw new Error(`${name} must be an integer 0..60000`);
    return n;
  };
  let explicit = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '--quick': o.quick = true; break;
      case '--n': explicit.n = int(value(), a); break;
      case '--growth': explicit.growth = int(value(), a); break;
      case '--concurrency': explicit.concurrency = int(value(), a); break;
      case '--in-flight': explicit.inFlight = value().split(',').map((v) => int(v, a)).filter((v) => v > 0); break;
      case '--runners': {
        const list = value().split(',');
        for (const r of list) if (!ALL_RUNNERS.includes(r)) throw new Error(`unknown runner ${r} (${ALL_RUNNERS.join(', ')})`);
        o.runners = list;
        break;
      }
      case '--out': o.out = value(); break;
      case '--scale': explicit.scale = int(value(), a); break;
      case '--old': o.old = value(); break;
      case '--chart': o.chart = value(); break;
      case '--no-chart': o.noChart = true; break;
      case '--help': case '-h': o.help = true; break;
      default: throw new Error(`unknown option ${a}`);
    }
  }
  if (o.quick) Object.assign(o, { n: 4, growth: 12, concurrency: 8, inFlight: [1, 4], warmup: 1, scale: 30 });
  Object.assign(o, explicit);
  return o;
}
