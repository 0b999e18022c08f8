/**
 * CLI: `netplumb graph` — a picture of what is there, read from the kernel: DOT source,
 * SVG laid out by Graphviz (the WebAssembly build in `@viz-js/viz`, loaded only by this
 * command), or a self-contained HTML page holding the same SVG.
 * @module
 */
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { NetplumbError, ValidationError } from '../index.js';
import { type Command, flag, str } from './command.js';
import { toDot } from './dot.js';
import { EXIT } from './exit-codes.js';
import { readTopology } from './topology.js';

/** Output formats of `netplumb graph`. */
export type GraphFormat = 'svg' | 'dot' | 'html';

/** Lays out and draws DOT source as SVG with Graphviz. */
export async function renderSvg(dot: string): Promise<string> {
  let viz;
  try {
    viz = await (await import('@viz-js/viz')).instance();
  } catch (e) {
    throw new NetplumbError('graph: cannot load @viz-js/viz (npm install @viz-js/viz), or use --format dot', 'ERR_NETPLUMB_NO_RENDERER', { cause: e });
  }
  const r = viz.render(dot, { format: 'svg' });
  if (r.status !== 'success') throw new NetplumbError(`graph: Graphviz failed: ${r.errors.map((e) => e.message).join('; ')}`, 'ERR_NETPLUMB_RENDER');
  return r.output;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A self-contained HTML page showing `svg` (no scripts, no external resources). */
export function htmlPage(svg: string, title: string): string {
  const inline = svg.replace(/^<\?xml[^>]*>\s*/, '').replace(/^<!DOCTYPE[^>]*>\s*/, '');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>
  body { font-family: Helvetica, Arial, sans-serif; margin: 1.5em; background: #fff; color: #222; }
  h1 { font-size: 1.2em; }
  .graph svg { max-width: 100%; height: auto; }
  .legend { font-size: 0.85em; color: #555; }
  .legend span { margin-right: 1.5em; }
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="legend"><span>boxes: network namespaces and their interfaces</span><span>solid black: veth pair</span><span>dashed: bridge port</span><span style="color:#1f6fd1">blue: published port (DNAT)</span><span style="color:#2e7d32">green: masquerade</span></p>
<div class="graph">
${inline}
</div>
</body>
</html>
`;
}

/** `netplumb graph`. */
export const graphCommand: Command = {
  name: 'graph',
  summary: 'Draw the namespaces, veths, bridges, published ports and NAT paths there are (SVG, DOT or HTML)',
  usage: '[OPTIONS]',
  details: `Reads everything from the kernel: every reachable namespace (named, or with a process in it;
namespaces of processes are left out unless joined to this host by veths, or --all) with its interfaces and
addresses, veth pairs across namespaces, bridge ports, vxlan peers, and netplumb's networks'
published ports (host ip:port -> container ip:port) and masquerade paths.`,
  options: {
    network: { type: 'string', value: 'NETWORK', description: 'only this network: the host and its endpoints\' namespaces' },
    all: { type: 'boolean', description: 'every namespace with more than loopback, also those not joined to this host' },
    format: { type: 'string', short: 'f', value: 'svg|dot|html', description: 'output format (default svg)' },
    output: { type: 'string', short: 'o', value: 'FILE', description: 'write to FILE instead of stdout' },
    title: { type: 'string', value: 'TEXT', description: 'title of the picture (default: netplumb on HOSTNAME)' },
  },
  args: [0, 0],
  async run(inv) {
    const format = str(inv.options, 'format') ?? 'svg';
    if (format !== 'svg' && format !== 'dot' && format !== 'html') throw new ValidationError('format', `${JSON.stringify(format)} is not svg, dot or html`);
    const network = str(inv.options, 'network');
    const title = str(inv.options, 'title') ?? `netplumb on ${hostname()}${network !== undefined ? `: network ${network}` : ''}`;
    const topo = await readTopology({ ...(network !== undefined ? { network } : {}), all: flag(inv.options, 'all') });
    if (inv.json) {
      inv.out(`${JSON.stringify(topo, null, 2)}\n`);
      return EXIT.OK;
    }
    const dot = toDot(topo, title);
    let text = dot;
    if (format !== 'dot') {
      const svg = await renderSvg(dot);
      text = format === 'svg' ? svg : htmlPage(svg, title);
    }
    const file = str(inv.options, 'output');
    if (file !== undefined) writeFileSync(file, text);
    else inv.out(text);
    return EXIT.OK;
  },
};
