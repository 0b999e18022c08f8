// Conformance of netplumb-cni with the CNI spec, run as a runtime runs it: a new process
// per call, CNI_* in the environment, the configuration on stdin, the result or the error
// JSON on stdout. Every verb and error code; version negotiation; prevResult through a
// chain with a recording plugin; DEL twice and after the namespace is gone; GC with a
// partial list; 32 concurrent ADDs and DELs. Judged by the kernel (`ip -j`, `nft -j`).
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ip, ipJson, ipNetns, nftJson, ptest, sh, uniqueName } from './helpers.js';
import { PLUGIN, addresses, bridgeConf, bridgePorts, cniEnv, endpointElements, publishedPorts, runChain, runPlugin } from './cni-lib.js';

/** Every call is a new Node process; on a loaded 2-core machine 32 at once take minutes. */
const TEST_TIMEOUT = 10 * 60_000;

let subnetCounter = 0;
/** A network of its own for each test: a unique name and subnet (10.200.N.0/24). */
function freshNetwork(t, extra = {}) {
  subnetCounter++;
  const name = `cni${process.pid % 1000}n${subnetCounter}`;
  const conf = bridgeConf(name, `10.200.${subnetCounter}.0/24`, extra);
  t.teardown(async () => {
    // The network outlives its containers, as the reference bridge plugin's bridge does.
    const { BridgeNetwork } = await import('../dist/index.js');
    const net = await BridgeNetwork.open(name).catch((e) => {
      if (e.code !== 'ENOENT') throw e;
    });
    await net?.remove({ force: true });
  });
  return conf;
}

function add(conf, ns, { containerId = uniqueName('ctr'), ifname = 'eth0', args } = {}) {
  return runPlugin(cniEnv('ADD', { containerId, netns: `/run/netns/${ns}`, ifname, args }), conf).then((r) => ({ ...r, containerId }));
}

function del(conf, ns, containerId, ifname = 'eth0') {
  return runPlugin(cniEnv('DEL', { containerId, netns: ns ? `/run/netns/${ns}` : undefined, ifname }), conf);
}

/** The spec's error result: non-zero exit, the error JSON alone on stdout. */
function assertError(t, r, code, cniVersion) {
  t.not(r.code, 0, `exit code (stdout ${r.stdout})`);
  t.is(r.json?.code, code, `error code in ${r.stdout} (stderr ${r.stderr})`);
  t.is(typeof r.json?.msg, 'string');
  t.is(r.json?.cniVersion, cniVersion);
  t.is(r.stdout.trim().split('\n').length, 1, 'stdout holds only the error JSON');
}

/** Nothing of the network's endpoints is left: no bridge port, no reservation or published port. */
function assertNothingLeft(t, conf) {
  t.deepEqual(bridgePorts(conf.bridge), [], 'no veth left on the bridge');
  t.deepEqual(endpointElements(conf.name), [], 'no endpoint element left in inet netplumb');
}

ptest.serial('VERSION reports 0.4.0, 1.0.0 and 1.1.0 without needing any other variable', async (t) => {
  t.timeout(TEST_TIMEOUT);
  const r = await runPlugin({ CNI_COMMAND: 'VERSION' }, { cniVersion: '1.0.0' });
  t.is(r.code, 0);
  t.deepEqual(r.json.supportedVersions, ['0.4.0', '1.0.0', '1.1.0']);
  t.is(r.json.cniVersion, '1.1.0');
  t.is(r.stderr, '');
});

