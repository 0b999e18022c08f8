// netplumb-cni under a real engine: podman 4.3 (Debian 12) with network_backend "cni",
// inside the sandbox, every piece of podman's state (containers.conf, storage, runroot,
// CNI config and plugin directories, XDG dirs, tmp) under a temporary directory. The
// image is a busybox rootfs (`podman run --rootfs DIR`): there is no registry here.
// Proven with traffic: the container's address; masquerade to an "outside" namespace
// (198.51.100.0/24); `-p 8080:80` from outside and from the host; container to container;
// `podman port` / `podman inspect`; and `podman rm -f` leaving nothing behind.
import { execFile, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ip, ipJson, ptest, sh } from './helpers.js';
import { PLUGIN, bridgePorts, endpointElements, publishedPorts } from './cni-lib.js';

const execFileP = promisify(execFile);
const BUSYBOX = '/bin/busybox';
const NET = 'npnet';
const BRIDGE = 'np-podman0';
const SUBNET = '10.89.7.0/24';
const GATEWAY = '10.89.7.1';
const OUTSIDE_HOST = '198.51.100.1';
const OUTSIDE = '198.51.100.2';

/** Podman's whole world under `dir`: configuration files, storage, CNI dirs, the rootfs. */
function podmanWorld(dir) {
  const d = (...p) => {
    const path = join(dir, ...p);
    mkdirSync(path, { recursive: true });
    return path;
  };
  const conf = d('conf');
  const cniConf = d('cni-conf');
  const cniBin = d('cni-bin');
  const tmp = d('tmp');
  const storage = d('storage');
  const run = d('run');
  // The plugin directory holds netplumb-cni, as an installation would (package.json `bin`).
  symlinkSync(PLUGIN, join(cniBin, 'netplumb-cni'));
  writeFileSync(
    join(conf, 'containers.conf'),
    `[containers]
cgroups = "disabled"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "${join(dir, 'events.log')}"
tmp_dir = "${tmp}"
static_dir = "${join(storage, 'libpod')}"
volume_path = "${join(storage, 'volumes')}"
runtime = "crun"
[network]
network_backend = "cni"
cni_plugin_dirs = ["${cniBin}"]
network_config_dir = "${cniConf}"
default_network = "${NET}"
`,
  );
  writeFileSync(join(conf, 'storage.conf'), `[storage]\ndriver = "vfs"\ngraphroot = "${storage}"\nrunroot = "${run}"\n`);
  writeFileSync(join(conf, 'registries.conf'), 'unqualified-search-registries = []\n');
  writeFileSync(
    join(cniConf, `${NET}.conflist`),
    JSON.stringify({
      cniVersion: '1.0.0',
      name: NET,
      plugins: [
        {
          type: 'netplumb-cni',
          bridge: BRIDGE,
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: { type: 'host-local', ranges: [[{ subnet: SUBNET, gateway: GATEWAY }]], routes: [{ dst: '0.0.0.0/0' }] },
          capabilities: { portMappings: true, ips: true, mac: true },
        },
      ],
    }),
  );
  // A busybox rootfs: the static binary and its applets.
  const rootfs = d('rootfs');
  for (const p of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'www']) d('rootfs', p);
  copyFileSync(BUSYBOX, join(rootfs, 'bin', 'busybox'));
  chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
  for (const a of ['sh', 'ip', 'wget', 'httpd', 'sleep', 'cat']) symlinkSync('busybox', join(rootfs, 'bin', a));
  writeFileSync(join(rootfs, 'www', 'index.html'), 'served by the container\n');
  const env = {
    PATH: process.env.PATH,
    CONTAINERS_CONF: join(conf, 'containers.conf'),
    CONTAINERS_STORAGE_CONF: join(conf, 'storage.conf'),
    CONTAINERS_REGISTRIES_CONF: join(conf, 'registries.conf'),
    XDG_RUNTIME_DIR: d('xdg-run'),
    XDG_CONFIG_HOME: d('xdg-config'),
    XDG_DATA_HOME: d('xdg-data'),
    HOME: d('home'),
    TMPDIR: tmp,
  };
  const global = ['--root', storage, '--runroot', run, '--tmpdir', tmp, '--cgroup-manager', 'cgroupfs', '--events-backend', 'file'];
  const podman = async (...args) => (await execFileP('podman', [...global, ...args], { env, encoding: 'utf8', timeout: 120_000 })).stdout.trim();
  // The sandbox's process may not raise RLIMIT_NOFILE/NPROC (no CAP_SYS_RESOURCE), and podman
  // asks for more than it has by default: ask for less.
  const runFlags = ['--cgroups', 'disabled', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=4096:4096', '--network', NET];
  return { rootfs, podman, runFlags };
}

