// `netplumb graph`: the picture of a lab built with the CLI (the walkthroughs' Docker host
// with two networks, published ports and an outside host), checked against the kernel
// (`ip -j`), as DOT and SVG text, and as an HTML page opened in a real headless Chromium
// (its DOM and a screenshot).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { cliHost, ipn } from './cli-helpers.js';
import { ptest, sh } from './helpers.js';

const HOST = '203.0.113.128';
const OUTSIDE = '203.0.113.1';

/** The walkthrough lab, built with the CLI on a host of the test's own. */
async function buildLab(t) {
  const { host, cli, name } = cliHost(t);
  const ns = { outside: name('out'), c1: name('c1'), web: name('web'), u1: name('u1'), both: name('both'), none: name('none') };
  sh('ip', ['netns', 'add', ns.outside]);
  sh('ip', ['-n', host, 'link', 'add', 'ens160', 'type', 'veth', 'peer', 'name', 'wan', 'netns', ns.outside]);
  sh('ip', ['-n', host, 'addr', 'add', `${HOST}/24`, 'dev', 'ens160']);
  sh('ip', ['-n', host, 'link', 'set', 'ens160', 'up']);
  sh('ip', ['-n', host, 'route', 'add', 'default', 'via', OUTSIDE]);
  sh('ip', ['-n', ns.outside, 'addr', 'add', `${OUTSIDE}/24`, 'dev', 'wan']);
  sh('ip', ['-n', ns.outside, 'link', 'set', 'wan', 'up']);
  const ok = async (...args) => {
    const r = await cli(...args);
    t.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  await ok('ns', 'create', ns.c1, ns.web, ns.u1, ns.both, ns.none);
  await ok('network', 'create', '--subnet', '172.17.0.0/16', '--bridge', 'docker0', 'bridge');
  await ok('network', 'create', '--subnet', '172.18.0.0/16', '--subnet', 'fd00:18::/64', '--bridge', 'br-user', 'user');
  await ok('network', 'connect', 'bridge', ns.c1);
  await ok('network', 'connect', '-p', '8080:80', '-p', `${HOST}:5353:53/udp`, 'bridge', ns.web);
  await ok('network', 'connect', 'user', ns.u1);
  await ok('network', 'connect', 'bridge', ns.both);
  await ok('network', 'connect', 'user', ns.both);
  return { host, cli, ns };
}

const inode = (name) => statSync(`/run/netns/${name}`).ino;
const ifId = (nsName, index) => `if_${inode(nsName)}_${index}`;

/** The text of every <text> element of an SVG or HTML document, entities decoded. */
function svgTexts(doc) {
  const out = [];
  for (const m of doc.matchAll(/<text\b[^>]*>([\s\S]*?)<\/text>/g)) {
    out.push(m[1].replace(/<[^>]+>/g, '').replace(/&gt;/g, '>').replace(/&lt;/g, '<').replace(/&quot;/g, '"').replace(/&#45;/g, '-').replace(/&#160;/g, ' ').replace(/&amp;/g, '&').trim());
  }
  return out;
}

/** Decodes a PNG's pixels (8-bit RGB/RGBA, non-interlaced) and counts its distinct colours. */
function pngColours(file) {
  const buf = readFileSync(file);
  if (buf.subarray(1, 4).toString() !== 'PNG') throw new Error('not a PNG');
  let off = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.subarray(off + 4, off + 8).toString();
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      if (data[8] !== 8 || data[12] !== 0) throw new Error('only 8-bit non-interlaced PNGs');
      channels = { 2: 3, 6: 4 }[data[9]];
    }
    if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const prev = Buffer.alloc(stride);
  const colours = new Set();
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = Buffer.from(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? line[i - channels] : 0;
      const b = prev[i];
      const c = i >= channels ? prev[i - channels] : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const add = [0, a, b, (a + b) >> 1, paeth][filter];
      line[i] = (line[i] + add) & 0xff;
    }
    line.copy(prev);
    for (let x = 0; x < width; x += 3) colours.add(line.readUIntBE(x * channels, 3));
  }
  return { width, height, colours: colours.size };
}

function chromium(args) {
  return execFileSync('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
    maxBuffer: 64 << 20,
  });
}