ptest.serial('ADD: the result matches the kernel, shaped for each cniVersion; DEL removes it', async (t) => {
  t.timeout(TEST_TIMEOUT);
  for (const cniVersion of ['0.4.0', '1.0.0', '1.1.0']) {
    const conf = freshNetwork(t, { cniVersion, mtu: 1400 });
    const ns = ipNetns(t);
    const r = await add(conf, ns);
    t.is(r.code, 0, r.stderr);
    const res = r.json;
    t.is(res.cniVersion, cniVersion);
    t.deepEqual(res.interfaces.map((i) => i.name).slice(0, 1), [conf.bridge]);
    const [bridge, host, inner] = res.interfaces;
    t.is(inner.name, 'eth0');
    t.is(inner.sandbox, `/run/netns/${ns}`);
    t.is(res.ips.length, 1);
    const ip4 = res.ips[0];
    t.is(ip4.interface, 2);
    t.is(ip4.gateway, conf.ipam.ranges[0][0].subnet.replace(/0\/24$/, '1'));
    if (cniVersion === '0.4.0') t.is(ip4.version, '4');
    else t.false('version' in ip4);
    if (cniVersion === '1.1.0') t.is(inner.mtu, 1400);
    else t.false('mtu' in inner);
    t.deepEqual(res.routes, [{ dst: '0.0.0.0/0', gw: ip4.gateway }]);
    // The kernel: the address, MAC, MTU, default route inside; the host veth on the bridge.
    t.deepEqual(addresses(ns), [ip4.address]);
    const link = ipJson(ns, 'link', 'show', 'eth0')[0];
    t.is(link.address, inner.mac);
    t.is(link.mtu, 1400);
    t.true(ipJson(ns, 'route', 'show', 'default').some((rt) => rt.gateway === ip4.gateway));
    t.deepEqual(bridgePorts(bridge.name), [host.name]);
    t.is(ipJson(undefined, 'link', 'show', host.name)[0].address, host.mac);
    const d = await del(conf, ns, r.containerId);
    t.is(d.code, 0, d.stderr);
    t.is(d.stdout, '');
    assertNothingLeft(t, conf);
    t.deepEqual(ipJson(ns, 'link', 'show', 'type', 'veth'), []);
  }
});

