// The `netplumb` CLI run as a user would (a child process, in the sandbox, each test with
// a host namespace of its own), checked by what it prints and by the kernel's state
// through `ip -j` and `nft -j`, and by real TCP through what it built.
import test from 'ava';
import { statSync } from 'node:fs';
import { NetlinkError, Netns, SystemError, ValidationError } from '../dist/index.js';
import { EXIT, errorJson, errorLine, exitCode } from '../dist/cli/exit-codes.js';
import { parsePublish, portText } from '../dist/cli/format.js';
import { table } from '../dist/cli/command.js';
import { cliHost, eventually, ipn, nftIn, runCli } from './cli-helpers.js';
import { ptest, sh } from './helpers.js';
import { request, whoamiServer } from './network-lab.js';

const COMMANDS = [
  'network create', 'network ls', 'network inspect', 'network rm', 'network connect', 'network disconnect', 'network prune',
  'endpoint ls', 'ns ls', 'ns create', 'ns rm', 'port', 'cleanup', 'doctor', 'graph',
];

test('--help on every command: usage, options and exit 0', async (t) => {
  const results = await Promise.all(COMMANDS.map((c) => runCli(undefined, [...c.split(' '), '--help'])));
  for (const [i, c] of COMMANDS.entries()) {
    const r = results[i];
    t.is(r.code, 0, c);
    t.true(r.stdout.startsWith(`Usage: netplumb ${c}`), c);
    t.regex(r.stdout, /--json/, c);
    t.is(r.stderr, '', c);
  }
  const top = await runCli(undefined, ['--help']);
  t.is(top.code, 0);
  for (const c of ['network', 'endpoint', 'ns', 'port', 'cleanup', 'doctor', 'graph']) t.regex(top.stdout, new RegExp(`^  ${c} `, 'm'));
  t.regex(top.stdout, /Exit codes: 0 ok/);
  const group = await runCli(undefined, ['network', '--help']);
  t.is(group.code, 0);
  t.regex(group.stdout, /network disconnect/);
});

test('an error line carries the code, the errno and the kernel\'s extended-ack text', (t) => {
  const e = new NetlinkError(22, { operation: 'RTM_NEWLINK add vxlan vx0', index: 0, type: 16, seq: 1 }, 'Invalid VXLAN ID');
  t.is(errorLine(e), 'netplumb: error EINVAL: RTM_NEWLINK add vxlan vx0 failed: EINVAL (errno 22): Invalid VXLAN ID');
  t.like(errorJson(e), { code: 'EINVAL', errno: 22, extack: 'Invalid VXLAN ID', operation: 'RTM_NEWLINK add vxlan vx0', type: 'NetlinkError' });
  t.is(exitCode(e), EXIT.FAILURE);
  t.is(exitCode(new SystemError(1, 'setns')), EXIT.PERMISSION);
  t.regex(errorLine(new SystemError(1, 'setns')), /needs root/);
  t.is(exitCode(new ValidationError('subnet', 'bad')), EXIT.INVALID);
  t.is(exitCode(new Error('plain')), EXIT.FAILURE);
});

test('-p syntax and tables, as Docker writes them', (t) => {
  t.deepEqual(parsePublish('8080:80'), { hostPort: 8080, containerPort: 80 });
  t.deepEqual(parsePublish('203.0.113.7:81:80/udp'), { hostPort: 81, containerPort: 80, protocol: 'udp', hostIp: '203.0.113.7' });
  t.deepEqual(parsePublish('[2001:db8::1]:8080:80'), { hostPort: 8080, containerPort: 80, hostIp: '2001:db8::1' });
  for (const bad of ['80', '80/tcp', 'a:80:80', '1.2.3.4:80', '8080:80/sctp', '']) t.throws(() => parsePublish(bad), { code: 'ERR_NETPLUMB_INVALID' }, bad);
  t.is(table(['NAME', 'X'], [['a', '1'], ['longer', '22']]), 'NAME     X\na        1\nlonger   22\n');
  t.is(portText({ protocol: 'tcp', hostIp: '::', hostPort: 80, containerPort: 8080 }), '[::]:80->8080/tcp');
});

