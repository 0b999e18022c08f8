/**
 * CLI: a {@link Topology} as a Graphviz DOT graph — one cluster per namespace holding its
 * interfaces, veth pairs and bridge ports as edges, published ports as DNAT edges from
 * the host address to the container's, masquerade as an edge from the bridge to the
 * uplinks. Graphviz does the layout (dot, left to right).
 * @module
 */
import { type TopoInterface, type Topology, namespaceTitle } from './topology.js';

/** A DOT double-quoted string. */
function q(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

function attrs(a: Record<string, string | number | undefined>): string {
  const parts = Object.entries(a)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? v : q(v as string)}`);
  return parts.length ? ` [${parts.join(', ')}]` : '';
}

const KIND_COLOR: Record<string, string> = { bridge: '#fde7c8', veth: '#ffffff', device: '#e3f2e1', vxlan: '#f3e0f7', tun: '#eeeeee' };

function interfaceNode(i: TopoInterface, network?: string): string {
  const lines = [`${i.name}${i.up ? '' : ' (down)'}`, i.note ?? i.kind, ...i.addresses];
  if (i.mac && i.kind !== 'bridge') lines.push(i.mac);
  return `    ${i.id}${attrs({
    label: lines.join('\n'),
    fillcolor: KIND_COLOR[i.kind] ?? '#ffffff',
    penwidth: network ? 2 : undefined,
    tooltip: `${i.kind} ${i.name} (ifindex ${i.index})`,
  })};`;
}

function hostAddr(ip: string, port: number, proto: string): string {
  return `${ip.includes(':') ? `[${ip}]` : ip}:${port}/${proto}`;
}

/** The DOT source of the picture. */
export function toDot(t: Topology, title = 'netplumb'): string {
  const out: string[] = [
    `digraph ${q(title)} {`,
    `  graph${attrs({ rankdir: 'LR', fontname: 'Helvetica', fontsize: 12, nodesep: 0.25, ranksep: 0.9, label: title, labelloc: 't', newrank: 'true' })};`,
    `  node${attrs({ shape: 'box', style: 'rounded,filled', fontname: 'Helvetica', fontsize: 10, fillcolor: '#ffffff' })};`,
    `  edge${attrs({ fontname: 'Helvetica', fontsize: 9 })};`,
  ];
  const byId = new Map<string, TopoInterface>();
  for (const n of t.namespaces) for (const i of n.interfaces) byId.set(i.id, i);
  for (const n of t.namespaces) {
    out.push(`  subgraph cluster_${n.id} {`);
    out.push(`    graph${attrs({ label: namespaceTitle(n), style: 'rounded,filled', fillcolor: n.host ? '#e8eef8' : '#f4f4f4', color: n.host ? '#5577aa' : '#999999' })};`);
    for (const i of n.interfaces) out.push(interfaceNode(i, t.networks[i.id]));
    if (n.host) {
      for (const p of t.ports) {
        out.push(`    ${p.id}${attrs({ label: `published ${hostAddr(p.hostIp, p.hostPort, p.protocol)}`, shape: 'cds', fillcolor: '#d8ecff', tooltip: `network ${p.network}` })};`);
      }
    }
    out.push('  }');
  }
  for (const p of t.peers) out.push(`  ${p.id}${attrs({ label: `vxlan peer\n${p.address}`, shape: 'ellipse', fillcolor: '#f3e0f7' })};`);
  if (t.nat.some((n) => n.to.length === 0)) out.push(`  uplink_any${attrs({ label: 'any other interface', shape: 'plaintext', style: '' })};`);

  // Left to right: containers, their veths' host ends, bridges, uplinks, the outside.
  const hostIfs = new Set(t.namespaces.filter((n) => n.host).flatMap((n) => n.interfaces.map((i) => i.id)));
  for (const [a, b] of t.veths) {
    const aPort = byId.get(a)?.master !== undefined;
    const bPort = byId.get(b)?.master !== undefined;
    const [tail, head] = aPort && !bPort ? [b, a] : bPort && !aPort ? [a, b] : hostIfs.has(b) && !hostIfs.has(a) ? [b, a] : [a, b];
    out.push(`  ${tail} -> ${head}${attrs({ dir: 'none', penwidth: 2, color: '#444444', label: 'veth' })};`);
  }
  for (const i of byId.values()) {
    if (i.master === undefined) continue;
    const master = byId.get(i.id.replace(/_\d+$/, `_${i.master}`));
    if (master) out.push(`  ${i.id} -> ${master.id}${attrs({ dir: 'none', style: 'dashed', color: '#aa7733', label: 'port' })};`);
  }
  for (const p of t.ports) {
    if (p.target) out.push(`  ${p.id} -> ${p.target}${attrs({ color: '#1f6fd1', fontcolor: '#1f6fd1', label: `DNAT -> ${hostAddr(p.targetIp, p.containerPort, p.protocol)}`, constraint: 'false' })};`);
  }
  for (const n of t.nat) {
    for (const to of n.to.length ? n.to : ['uplink_any']) {
      out.push(`  ${n.from} -> ${to}${attrs({ color: '#2e7d32', fontcolor: '#2e7d32', style: 'bold', label: `MASQUERADE ${n.subnet}` })};`);
    }
  }
  // Ranks: every container's interface in the first column, published ports beside their bridge.
  const containerIfs = new Set<string>();
  for (const [a, b] of t.veths) {
    if (byId.get(a)?.master !== undefined && hostIfs.has(a) && !hostIfs.has(b)) containerIfs.add(b);
    if (byId.get(b)?.master !== undefined && hostIfs.has(b) && !hostIfs.has(a)) containerIfs.add(a);
  }
  const paired = new Set(t.veths.flat());
  for (const n of t.namespaces) if (!n.host && n.interfaces.every((i) => !paired.has(i.id))) for (const i of n.interfaces) containerIfs.add(i.id);
  if (containerIfs.size) out.push(`  { rank=min; ${[...containerIfs].join('; ')}; }`);
  const bridgeOf = new Map(Object.entries(t.networks).map(([id, name]) => [name, id]));
  for (const p of t.ports) {
    const bridge = bridgeOf.get(p.network);
    if (bridge && byId.has(bridge)) out.push(`  { rank=same; ${p.id}; ${bridge}; }`);
  }
  for (const p of t.peers) out.push(`  ${p.via} -> ${p.id}${attrs({ dir: 'none', style: 'dotted', color: '#8e44ad', label: p.vni !== undefined ? `vni ${p.vni}` : undefined })};`);
  out.push('}');
  return `${out.join('\n')}\n`;
}