ptest('graph --json: namespaces, interfaces, veth pairs, ports and NAT paths as the kernel has them', async (t) => {
  const { host, cli, ns } = await buildLab(t);
  const r = await cli('graph', '--json');
  t.is(r.code, 0, r.stderr);
  const topo = JSON.parse(r.stdout);
  const labels = topo.namespaces.map((n) => n.label);
  for (const n of Object.values(ns)) t.true(labels.includes(n), n);
  t.true(topo.namespaces.some((n) => n.host && n.inode === inode(host)));

  // Every container's eth0/eth1 is paired with the host veth whose ifindex `ip -j` names, and that veth is on the right bridge.
  const pairs = new Set(topo.veths.map(([a, b]) => [a, b].sort().join('|')));
  const bridges = Object.fromEntries(ipn(host, 'link', 'show', 'type', 'bridge').map((l) => [l.ifname, l.ifindex]));
  for (const [c, ifs] of [[ns.c1, ['eth0']], [ns.web, ['eth0']], [ns.u1, ['eth0']], [ns.both, ['eth0', 'eth1']]]) {
    for (const ifname of ifs) {
      const [inner] = ipn(c, 'link', 'show', ifname);
      t.true(pairs.has([ifId(c, inner.ifindex), ifId(host, inner.link_index)].sort().join('|')), `${c} ${ifname}`);
      const hostSide = topo.namespaces.find((n) => n.host).interfaces.find((i) => i.index === inner.link_index);
      t.true(hostSide.master === bridges.docker0 || hostSide.master === bridges['br-user']);
      const shown = topo.namespaces.find((n) => n.label === c).interfaces.find((i) => i.name === ifname);
      const kernelAddrs = ipn(c, 'addr', 'show', ifname)[0].addr_info.filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`);
      t.deepEqual([...shown.addresses].sort(), kernelAddrs.sort());
    }
  }
  // The uplink pair to the outside host, and the outside's address.
  const [wan] = ipn(ns.outside, 'link', 'show', 'wan');
  t.true(pairs.has([ifId(ns.outside, wan.ifindex), ifId(host, wan.link_index)].sort().join('|')));
  // --network none: only loopback.
  t.deepEqual(topo.namespaces.find((n) => n.label === ns.none).interfaces.map((i) => i.name), ['lo']);

  // Published ports: host ip:port -> container ip:port, to web's eth0.
  const [webEth0] = ipn(ns.web, 'link', 'show', 'eth0');
  t.deepEqual(
    topo.ports.map((p) => `${p.hostIp}:${p.hostPort}/${p.protocol} -> ${p.targetIp}:${p.containerPort} ${p.target}`).sort(),
    [`0.0.0.0:8080/tcp -> 172.17.0.3:80 ${ifId(ns.web, webEth0.ifindex)}`, `${HOST}:5353/udp -> 172.17.0.3:53 ${ifId(ns.web, webEth0.ifindex)}`],
  );
  // Masquerade: each network's subnet leaves through the interface of the default route.
  const [ens160] = ipn(host, 'link', 'show', 'ens160');
  t.deepEqual(
    topo.nat.map((n) => `${n.network} ${n.subnet} ${n.from} -> ${n.to.join()}`).sort(),
    [
      `bridge 172.17.0.0/16 ${ifId(host, bridges.docker0)} -> ${ifId(host, ens160.ifindex)}`,
      `user 172.18.0.0/16, fd00:18::/64 ${ifId(host, bridges['br-user'])} -> ${ifId(host, ens160.ifindex)}`,
    ],
  );

  // An overlay: a vxlan on the host with a remote VTEP in its FDB (as a control plane would add it).
  sh('ip', ['-n', host, 'link', 'add', 'vx42', 'type', 'vxlan', 'id', '42', 'dstport', '4789', 'local', HOST]);
  sh('bridge', ['-n', host, 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vx42', 'dst', '198.51.100.7']);
  const withOverlay = JSON.parse((await cli('graph', '--json')).stdout);
  const [vx] = ipn(host, 'link', 'show', 'vx42');
  t.deepEqual(withOverlay.peers.map((p) => `${p.address} ${p.via} ${p.vni}`), [`198.51.100.7 ${ifId(host, vx.ifindex)} 42`]);
  t.true((await cli('graph', '--format', 'dot')).stdout.includes('vxlan peer\\n198.51.100.7'));

  // --network user: the host and user's namespaces only.
  const only = JSON.parse((await cli('graph', '--json', '--network', 'user')).stdout);
  t.deepEqual(only.namespaces.map((n) => n.label).sort(), ['host', ns.both, ns.u1].sort());
  t.deepEqual(only.ports, []);
});

ptest('graph as DOT and SVG: a cluster per namespace, every port and NAT path labelled', async (t) => {
  const { host, cli, ns } = await buildLab(t);
  const dot = (await cli('graph', '--format', 'dot')).stdout;
  t.regex(dot, /^digraph "netplumb on /);
  for (const n of [host, ...Object.values(ns)]) t.true(dot.includes(`subgraph cluster_ns_${inode(n)} {`), n);
  t.true(dot.includes('MASQUERADE 172.17.0.0/16'));

  const dir = mkdtempSync(join(tmpdir(), 'npgraph-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const r = await cli('graph', '-o', join(dir, 'lab.svg'), '--title', 'lab');
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, '');
  const svg = readFileSync(join(dir, 'lab.svg'), 'utf8');
  t.regex(svg, /<svg\b/);
  const texts = svgTexts(svg);
  for (const n of Object.values(ns)) t.true(texts.some((x) => x === `${n} (netns ${inode(n)})`), n);
  t.true(texts.some((x) => x.startsWith('host (netns')));
  for (const x of ['published 0.0.0.0:8080/tcp', `published ${HOST}:5353/udp`, 'DNAT -> 172.17.0.3:80/tcp', 'DNAT -> 172.17.0.3:53/udp', 'MASQUERADE 172.17.0.0/16', 'docker0', 'br-user', '172.17.0.1/16', 'fd00:18::1/64', `${OUTSIDE}/24`]) {
    t.true(texts.includes(x), x);
  }
});

ptest('graph --format html opens in headless Chromium and shows every namespace and port it was given', async (t) => {
  const { cli, ns } = await buildLab(t);
  const dir = mkdtempSync(join(tmpdir(), 'npgraph-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const page = join(dir, 'lab.html');
  const r = await cli('graph', '--format', 'html', '-o', page);
  t.is(r.code, 0, r.stderr);
  const html = readFileSync(page, 'utf8');
  // Self-contained: no scripts, nothing fetched.
  t.false(/<script\b|\bsrc=|<link\b/i.test(html));

  // The DOM as Chromium built it holds the SVG with every namespace and published port.
  const dom = chromium([`--user-data-dir=${join(dir, 'profile')}`, '--dump-dom', `file://${page}`]);
  t.regex(dom, /<svg\b/);
  const texts = svgTexts(dom);
  for (const n of Object.values(ns)) t.true(texts.some((x) => x.startsWith(`${n} (netns`)), n);
  for (const x of ['published 0.0.0.0:8080/tcp', `published ${HOST}:5353/udp`, 'DNAT -> 172.17.0.3:80/tcp', 'DNAT -> 172.17.0.3:53/udp']) t.true(texts.includes(x), x);

  // And a screenshot that is not blank.
  const png = join(dir, 'lab.png');
  chromium([`--user-data-dir=${join(dir, 'profile')}`, '--hide-scrollbars', '--window-size=1600,1200', `--screenshot=${png}`, `file://${page}`]);
  const img = pngColours(png);
  t.is(img.width, 1600);
  t.is(img.height, 1200);
  t.true(img.colours > 20, `${img.colours} colours`);
});