test('usage errors: exit 2 with the code on stderr, nothing on stdout', async (t) => {
  const cases = [['bogus'], ['network', 'bogus'], ['network', 'create'], ['network', 'ls', '--bogus'], ['ns', 'ls', 'extra'], []];
  const results = await Promise.all(cases.map((args) => runCli(undefined, args)));
  for (const [i, args] of cases.entries()) {
    const r = results[i];
    t.is(r.code, 2, args.join(' '));
    t.regex(r.stderr, args.length ? /^netplumb: error ERR_NETPLUMB_USAGE: / : /^$/, args.join(' '));
    if (args.length) t.is(r.stdout, '', args.join(' '));
  }
  const j = await runCli(undefined, ['network', 'create', '--json']);
  t.is(j.code, 2);
  t.is(JSON.parse(j.stderr).error.code, 'ERR_NETPLUMB_USAGE');
});

ptest('the seed walkthrough with the CLI: docker0, containers by veth, -p 8080:80, docker inspect/port, rm', async (t) => {
  const { host, cli, name } = cliHost(t);
  const nginx = name('nginx');
  const ubuntu = name('ubuntu');
  const web = name('web');

  // docker0 as Docker makes it: `docker network create` with its -o options.
  let r = await cli('network', 'create', '--subnet', '172.17.0.0/16', '-o', 'com.docker.network.bridge.name=docker0', 'bridge');
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'bridge\n');
  const [docker0] = ipn(host, 'addr', 'show', 'docker0');
  t.true(docker0.flags.includes('UP'));
  t.deepEqual(docker0.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen} brd ${a.broadcast}`), ['172.17.0.1/16 brd 172.17.255.255']);

  // `docker run -d nginx`, `docker run ubuntu`, `docker run -d -p 8080:80 nginx`: netplumb makes each namespace.
  r = await cli('network', 'connect', '--create', 'bridge', nginx);
  t.is(r.code, 0, r.stderr);
  const nginxId = r.stdout.trim();
  t.regex(nginxId, /^[0-9a-f]{12}$/);
  t.is((await cli('network', 'connect', '--create', 'bridge', ubuntu)).code, 0);
  r = await cli('network', 'connect', '--create', '--json', '-p', '8080:80', 'bridge', web);
  t.is(r.code, 0, r.stderr);
  const webInspect = JSON.parse(r.stdout);
  t.is(webInspect.ipAddress, '172.17.0.4');
  t.deepEqual(webInspect.ports, { '80/tcp': [{ hostIp: '0.0.0.0', hostPort: 8080 }] });

  // Inside: eth0@ifN with the Docker MAC, 172.17.0.2/16, link-netnsid of the host; default route via docker0.
  const [eth0] = ipn(nginx, 'addr', 'show', 'eth0');
  t.is(eth0.address, '02:42:ac:11:00:02');
  t.deepEqual(eth0.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`), ['172.17.0.2/16']);
  t.is(typeof eth0.link_netnsid, 'number');
  t.deepEqual(ipn(nginx, 'route', 'show', 'default').map((x) => x.gateway), ['172.17.0.1']);
  // On the host: the veth whose ifindex eth0 names (eth0@if35 <-> veth85a0078@if34) is a port of docker0.
  const hostVeth = ipn(host, 'link', 'show', 'master', 'docker0').find((l) => l.ifindex === eth0.link_index);
  t.truthy(hostVeth);
  t.is(hostVeth.link_index, eth0.ifindex);

  // `docker network inspect bridge --json`: Docker's shape, from another process than the one that connected.
  r = await cli('network', 'inspect', '--json', 'bridge');
  t.is(r.code, 0, r.stderr);
  const [net] = JSON.parse(r.stdout);
  t.is(net.Name, 'bridge');
  t.is(net.Driver, 'bridge');
  t.deepEqual(net.IPAM.Config, [{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }]);
  t.is(net.Options['com.docker.network.bridge.name'], 'docker0');
  const containers = Object.values(net.Containers);
  t.deepEqual(containers.map((c) => `${c.Name} ${c.IPv4Address} ${c.MacAddress}`).sort(), [
    `${nginx} 172.17.0.2/16 02:42:ac:11:00:02`,
    `${ubuntu} 172.17.0.3/16 02:42:ac:11:00:03`,
    `${web} 172.17.0.4/16 02:42:ac:11:00:04`,
  ]);
  t.is(net.Containers[nginxId].HostInterface, hostVeth.ifname);
  t.is(net.Containers[nginxId].SandboxKey, `/run/netns/${nginx}`);

  // `docker port`: the text and the JSON, and the element in netplumb's map as nft shows it.
  r = await cli('port', web);
  t.is(r.stdout, '80/tcp -> 0.0.0.0:8080\n');
  t.is((await cli('port', web, '80/tcp')).stdout, '0.0.0.0:8080\n');
  t.deepEqual(JSON.parse((await cli('port', '--json', web)).stdout), { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] });
  const nft = nftIn(host);
  const ports4 = nft.find((x) => x.map?.name === 'ports4').map;
  t.deepEqual(ports4.elem.map((e) => JSON.stringify(e[0].elem?.val ?? e[0])), [JSON.stringify({ concat: ['tcp', 8080] })]);
  t.true(nft.some((x) => x.table?.family === 'inet' && x.table.name === 'netplumb'));

  // Traffic: ubuntu reaches nginx on the bridge; the host reaches web through localhost:8080 (curl http://localhost:8080).
  const hostNs = await Netns.open(host);
  const nginxNs = await Netns.open(nginx);
  const webNs = await Netns.open(web);
  const ubuntuNs = await Netns.open(ubuntu);
  t.teardown(() => [hostNs, nginxNs, webNs, ubuntuNs].forEach((n) => n.close()));
  const nginxServer = await whoamiServer(t, nginxNs, 80);
  await whoamiServer(t, webNs, 80);
  t.is(await request(ubuntuNs, '172.17.0.2', 80), '172.17.0.3');
  t.truthy(await request(hostNs, '127.0.0.1', 8080));
  // Nothing of the test may hold nginx's namespace when it is removed (a socket or handle would keep it alive).
  await new Promise((resolve) => nginxServer.close(resolve));
  nginxNs.close();

  // The tables of the human output name the same things.
  r = await cli('endpoint', 'ls');
  t.regex(r.stdout, /^ENDPOINT\s+NETWORK\s+NAMESPACE\s+IFNAME\s+HOST-IF\s+IPV4\s+MAC\s+PORTS/);
  t.regex(r.stdout, new RegExp(`^${nginxId}\\s+bridge\\s+${nginx}\\s+eth0\\s+${hostVeth.ifname}\\s+172\\.17\\.0\\.2/16\\s+02:42:ac:11:00:02`, 'm'));
  t.regex(r.stdout, /0\.0\.0\.0:8080->80\/tcp/);
  r = await cli('network', 'ls');
  t.regex(r.stdout, /^bridge\s+bridge\s+docker0\s+172\.17\.0\.0\/16\s+172\.17\.0\.1\s+3\s*$/m);

  // `docker container rm -f`: the veth leaves docker0 (the namespace goes, the kernel destroys both ends).
  r = await cli('network', 'disconnect', 'bridge', nginx);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, `${nginxId}\n`);
  t.true(await eventually(() => !ipn(host, 'link', 'show', 'master', 'docker0').some((l) => l.ifname === hostVeth.ifname)));
  t.false(sh('ip', ['netns', 'list']).split('\n').some((l) => l.split(' ')[0] === nginx));

  // rm refuses while endpoints are attached (exit 5, EBUSY), -f removes them; the table goes with the last network.
  r = await cli('network', 'rm', 'bridge');
  t.is(r.code, 5);
  t.regex(r.stderr, /^netplumb: error EBUSY: network bridge has 2 active endpoint/);
  t.is(ipn(host, 'link', 'show', 'docker0').length, 1);
  r = await cli('network', 'rm', '-f', 'bridge');
  t.is(r.code, 0, r.stderr);
  t.deepEqual(ipn(host, 'link', 'show', 'type', 'bridge'), []);
  t.false(nftIn(host).some((x) => x.table?.name === 'netplumb'));
});

