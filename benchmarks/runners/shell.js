// Baseline (a): the same endpoint steps done the way a naive orchestrator does them, by
// spawning `ip` and `nft` with child_process.execFile, one command per change.
import { FIXTURE } from '../lib/endpoints.js';
import { execFileP } from '../lib/system.js';

const { bridge, gateway, prefixLength, table, map, containerPort } = FIXTURE;

const sh = (cmd, ...args) => execFileP(cmd, args);

export const shellRunner = {
  name: 'shell',
  prefix: 'sh',

  async prepare(eps, { mode, ipv6 }) {
    if (mode !== 'attach') return;
    for (const ep of eps) {
      await sh('ip', 'netns', 'add', ep.ns);
      if (!ipv6) await sh('ip', 'netns', 'exec', ep.ns, 'sysctl', '-qw', 'net.ipv6.conf.default.disable_ipv6=1');
    }
  },

  async setup(ep, { mode, ipv6 }, t) {
    if (mode === 'full') {
      await sh('ip', 'netns', 'add', ep.ns);
      if (!ipv6) await sh('ip', 'netns', 'exec', ep.ns, 'sysctl', '-qw', 'net.ipv6.conf.default.disable_ipv6=1');
    }
    t.lap('ns');
    await sh('ip', 'link', 'add', ep.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'address', ep.mac, 'mtu', '1500', 'netns', ep.ns);
    await sh('ip', 'link', 'set', ep.veth, 'master', bridge, 'up');
    t.lap('veth');
    await sh('ip', '-n', ep.ns, 'link', 'set', 'lo', 'up');
    await sh('ip', '-n', ep.ns, 'link', 'set', 'eth0', 'up');
    await sh('ip', '-n', ep.ns, 'addr', 'add', `${ep.ip}/${prefixLength}`, 'dev', 'eth0');
    await sh('ip', '-n', ep.ns, 'route', 'add', 'default', 'via', gateway);
    t.lap('nsbatch');
    await sh('nft', 'add', 'element', 'inet', table, map, `{ tcp . ${ep.hostPort} : ${ep.ip} . ${containerPort} }`);
    t.lap('publish');
  },

  async teardown(ep, { mode }, t) {
    await sh('nft', 'delete', 'element', 'inet', table, map, `{ tcp . ${ep.hostPort} }`);
    t.lap('unpublish');
    // An owned namespace is deleted, which takes its devices with it; otherwise the veth.
    if (mode === 'full') await sh('ip', 'netns', 'del', ep.ns);
    else await sh('ip', 'link', 'del', ep.veth);
    t.lap('delete');
  },

  async finish(eps, { mode }) {
    if (mode !== 'attach') return;
    for (const ep of eps) await sh('ip', 'netns', 'del', ep.ns);
  },
};
