#!/usr/bin/env node
// Name resolution on a user-defined network, as `docker network create mynet` gives it:
// containers find each other by name at 127.0.0.11 — asked here with glibc's own
// `getent hosts` inside the containers — while other names go to the host's nameservers
// (a stand-in upstream on an "outside" host). Names come from the kernel: the name each
// endpoint was connected with, so a container connected by any process is found at once.
//
//   node test/sandbox.js node benchmarks/demo-dns.js    (as root; a throwaway sandbox)
import * as dnsPacket from 'dns-packet';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BridgeNetwork, DnsResolver, Netns, RtnlBatch, containerResolvConf, endpointRecords } from '../dist/index.js';

if (process.env.NETPLUMB_SANDBOX !== '1') {
  console.error('demo-dns: run it with `node test/sandbox.js node benchmarks/demo-dns.js` (as root)');
  process.exit(1);
}
const run = promisify(execFile);
const say = (s = '') => console.log(s);

// The host (this sandbox) and an outside host with a nameserver for example.test.
const host = await Netns.current();
const outside = await Netns.create('outside');
const uplink = await host.links.add({ kind: 'veth', name: 'uplink', up: true, peer: { name: 'wan', netns: outside } });
const wan = (await outside.links.get('wan')).index;
await new RtnlBatch(host).linkSet(1, { up: true }).addressAdd({ link: uplink.index, address: '198.51.100.1/24' }).commit();
await new RtnlBatch(outside).linkSet(1, { up: true }).linkSet(wan, { up: true }).addressAdd({ link: wan, address: '198.51.100.53/24' }).commit();
const upstream = await outside.udpSocket({ host: '198.51.100.53', port: 53 });
upstream.on('message', (m, r) => {
  const q = dnsPacket.decode(m);
  const known = q.questions[0].name === 'example.test' && q.questions[0].type === 'A';
  const answers = known ? [{ type: 'A', name: 'example.test', ttl: 60, data: '203.0.113.7' }] : [];
  upstream.send(dnsPacket.encode({ type: 'response', id: q.id, flags: known ? 0 : 3, questions: q.questions, answers }), r.port, r.address);
});
const dir = mkdtempSync(join(tmpdir(), 'demo-dns-'));
const hostResolvConf = join(dir, 'host-resolv.conf');
writeFileSync(hostResolvConf, 'nameserver 198.51.100.53\nsearch corp.test\n');

// docker network create mynet; docker run --name web / --name db --network mynet
const mynet = await BridgeNetwork.create({ netns: host, name: 'mynet', bridge: 'br-mynet', subnet: '172.18.0.0/16', subnet6: 'fd00:18::/64' });
const other = await BridgeNetwork.create({ netns: host, name: 'other', bridge: 'br-other', subnet: '172.20.0.0/16' });
const dns = new DnsResolver({
  records: endpointRecords({ netns: host }),
  netns: host,
  resolvConf: hostResolvConf,
});
const containers = {};
for (const [name, net] of [['web', mynet], ['db', mynet], ['lonely', other]]) {
  const ns = await Netns.create(name);
  await new RtnlBatch(ns).linkSet(1, { up: true }).commit();
  await net.connect(ns, { owner: `${name}/eth0`, name });
  await dns.attach(ns, net.name);
  containers[name] = ns;
}
const resolvConf = join(dir, 'resolv.conf');
writeFileSync(resolvConf, await containerResolvConf({ hostResolvConf }));
say('== /etc/resolv.conf of every container (containerResolvConf()) =====================');
say((await run('cat', [resolvConf])).stdout.trimEnd());
say('\n== nft list table ip netplumb_dns, inside web ==========================================');
say((await run('ip', ['netns', 'exec', 'web', 'nft', 'list', 'table', 'ip', 'netplumb_dns'])).stdout.trimEnd());

/** `getent hosts NAME` inside a container, with its resolv.conf. */
async function getent(container, ...args) {
  try {
    const { stdout } = await run('ip', ['netns', 'exec', container, 'sh', '-c', 'mount --bind "$0" /etc/resolv.conf && exec getent "$@"', resolvConf, ...args]);
    return stdout.trim().replace(/\s+/g, ' ');
  } catch {
    return '(not found)';
  }
}
say('\n== getent inside the containers ===========================================================');
for (const [c, args] of [
  ['web', ['hosts', 'db']],
  ['web', ['ahostsv6', 'db']],
  ['db', ['hosts', 'web']],
  ['web', ['hosts', (await mynet.endpoints({ owner: 'db/eth0' }))[0].ipv4]],
  ['web', ['hosts', 'example.test']],
  ['web', ['hosts', 'lonely']],
  ['lonely', ['hosts', 'db']],
]) {
  say(`${c.padEnd(7)} getent ${args.join(' ').padEnd(22)} → ${await getent(c, ...args)}`);
}

await dns.close();
await mynet.remove({ force: true });
await other.remove({ force: true });
for (const ns of Object.values(containers)) await ns.delete();
upstream.close();
await outside.delete();
host.close();
rmSync(dir, { recursive: true, force: true });