ptest('the L3/NAT walkthrough with the CLI: -p HOSTIP:81:80 from outside, masquerade out, FORWARD policy DROP', async (t) => {
  const { host, cli, name } = cliHost(t);
  const outside = name('out');
  const web = name('web');
  // The host's uplink ens160 (203.0.113.128) to an outside host (203.0.113.1), and iptables' FORWARD policy DROP as Docker sets it.
  sh('ip', ['netns', 'add', outside]);
  sh('ip', ['-n', host, 'link', 'add', 'ens160', 'type', 'veth', 'peer', 'name', 'wan', 'netns', outside]);
  sh('ip', ['-n', host, 'addr', 'add', '203.0.113.128/24', 'dev', 'ens160']);
  sh('ip', ['-n', host, 'link', 'set', 'ens160', 'up']);
  sh('ip', ['-n', outside, 'addr', 'add', '203.0.113.1/24', 'dev', 'wan']);
  sh('ip', ['-n', outside, 'link', 'set', 'wan', 'up']);
  sh('ip', ['-n', outside, 'link', 'set', 'lo', 'up']);
  sh('ip', ['netns', 'exec', host, 'iptables', '-P', 'FORWARD', 'DROP']);

  let r = await cli('network', 'create', '--subnet', '172.17.0.0/16', '--bridge', 'docker0', 'bridge');
  t.is(r.code, 0, r.stderr);
  r = await cli('network', 'connect', '--create', '-p', '203.0.113.128:81:80', 'bridge', web);
  t.is(r.code, 0, r.stderr);
  t.is((await cli('port', web)).stdout, '80/tcp -> 203.0.113.128:81\n');
  // The DNAT is an element of the address-bound map, keyed by host address, protocol and port.
  const map = nftIn(host).find((x) => x.map?.name === 'ports4_addr').map;
  t.is(map.elem.length, 1);
  t.deepEqual(map.elem[0][0].concat ?? map.elem[0][0].elem?.val?.concat, ['203.0.113.128', 'tcp', 81]);

  const outNs = await Netns.open(outside);
  const webNs = await Netns.open(web);
  t.teardown(() => [outNs, webNs].forEach((n) => n.close()));
  await whoamiServer(t, webNs, 80);
  await whoamiServer(t, outNs, 8000);
  // In: the outside host reaches web through 203.0.113.128:81 (DNAT), seen with its own address.
  t.is(await request(outNs, '203.0.113.128', 81), '203.0.113.1');
  // Out: web reaches the outside host, masqueraded to ens160's address.
  t.is(await request(webNs, '203.0.113.1', 8000), '203.0.113.128');
});