ptest.serial('every error code: 1, 2, 3, 4, 6, 7, 11, 50, 101, 102, 103, 104 — and a failed ADD leaves nothing', async (t) => {
  t.timeout(TEST_TIMEOUT);
  const conf = freshNetwork(t);
  const ns = ipNetns(t);
  // 4: bad environment.
  assertError(t, await runPlugin({}, conf), 4, '1.0.0');
  assertError(t, await runPlugin({ CNI_COMMAND: 'FROB' }, conf), 4, '1.0.0');
  assertError(t, await runPlugin(cniEnv('ADD', { containerId: 'c1', ifname: 'eth0' }), conf), 4, '1.0.0'); // no CNI_NETNS
  assertError(t, await runPlugin(cniEnv('ADD', { containerId: 'bad id', netns: `/run/netns/${ns}` }), conf), 4, '1.0.0');
  assertError(t, await runPlugin(cniEnv('ADD', { containerId: 'c1', netns: `/run/netns/${ns}`, ifname: 'a/b' }), conf), 4, '1.0.0');
  assertError(t, await runPlugin(cniEnv('ADD', { containerId: 'c1', netns: '/etc/hostname' }), conf), 4, '1.0.0');
  // 6: not JSON.
  assertError(t, await runPlugin(cniEnv('ADD', { containerId: 'c1', netns: `/run/netns/${ns}` }), '{"cniVersion":'), 6, '1.1.0');
  // 1: versions this plugin does not speak; verbs the version does not have.
  assertError(t, await add({ ...conf, cniVersion: '0.3.1' }, ns), 1, '0.3.1');
  assertError(t, await add({ ...conf, cniVersion: '2.0.0' }, ns), 1, '2.0.0');
  assertError(t, await runPlugin({ CNI_COMMAND: 'GC' }, { ...conf, cniVersion: '1.0.0' }), 1, '1.0.0');
  // 7: invalid configuration.
  assertError(t, await add({ ...conf, ipam: { ranges: [[{ subnet: '10.200.0.0/33' }]] } }, ns), 7, '1.0.0');
  assertError(t, await add({ ...conf, ipam: undefined }, ns), 7, '1.0.0');
  assertError(t, await add({ ...conf, mtu: 20 }, ns), 7, '1.0.0');
  assertError(t, await add({ ...conf, name: 'no spaces allowed' }, ns), 7, '1.0.0');
  // 2: fields netplumb does not do.
  assertError(t, await add({ ...conf, ipam: { type: 'dhcp' } }, ns), 2, '1.0.0');
  // 3: CHECK of an attachment the plugin does not know.
  const first = await add(conf, ns, { containerId: 'known' });
  t.is(first.code, 0, first.stderr);
  const other = ipNetns(t);
  assertError(t, await runPlugin(cniEnv('CHECK', { containerId: 'unknown', netns: `/run/netns/${other}` }), { ...conf, prevResult: first.json }), 3, '1.0.0');
  // 103: the interface name exists in the namespace already.
  const again = await add(conf, ns, { containerId: 'known2' });
  assertError(t, again, 103, '1.0.0');
  // 101: a host port already published (by another container).
  const pm = { runtimeConfig: { portMappings: [{ hostPort: 18080, containerPort: 80, protocol: 'tcp', hostIP: '' }] } };
  const ns2 = ipNetns(t);
  const ns3 = ipNetns(t);
  t.is((await add({ ...conf, ...pm }, ns2)).code, 0);
  const before = endpointElements(conf.name).length;
  const portsBefore = bridgePorts(conf.bridge).sort();
  assertError(t, await add({ ...conf, ...pm }, ns3), 101, '1.0.0');
  // 102: an address another container holds (the ips capability and CNI_ARGS IP=).
  const taken = first.json.ips[0].address.split('/')[0];
  assertError(t, await add({ ...conf, runtimeConfig: { ips: [taken] } }, ns3), 102, '1.0.0');
  assertError(t, await add(conf, ns3, { args: `IgnoreUnknown=1;IP=${taken}` }), 102, '1.0.0');
  // The failed ADDs left nothing: same elements, same bridge ports, nothing in the namespace.
  t.is(endpointElements(conf.name).length, before);
  t.deepEqual(bridgePorts(conf.bridge).sort(), portsBefore);
  t.deepEqual(ipJson(ns3, 'link', 'show', 'type', 'veth'), []);
  // 104: CHECK finds the kernel differs from prevResult.
  const env = cniEnv('CHECK', { containerId: 'known', netns: `/run/netns/${ns}` });
  t.is((await runPlugin(env, { ...conf, prevResult: first.json })).code, 0);
  ip(ns, 'addr', 'flush', 'dev', 'eth0');
  const mismatch = await runPlugin(env, { ...conf, prevResult: first.json });
  assertError(t, mismatch, 104, '1.0.0');
  t.regex(mismatch.json.details, new RegExp(`address ${first.json.ips[0].address} is missing`));
  // 11: the bridge name is held by a link that is not a netplumb network: try again later.
  const foreign = uniqueName('fbr');
  ip(undefined, 'link', 'add', foreign, 'type', 'bridge');
  t.teardown(() => ip(undefined, 'link', 'del', foreign));
  const busy = freshNetwork(t, { bridge: foreign });
  assertError(t, await add(busy, ipNetns(t)), 11, '1.0.0');
  t.is(ipJson(undefined, 'link', 'show', foreign).length, 1, 'the foreign bridge is untouched');
  // 50: STATUS with a foreign firewall that appeared after the network and drops its traffic.
  t.is((await runPlugin({ CNI_COMMAND: 'STATUS' }, { ...conf, cniVersion: '1.1.0' })).code, 0);
  const table = uniqueName('fw');
  sh('nft', ['add', 'table', 'ip', table]);
  t.teardown(() => sh('nft', ['delete', 'table', 'ip', table]));
  sh('nft', ['add chain ip', table, 'fwchain { type filter hook forward priority 0 ; policy drop ; }'].join(' ').split(' '));
  const st = await runPlugin({ CNI_COMMAND: 'STATUS' }, { ...conf, cniVersion: '1.1.0' });
  assertError(t, st, 50, '1.1.0');
  t.regex(st.json.details, new RegExp(`ip ${table} fwchain`));
  // A network made while the drop chain exists gets its accept there, and is served.
  const later = freshNetwork(t);
  const l = await add(later, ipNetns(t));
  t.is(l.code, 0, l.stderr);
  t.is((await runPlugin({ CNI_COMMAND: 'STATUS' }, { ...later, cniVersion: '1.1.0' })).code, 0);
  t.is((await del(later, undefined, l.containerId)).code, 0);
});