/** crun refuses a hybrid cgroup layout with controllers in the v2 hierarchy; the sandbox's mount namespace may drop it. */
function dropHybridCgroup2() {
  const unified = '/sys/fs/cgroup/unified';
  if (existsSync(join(unified, 'cgroup.controllers')) && readFileSync(join(unified, 'cgroup.controllers'), 'utf8').trim()) sh('umount', ['-l', unified]);
}

/** The "outside": a namespace on 198.51.100.0/24 behind a veth from the sandbox's host, serving its callers' address over HTTP. */
function outside(t, dir) {
  const ns = `out${process.pid % 100000}`;
  sh('ip', ['netns', 'add', ns]);
  ip(undefined, 'link', 'add', 'vout0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
  ip(undefined, 'addr', 'add', `${OUTSIDE_HOST}/24`, 'dev', 'vout0');
  ip(undefined, 'link', 'set', 'vout0', 'up');
  ip(ns, 'addr', 'add', `${OUTSIDE}/24`, 'dev', 'eth0');
  ip(ns, 'link', 'set', 'eth0', 'up');
  ip(ns, 'link', 'set', 'lo', 'up');
  const www = join(dir, 'outside-www');
  mkdirSync(join(www, 'cgi-bin'), { recursive: true });
  writeFileSync(join(www, 'cgi-bin', 'whoami'), `#!${BUSYBOX} sh\necho "Content-Type: text/plain"\necho\necho "$REMOTE_ADDR"\n`);
  chmodSync(join(www, 'cgi-bin', 'whoami'), 0o755);
  const server = spawn('ip', ['netns', 'exec', ns, BUSYBOX, 'httpd', '-f', '-p', '8000', '-h', www], { stdio: 'ignore' });
  t.teardown(() => {
    server.kill();
    try {
      ip(undefined, 'link', 'del', 'vout0');
    } catch {}
    try {
      sh('ip', ['netns', 'del', ns]);
    } catch {}
  });
  return ns;
}

/** Fetches a URL with busybox wget from namespace `ns` (undefined: the sandbox's host), bounded by the process timeout (this busybox's `wget -T` crashes). */
async function fetchFrom(ns, url) {
  const cmd = ns ? ['ip', ['netns', 'exec', ns, BUSYBOX, 'wget', '-qO-', url]] : [BUSYBOX, ['wget', '-qO-', url]];
  return (await execFileP(cmd[0], cmd[1], { encoding: 'utf8', timeout: 30_000 })).stdout.trim();
}

/** Polls `fn` until it resolves (a server starting in a container), at most `tries` times. */
async function eventually(fn, tries = 50) {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i >= tries) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

ptest.serial('podman 4.3 with network_backend=cni runs containers on netplumb-cni: traffic, ports, inspect, and nothing left', async (t) => {
  t.timeout(15 * 60_000);
  const dir = mkdtempSync(join(tmpdir(), 'cni-podman-'));
  dropHybridCgroup2();
  const { rootfs, podman, runFlags } = podmanWorld(dir);
  t.teardown(async () => {
    await podman('rm', '-f', '-a', '-t', '0').catch(() => undefined);
    const { BridgeNetwork } = await import('../dist/index.js');
    await BridgeNetwork.open(NET).then((n) => n.remove({ force: true }), () => undefined);
    rmSync(dir, { recursive: true, force: true });
  });
  const out = outside(t, dir);

  t.regex(await podman('--version'), /podman version 4\.3/);
  t.true((await podman('network', 'ls', '--format', '{{.Name}}')).split('\n').includes(NET));

  // A container gets its address: what it sees, what podman says, what the kernel holds.
  const web = await podman('run', '-d', '--name', 'web', '-p', '8080:80', ...runFlags, '--rootfs', rootfs, '/bin/httpd', '-f', '-p', '80', '-h', '/www');
  t.regex(web, /^[0-9a-f]{64}$/);
  const inspect = JSON.parse(await podman('inspect', 'web'))[0];
  const settings = inspect.NetworkSettings.Networks[NET];
  t.regex(settings.IPAddress, /^10\.89\.7\.\d+$/);
  t.is(settings.IPPrefixLen, 24);
  t.is(settings.Gateway, GATEWAY);
  const sandboxKey = inspect.NetworkSettings.SandboxKey;
  t.regex(sandboxKey, /^\/run\/netns\/[\w-]+$/);
  const nsName = sandboxKey.slice('/run/netns/'.length);
  const eth0 = ipJson(nsName, 'addr', 'show', 'eth0')[0];
  t.deepEqual(eth0.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`), [`${settings.IPAddress}/24`]);
  t.is(eth0.address, settings.MacAddress);
  t.true(ipJson(nsName, 'route', 'show', 'default').some((r) => r.gateway === GATEWAY));
  const inside = await podman('exec', 'web', '/bin/ip', '-4', 'addr', 'show', 'eth0');
  t.true(inside.includes(`inet ${settings.IPAddress}/24`), inside);
  t.is(bridgePorts(BRIDGE).length, 1);

  // podman port / inspect show the published port.
  t.is(await podman('port', 'web'), '80/tcp -> 0.0.0.0:8080');
  t.deepEqual(inspect.NetworkSettings.Ports['80/tcp'], [{ HostIp: '', HostPort: '8080' }]);
  t.deepEqual(publishedPorts(NET), ['tcp/8080']);

  // -p 8080:80 answers from outside and from the host.
  t.is(await eventually(() => fetchFrom(out, `http://${OUTSIDE_HOST}:8080/`)), 'served by the container');
  t.is(await fetchFrom(undefined, 'http://127.0.0.1:8080/'), 'served by the container');
  t.is(await fetchFrom(undefined, `http://${GATEWAY}:8080/`), 'served by the container');

  // The container reaches the outside through masquerade: the outside sees the host's address.
  const seen = await podman('run', '--rm', ...runFlags, '--rootfs', rootfs, '/bin/wget', '-qO-', `http://${OUTSIDE}:8000/cgi-bin/whoami`);
  // (busybox httpd listens on a dual-stack socket: it prints IPv4 peers as [::ffff:A.B.C.D].)
  t.is(seen.replace(/^\[::ffff:(.*)\]$/, '$1'), OUTSIDE_HOST);

  // Two containers on the network reach each other.
  const fromPeer = await podman('run', '--rm', ...runFlags, '--rootfs', rootfs, '/bin/wget', '-qO-', `http://${settings.IPAddress}:80/`);
  t.is(fromPeer, 'served by the container');

  // A second long-running container: a different address; podman rm -f removes both.
  await podman('run', '-d', '--name', 'idle', ...runFlags, '--rootfs', rootfs, '/bin/sleep', '600');
  const idle = JSON.parse(await podman('inspect', 'idle'))[0].NetworkSettings.Networks[NET].IPAddress;
  t.not(idle, settings.IPAddress);
  t.is(bridgePorts(BRIDGE).length, 2);
  await podman('rm', '-f', '-t', '0', 'web', 'idle');

  // Nothing left: no veth, no reservation or published port, no namespace mount.
  t.deepEqual(bridgePorts(BRIDGE), []);
  t.deepEqual(endpointElements(NET), []);
  t.deepEqual(publishedPorts(NET), []);
  t.false(readdirSync('/run/netns').includes(nsName), 'podman\'s namespace file is gone');
  t.false(readFileSync('/proc/self/mountinfo', 'utf8').includes(`/run/netns/${nsName}`), 'and its mount');
  t.deepEqual(ipJson(undefined, 'link', 'show', 'type', 'veth').map((l) => l.ifname), ['vout0']);
});