ptest('network modes with the CLI: none, a user-defined network, one namespace on two networks, container:OTHER', async (t) => {
  const { host, cli, name } = cliHost(t);
  const none = name('none');
  const both = name('both');
  t.is((await cli('ns', 'create', none, both)).code, 0);
  // --network none: only lo, up.
  const links = ipn(none, 'link', 'show');
  t.deepEqual(links.map((l) => `${l.ifname} ${l.operstate}`), ['lo UNKNOWN']);

  t.is((await cli('network', 'create', '--subnet', '172.17.0.0/16', '--bridge', 'docker0', 'bridge')).code, 0);
  let r = await cli('network', 'create', '--subnet', '172.18.0.0/16', '--subnet', 'fd00:18::/64', 'user');
  t.is(r.code, 0, r.stderr);
  t.is((await cli('network', 'connect', 'bridge', both)).code, 0);
  r = await cli('network', 'connect', '--ip', '172.18.0.9', '--owner', 'c0ffee/eth1', 'user', both);
  t.is(r.code, 0, r.stderr);
  // The owner label is kept by the kernel: another process finds the endpoint by it.
  r = await cli('endpoint', 'ls', '--json', '--owner', 'c0ffee/eth1');
  t.deepEqual(JSON.parse(r.stdout).map((e) => `${e.owner} ${e.ipAddress}`), ['c0ffee/eth1 172.18.0.9']);
  t.regex((await cli('endpoint', 'ls')).stdout, /172\.18\.0\.9\/16 .*c0ffee\/eth1$/m);
  // eth0 and eth1, each on its network; the default route stays the first network's.
  const addrs = ipn(both, 'addr', 'show').filter((l) => l.ifname !== 'lo');
  t.deepEqual(addrs.map((l) => `${l.ifname} ${l.addr_info.filter((a) => a.family === 'inet').map((a) => a.local).join()}`).sort(), ['eth0 172.17.0.2', 'eth1 172.18.0.9']);
  t.deepEqual(ipn(both, 'route', 'show', 'default').map((x) => `${x.gateway} ${x.dev}`), ['172.17.0.1 eth0']);
  t.true(ipn(both, 'addr', 'show', 'eth1')[0].addr_info.some((a) => a.family === 'inet6' && a.local.startsWith('fd00:18::')));

  // container:OTHER is the same namespace: `ns ls --json` lists it once, with its name.
  r = await cli('ns', 'ls', '--json');
  const rows = JSON.parse(r.stdout).namespaces;
  t.is(rows.filter((x) => x.names.includes(both)).length, 1);

  // endpoint ls filters by namespace and network.
  r = await cli('endpoint', 'ls', '--json', '--netns', both);
  t.deepEqual(JSON.parse(r.stdout).map((e) => `${e.network} ${e.ifname} ${e.ipAddress}`).sort(), ['bridge eth0 172.17.0.2', 'user eth1 172.18.0.9']);
  r = await cli('endpoint', 'ls', '--json', '--network', 'user');
  t.deepEqual(JSON.parse(r.stdout).map((e) => e.ipAddress), ['172.18.0.9']);

  // disconnect by namespace keeps the other network's interface; prune removes only empty networks.
  t.is((await cli('network', 'disconnect', 'user', both)).code, 0);
  t.deepEqual(ipn(both, 'link', 'show').map((l) => l.ifname).sort(), ['eth0', 'lo']);
  // (172.17.0.0/16 and 172.18.0.0/16 are adjacent ranges in netplumb's interval set of subnets.)
  r = await cli('network', 'prune');
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'Deleted Networks:\nuser\n');
  t.deepEqual(ipn(host, 'link', 'show', 'type', 'bridge').map((l) => l.ifname), ['docker0']);
  // Without --subnet, the first 172.N.0.0/16 that overlaps no network and no route: docker0 has 172.17, a route covers part of 172.18.
  sh('ip', ['-n', host, 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'up1']);
  sh('ip', ['-n', host, 'addr', 'add', '172.18.5.1/24', 'dev', 'up0']);
  sh('ip', ['-n', host, 'link', 'set', 'up0', 'up']);
  t.is((await cli('network', 'create', 'auto')).code, 0);
  t.deepEqual(ipn(host, 'addr', 'show', 'np-auto')[0].addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`), ['172.19.0.1/16']);
  r = await cli('ns', 'rm', none);
  t.is(r.code, 0);
  t.false(sh('ip', ['netns', 'list']).split('\n').some((l) => l.split(' ')[0] === none));
});

ptest('errors: stable exit codes, the code and the kernel\'s message on stderr, --json errors', async (t) => {
  const { host, cli, name } = cliHost(t);
  const c1 = name('c1');
  t.is((await cli('ns', 'create', c1)).code, 0);
  t.is((await cli('network', 'create', '--subnet', '10.88.0.0/24', 'n1')).code, 0);
  t.is((await cli('network', 'connect', '-p', '8080:80', 'n1', c1)).code, 0);

  const cases = [
    // [args, exit code, code on stderr]
    [['network', 'create', '--subnet', '10.88.0.0/24', 'n1'], 3, 'ERR_NETPLUMB_INVALID'],
    [['network', 'create', '--subnet', '10.88.0.0/33', 'n2'], 3, 'ERR_NETPLUMB_INVALID'],
    [['network', 'create', '--subnet', '10.88.0.128/25', 'n3'], 3, 'ERR_NETPLUMB_INVALID'],
    [['network', 'inspect', 'nope'], 4, 'ENOENT'],
    [['network', 'rm', 'nope'], 4, 'ENOENT'],
    [['network', 'connect', 'n1', 'no-such-netns'], 4, 'ENOENT'],
    [['network', 'disconnect', 'n1', 'no-such-netns'], 4, 'ENOENT'],
    [['port', c1, '81'], 4, 'ENOENT'],
    [['ns', 'rm', 'no-such-netns'], 4, 'ENOENT'],
    [['ns', 'create', c1], 5, 'EEXIST'],
    [['network', 'rm', 'n1'], 5, 'EBUSY'],
    [['network', 'connect', '-p', '8080:81', '--create', 'n1', name('c2')], 5, 'ERR_NETPLUMB_PORT_ALLOCATED'],
    [['network', 'connect', '-p', 'eighty', 'n1', c1], 3, 'ERR_NETPLUMB_INVALID'],
  ];
  for (const [args, exit, code] of cases) {
    const r = await cli(...args);
    t.is(r.code, exit, `${args.join(' ')}: ${r.stderr}`);
    t.true(r.stderr.startsWith(`netplumb: error ${code}: `), `${args.join(' ')}: ${r.stderr}`);
    t.is(r.stdout, '', args.join(' '));
    const j = await cli(...args, '--json');
    t.is(j.code, exit);
    t.is(JSON.parse(j.stderr).error.code, code, args.join(' '));
  }
  // A kernel refusal (exit 1) carries errno, its name and the request: a multicast MAC for eth0.
  let r = await cli('network', 'connect', '--mac', '01:00:5e:00:00:01', '--create', 'n1', name('c3'));
  t.is(r.code, 1);
  t.regex(r.stderr, /^netplumb: error EADDRNOTAVAIL: RTM_NEWLINK .* failed: EADDRNOTAVAIL \(errno 99\)\n$/);
  r = await cli('network', 'connect', '--json', '--mac', '01:00:5e:00:00:01', '--create', 'n1', name('c3'));
  t.like(JSON.parse(r.stderr).error, { code: 'EADDRNOTAVAIL', errno: 99, type: 'NetlinkError' });
  // Nothing half-made is left: one endpoint, one veth on the bridge, one element in the map.
  t.is(JSON.parse((await cli('endpoint', 'ls', '--json')).stdout).length, 1);
  t.is(ipn(host, 'link', 'show', 'type', 'veth').length, 1);
  t.is(nftIn(host).find((x) => x.map?.name === 'ports4').map.elem.length, 1);
});

ptest('cleanup --dry-run reports a crash\'s leftovers and changes nothing; cleanup removes them', async (t) => {
  const { host, cli, name } = cliHost(t);
  const c1 = name('c1');
  t.is((await cli('ns', 'create', c1)).code, 0);
  t.is((await cli('network', 'create', '--subnet', '10.89.0.0/24', 'n1')).code, 0);
  t.is((await cli('network', 'connect', '-p', '8081:80', 'n1', c1)).code, 0);
  const veth = ipn(host, 'link', 'show', 'type', 'veth')[0].ifname;
  // Someone deletes the network's bridge by hand: the endpoint's veth, rules and elements are left.
  sh('ip', ['-n', host, 'link', 'del', 'np-n1']);
  let r = await cli('cleanup', '--dry-run', '--json');
  t.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  t.true(report.dryRun);
  t.deepEqual(report.endpoints.map((e) => `${e.hostIfname} ${e.network} ${e.reason}`), [`${veth} n1 network-gone`]);
  t.is(ipn(host, 'link', 'show', 'type', 'veth').length, 1);
  t.true(nftIn(host).some((x) => x.table?.name === 'netplumb'));
  r = await cli('cleanup');
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^Removed:\n/);
  t.regex(r.stdout, new RegExp(`endpoint\\s+${veth} \\(n1 `));
  t.deepEqual(ipn(host, 'link', 'show', 'type', 'veth'), []);
  t.false(nftIn(host).some((x) => x.table?.name === 'netplumb'));
  t.is((await cli('cleanup')).stdout, 'nothing to clean up\n');
});

ptest('ns ls lists every namespace, like lsns -t net and ip netns list together', async (t) => {
  const { cli, name } = cliHost(t);
  const a = name('nsa');
  t.is((await cli('ns', 'create', a)).stdout, `${a}\n`);
  const namedNow = () => {
    const m = new Map();
    for (const line of sh('ip', ['netns', 'list']).split('\n').filter(Boolean)) {
      const n = line.split(' ')[0];
      try {
        m.set(n, statSync(`/run/netns/${n}`).ino);
      } catch {}
    }
    return m;
  };
  const named = namedNow();
  t.true(named.has(a));
  const before = JSON.parse(sh('lsns', ['-J', '-t', 'net'])).namespaces.map((l) => l.ns);
  const r = await cli('ns', 'ls', '--json');
  t.is(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout).namespaces;
  const byInode = new Map(rows.map((x) => [x.ns, x]));
  // Every namespace with a process that lsns saw before and after is there (other tests' come and go meanwhile).
  const after = new Set(JSON.parse(sh('lsns', ['-J', '-t', 'net'])).namespaces.map((l) => l.ns));
  const steady = before.filter((ns) => after.has(ns));
  t.true(steady.length > 0);
  for (const ns of steady) t.truthy(byInode.get(ns), `lsns ${ns}`);
  // Every named one (ip netns list) that exists before and after is there under its name.
  for (const [n, ino] of named) {
    if (named.get(n) !== namedNow().get(n)) continue;
    t.true(byInode.get(ino)?.names.includes(n), n);
  }
  const text = (await cli('ns', 'ls')).stdout;
  t.regex(text, /^NS\s+NPROCS\s+PID\s+NETNSID\s+COMMAND\s+NAMES/);
  t.regex(text, new RegExp(`\\s${a}(,|$)`, 'm'));
});

ptest('doctor: what it finds on a fresh host, a foreign FORWARD drop policy, route_localnet, no root', async (t) => {
  const { host, cli } = cliHost(t);
  let r = await cli('doctor', '--json');
  t.is(r.code, 0, r.stderr);
  let d = JSON.parse(r.stdout);
  const by = (id) => d.checks.find((c) => c.id === id);
  t.true(d.ok);
  t.is(by('privileges').status, 'ok');
  t.is(by('nftables').status, 'ok');
  t.is(by('foreign-firewall').status, 'ok');
  t.is(by('route-localnet').status, 'ok');
  t.regex(by('forwarding').found, /net\.ipv4\.ip_forward=0/);
  // The probe left nothing: the ruleset is as empty as before.
  t.deepEqual(nftIn(host).filter((x) => x.table), []);

  // iptables-nft with `iptables -P FORWARD DROP` (Docker's and ufw's way), and route_localnet on a link.
  sh('ip', ['netns', 'exec', host, 'iptables', '-P', 'FORWARD', 'DROP']);
  sh('ip', ['-n', host, 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan1']);
  sh('ip', ['netns', 'exec', host, 'sysctl', '-qw', 'net.ipv4.conf.lan0.route_localnet=1']);
  r = await cli('doctor', '--json');
  t.is(r.code, 0);
  d = JSON.parse(r.stdout);
  t.is(by('foreign-firewall').status, 'warn');
  t.regex(by('foreign-firewall').found, /ip filter FORWARD \(iptables-nft\)/);
  t.regex(by('foreign-firewall').found, /no netplumb network yet/);
  t.regex(by('foreign-firewall').advice, /nothing to do for netplumb/);
  t.is(by('route-localnet').status, 'warn');
  t.regex(by('route-localnet').found, /lan0/);
  r = await cli('doctor');
  t.regex(r.stdout, /^\[WARN\] foreign-firewall: /m);
  t.regex(r.stdout, /^\[ok {2}\] privileges: /m);
  t.regex(r.stdout, /netplumb can work on this host\.\n$/);

  // A network created now gets netplumb's accepts there (iptables -S shows them); one whose accepts are gone is named.
  t.is((await cli('network', 'create', '--subnet', '10.90.0.0/24', '--bridge', 'br-fw', 'fw')).code, 0);
  t.regex(sh('ip', ['netns', 'exec', host, 'iptables', '-S', 'FORWARD']), /-A FORWARD -i br-fw .*-j ACCEPT/);
  d = JSON.parse((await cli('doctor', '--json')).stdout);
  t.regex(by('foreign-firewall').found, /netplumb's accepts for br-fw are in place/);
  sh('ip', ['netns', 'exec', host, 'iptables', '-F', 'FORWARD']);
  d = JSON.parse((await cli('doctor', '--json')).stdout);
  t.regex(by('foreign-firewall').found, /no accept there for network fw \(br-fw\) in ip filter FORWARD/);
  t.regex(by('foreign-firewall').advice, /iptables -I FORWARD -i BRIDGE -j ACCEPT/);

  // Without root: privileges fail (exit 7), and what to do is said.
  const nobody = await runCli(host, ['doctor', '--json'], { as: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all'] });
  t.is(nobody.code, 7, nobody.stderr);
  d = JSON.parse(nobody.stdout);
  t.false(d.ok);
  t.is(by('privileges').status, 'fail');
  t.regex(by('privileges').advice, /root/);
});