ptest.serial('prevResult through a chain: a recording plugin after netplumb, and one before it', async (t) => {
  t.timeout(TEST_TIMEOUT);
  const dir = mkdtempSync(join(tmpdir(), 'cni-chain-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const record = join(dir, 'record.jsonl');
  const recorder = join(dir, 'recorder');
  // A plugin that records what it was given and passes prevResult on (or starts a result).
  writeFileSync(
    recorder,
    `#!${process.execPath}
const fs = require('fs');
const input = fs.readFileSync(0, 'utf8');
const conf = input ? JSON.parse(input) : {};
const cmd = process.env.CNI_COMMAND;
fs.appendFileSync(${JSON.stringify(record)}, JSON.stringify({ cmd, containerId: process.env.CNI_CONTAINERID, conf }) + '\\n');
if (cmd === 'VERSION') process.stdout.write(JSON.stringify({ cniVersion: '1.0.0', supportedVersions: ['1.0.0'] }));
if (cmd === 'ADD') process.stdout.write(JSON.stringify(conf.prevResult ? { ...conf.prevResult, cniVersion: conf.cniVersion }
  : { cniVersion: conf.cniVersion, interfaces: [{ name: 'rec0' }], ips: [], routes: [{ dst: '192.0.2.0/24' }], dns: { nameservers: ['192.0.2.53'] } }));
`,
  );
  chmodSync(recorder, 0o755);
  const conf = freshNetwork(t);
  const { cniVersion, name, ...np } = conf;
  const list = { cniVersion, name };
  const ns = ipNetns(t);
  const env = (cmd) => cniEnv(cmd, { containerId: 'chain1', netns: `/run/netns/${ns}` });
  const chain = [[PLUGIN, np], [recorder, { type: 'recorder' }]];

  const added = await runChain('ADD', list, chain, env('ADD'));
  t.true(added.ok, JSON.stringify(added.failed));
  const lines = () => readFileSync(record, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  t.deepEqual(lines()[0].conf.prevResult, added.calls[0].json, 'the recorder got netplumb\'s result as prevResult');
  t.deepEqual(added.result, added.calls[0].json);
  const checked = await runChain('CHECK', list, chain, env('CHECK'), added.result);
  t.true(checked.ok, JSON.stringify(checked.failed));
  t.deepEqual(lines()[1].conf.prevResult, added.result);
  const deleted = await runChain('DEL', list, chain, env('DEL'), added.result);
  t.true(deleted.ok, JSON.stringify(deleted.failed));
  t.is(lines()[2].cmd, 'DEL', 'DEL runs the chain in reverse: the recorder first');
  assertNothingLeft(t, conf);

  // Recorder first: netplumb appends its interfaces after the recorder's and shifts its ips' index.
  const ns2 = ipNetns(t);
  const env2 = (cmd) => cniEnv(cmd, { containerId: 'chain2', netns: `/run/netns/${ns2}` });
  const chain2 = [[recorder, { type: 'recorder' }], [PLUGIN, np]];
  const added2 = await runChain('ADD', list, chain2, env2('ADD'));
  t.true(added2.ok, JSON.stringify(added2.failed));
  const res = added2.result;
  t.deepEqual(res.interfaces.map((i) => i.name).slice(0, 2), ['rec0', conf.bridge]);
  t.is(res.ips[0].interface, 3);
  t.is(res.interfaces[3].name, 'eth0');
  t.deepEqual(res.routes[0], { dst: '192.0.2.0/24' });
  t.deepEqual(res.dns, { nameservers: ['192.0.2.53'] });
  const checked2 = await runChain('CHECK', list, chain2, env2('CHECK'), res);
  t.true(checked2.ok, JSON.stringify(checked2.failed));
  const deleted2 = await runChain('DEL', list, chain2, env2('DEL'), res);
  t.true(deleted2.ok, JSON.stringify(deleted2.failed));
  assertNothingLeft(t, conf);
});

ptest.serial('DEL is idempotent: twice, after the namespace was deleted, for unknown containers and networks; ports go without portMappings', async (t) => {
  t.timeout(TEST_TIMEOUT);
  const conf = freshNetwork(t);
  const pm = { runtimeConfig: { portMappings: [{ hostPort: 18180, containerPort: 80, protocol: 'tcp' }, { hostPort: 18181, containerPort: 53, protocol: 'udp' }] } };
  const ns = ipNetns(t);
  const a = await add({ ...conf, ...pm }, ns);
  t.is(a.code, 0, a.stderr);
  t.deepEqual(publishedPorts(conf.name).sort(), ['tcp/18180', 'udp/18181']);
  // The runtime passes no portMappings on DEL: the ports go all the same (found by their tags).
  t.is((await del(conf, ns, a.containerId)).code, 0);
  t.deepEqual(publishedPorts(conf.name), []);
  t.is((await del(conf, ns, a.containerId)).code, 0, 'DEL twice');
  assertNothingLeft(t, conf);

  // DEL after the container's namespace is gone (and with CNI_NETNS unset).
  const gone = uniqueName('gone');
  sh('ip', ['netns', 'add', gone]);
  const b = await add({ ...conf, ...pm }, gone);
  t.is(b.code, 0, b.stderr);
  sh('ip', ['netns', 'del', gone]);
  const d = await del(conf, undefined, b.containerId);
  t.is(d.code, 0, d.stderr);
  assertNothingLeft(t, conf);
  t.deepEqual(publishedPorts(conf.name), []);

  t.is((await del(conf, ns, 'never-added')).code, 0, 'unknown container');
  t.is((await del({ ...conf, name: 'no-such-network' }, ns, 'x')).code, 0, 'unknown network');
});

ptest.serial('GC removes attachments missing from cni.dev/valid-attachments (and cni.dev/attachments), nothing else', async (t) => {
  t.timeout(TEST_TIMEOUT);
  const conf = freshNetwork(t);
  const made = [];
  for (const id of ['keep1', 'drop1', 'drop2', 'keep2']) {
    const ns = ipNetns(t);
    const r = await add(conf, ns, { containerId: id });
    t.is(r.code, 0, r.stderr);
    made.push({ id, ns, host: r.json.interfaces[1].name });
  }
  const gc = (extra) => runPlugin({ CNI_COMMAND: 'GC', CNI_PATH: '/usr/lib/cni' }, { ...conf, cniVersion: '1.1.0', ...extra });
  const r1 = await gc({ 'cni.dev/valid-attachments': [{ containerID: 'keep1', ifname: 'eth0' }, { containerID: 'keep2', ifname: 'eth0' }, { containerID: 'absent', ifname: 'eth0' }] });
  if (r1.code !== 0) t.log(sh('nft', ['list', 'table', 'inet', 'netplumb']));
  t.is(r1.code, 0, r1.stderr);
  const hosts = bridgePorts(conf.bridge).sort();
  t.deepEqual(hosts, made.filter((m) => m.id.startsWith('keep')).map((m) => m.host).sort());
  for (const m of made) t.is(addresses(m.ns).length, m.id.startsWith('keep') ? 1 : 0, m.id);
  // The earlier spelling of the key.
  const r2 = await gc({ 'cni.dev/attachments': [{ containerID: 'keep2', ifname: 'eth0' }] });
  t.is(r2.code, 0, r2.stderr);
  t.deepEqual(bridgePorts(conf.bridge), [made[3].host]);
  t.is(endpointElements(conf.name).filter((e) => e.set === 'attached').length, 1);
  assertError(t, await gc({ 'cni.dev/valid-attachments': 'all' }), 7, '1.1.0');
  t.is((await gc({ 'cni.dev/valid-attachments': [] })).code, 0);
  assertNothingLeft(t, conf);
});

ptest.serial('first ADDs race to create the network: all succeed, one bridge', async (t) => {
  t.timeout(TEST_TIMEOUT);
  const conf = freshNetwork(t);
  const nss = Array.from({ length: 6 }, () => ipNetns(t));
  const rs = await Promise.all(nss.map((ns) => add(conf, ns)));
  for (const r of rs) t.is(r.code, 0, r.stderr);
  t.is(ipJson(undefined, 'link', 'show', 'type', 'bridge').filter((l) => l.ifname === conf.bridge).length, 1);
  t.is(new Set(rs.map((r) => r.json.ips[0].address)).size, rs.length);
  await Promise.all(rs.map((r, i) => del(conf, nss[i], r.containerId)));
  assertNothingLeft(t, conf);
});

ptest.serial('32 concurrent ADDs, then 32 concurrent DELs: no duplicate address or port, nothing left', async (t) => {
  t.timeout(TEST_TIMEOUT);
  const conf = freshNetwork(t);
  const n = 32;
  const nss = Array.from({ length: n }, () => ipNetns(t));
  const rs = await Promise.all(
    nss.map((ns, i) => add({ ...conf, runtimeConfig: { portMappings: [{ hostPort: 19000 + i, containerPort: 80, protocol: 'tcp' }] } }, ns)),
  );
  for (const r of rs) t.is(r.code, 0, r.stderr);
  // Read back from the kernel: each namespace's address, the bridge's ports, the published ports.
  const addrs = nss.map((ns) => addresses(ns));
  t.true(addrs.every((a) => a.length === 1));
  t.is(new Set(addrs.flat()).size, n, 'no duplicate address');
  t.deepEqual(addrs.map((a) => a[0]), rs.map((r) => r.json.ips[0].address));
  t.is(bridgePorts(conf.bridge).length, n);
  const ports = publishedPorts(conf.name);
  t.is(ports.length, n);
  t.is(new Set(ports).size, n, 'no duplicate port');
  const macs = nss.map((ns) => ipJson(ns, 'link', 'show', 'eth0')[0].address);
  t.is(new Set(macs).size, n, 'no duplicate MAC');
  const ds = await Promise.all(rs.map((r, i) => del(conf, nss[i], r.containerId)));
  for (const d of ds) t.is(d.code, 0, d.stderr);
  assertNothingLeft(t, conf);
  t.deepEqual(publishedPorts(conf.name), []);
  for (const ns of nss) t.deepEqual(ipJson(ns, 'link', 'show', 'type', 'veth'), []);
  // The ruleset still holds the network itself, ready for the next container.
  t.true(nftJson(undefined).nftables.some((o) => o.table?.name === 'netplumb'));
});

ptest.serial('capabilities ips and mac, CNI_ARGS IP=/MAC=, rangeStart/rangeEnd and extra routes', async (t) => {
  t.timeout(TEST_TIMEOUT);
  const conf = freshNetwork(t);
  const base = conf.ipam.ranges[0][0].subnet.replace(/0\/24$/, '');
  const ns1 = ipNetns(t);
  const r1 = await add({ ...conf, runtimeConfig: { ips: [`${base}77/24`], mac: '0a:58:00:00:00:77' } }, ns1);
  t.is(r1.code, 0, r1.stderr);
  t.deepEqual(addresses(ns1), [`${base}77/24`]);
  t.is(ipJson(ns1, 'link', 'show', 'eth0')[0].address, '0a:58:00:00:00:77');
  const ns2 = ipNetns(t);
  const r2 = await add(conf, ns2, { args: `IgnoreUnknown=1;K8S_POD_NAME=web;IP=${base}78;MAC=0a:58:00:00:00:78` });
  t.is(r2.code, 0, r2.stderr);
  t.deepEqual(addresses(ns2), [`${base}78/24`]);
  t.is(ipJson(ns2, 'link', 'show', 'eth0')[0].address, '0a:58:00:00:00:78');
  // A narrowed range and a route besides the default one.
  const ranged = {
    ...conf,
    ipam: { ranges: [[{ subnet: conf.ipam.ranges[0][0].subnet, rangeStart: `${base}100`, rangeEnd: `${base}103` }]], routes: [{ dst: '0.0.0.0/0' }, { dst: '198.51.100.0/24' }] },
  };
  const nss = Array.from({ length: 4 }, () => ipNetns(t));
  const rs = await Promise.all(nss.map((ns) => add(ranged, ns)));
  for (const r of rs) t.is(r.code, 0, r.stderr);
  t.deepEqual(nss.map((ns) => addresses(ns)[0]).sort(), [100, 101, 102, 103].map((i) => `${base}${i}/24`));
  t.true(ipJson(nss[0], 'route', 'show', '198.51.100.0/24').length === 1);
  assertError(t, await add(ranged, ipNetns(t)), 102, '1.0.0');
  await Promise.all([...rs.map((r, i) => del(conf, nss[i], r.containerId)), del(conf, ns1, r1.containerId), del(conf, ns2, r2.containerId)]);
  assertNothingLeft(t, conf);
});
