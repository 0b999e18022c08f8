#!/usr/bin/env node
// Reproduction (not a test): the first IPv6 connection through a published port right
// after create() + connect() needs a SYN retransmission — with a 2 s connect timeout it
// fails nearly every time, on main as on this branch; test/network-ipv6-nodad.test.js
// passes because its 3 s timeout outlasts the retransmissions.
//
//   npm run build:ts && node test/sandbox.js node test/repro/ipv6-first-syn-ack.js [waitMs]
//
// What is known (issue 14 work, branch drivers): the container's address is nodad and not
// tentative; `addrgenmode none` on the container or on the bridge does not change it;
// multicast snooping off does not; ip_forward/forwarding set long before does not. Waiting
// ~1.5 s after connect(), or ~2.5 s between create() and connect(), makes it pass. nft
// traces show the first SYN reach the container and its SYN-ACK leave the host's
// postrouting translated (2001:db8:1::128:8080 → outside), but the outside's netdev
// ingress never sees it, nor the host's neighbour solicitation for the outside sent then:
// the host's first egress packets on the uplink are lost for a moment.
import { execFileSync } from 'node:child_process';
import { BridgeNetwork, Netns } from '../../dist/index.js';

const wait = Number(process.argv[2] ?? 0);
const ip = (ns, ...a) => execFileSync('ip', ['-n', ns, ...a], { encoding: 'utf8' });
const host = await Netns.create('repro-h');
const out = await Netns.create('repro-o');
ip('repro-h', 'link', 'set', 'lo', 'up');
ip('repro-o', 'link', 'set', 'lo', 'up');
ip('repro-h', 'link', 'add', 'uplink', 'type', 'veth', 'peer', 'name', 'wan', 'netns', 'repro-o');
ip('repro-h', 'addr', 'add', '2001:db8:1::128/64', 'dev', 'uplink', 'nodad');
ip('repro-o', 'addr', 'add', '2001:db8:1::1/64', 'dev', 'wan', 'nodad');
ip('repro-h', 'link', 'set', 'uplink', 'up');
ip('repro-o', 'link', 'set', 'wan', 'up');
const net = await BridgeNetwork.create({ netns: host, name: 'repro', subnet: '172.29.3.0/24', subnet6: 'fd00:2a::/64' });
const c = await Netns.create('repro-c');
const ep = await net.connect(c, { publish: [{ hostPort: 8080, containerPort: 80 }] });
const server = await c.listen({ port: 80, host: '::' }, (s) => s.end(`${s.remoteAddress}\n`));
if (wait) await new Promise((r) => setTimeout(r, wait));
const t0 = Date.now();
const result = await out
  .connect(8080, '2001:db8:1::128', { timeout: 2000 })
  .then((s) => new Promise((resolve) => {
    let t = '';
    s.on('data', (d) => (t += d));
    s.on('end', () => { s.destroy(); resolve(t.trim()); });
    s.on('error', (e) => resolve(`failed: ${e.message}`));
    setTimeout(() => resolve(`connected, no answer after 2 s: ${t}`), 2000).unref();
  }))
  .catch((e) => `failed: ${e.message}`);
console.log(`first IPv6 connection ${wait ? `${wait} ms ` : 'right '}after connect(): ${result} (${Date.now() - t0} ms)`);
server.close();
await ep.remove();
await net.remove();
for (const ns of [c, host, out]) await ns.delete();
