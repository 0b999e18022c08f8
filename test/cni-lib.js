// Shared by the CNI tests: running netplumb-cni exactly as a runtime does (environment +
// stdin, a new process per call), a libcni-like chain runner, and the kernel oracles that
// say what the plugin left behind (`ip -j`, `nft -j`).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ipJson, nftJson } from './helpers.js';

/** The plugin executable, as package.json `bin` names it. */
export const PLUGIN = fileURLToPath(new URL('../bin/netplumb-cni.js', import.meta.url));

/**
 * Runs one plugin call: `env` holds CNI_* (only PATH is inherited, as a runtime passes a
 * controlled environment), `stdin` the configuration (an object is JSON-encoded).
 * Resolves with the exit code, stdout parsed as JSON when it is JSON, and stderr.
 */
export function runPlugin(env, stdin, { plugin = PLUGIN } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(plugin, [], { env: { PATH: process.env.PATH, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      let json;
      try {
        json = out.trim() ? JSON.parse(out) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ code, stdout: out, json, stderr: err });
    });
    child.stdin.end(stdin === undefined ? '' : typeof stdin === 'string' ? stdin : JSON.stringify(stdin));
  });
}

/** The CNI_* environment of an attachment. */
export function cniEnv(command, { containerId, netns, ifname = 'eth0', args } = {}) {
  return {
    CNI_COMMAND: command,
    ...(containerId !== undefined ? { CNI_CONTAINERID: containerId } : {}),
    ...(netns !== undefined ? { CNI_NETNS: netns } : {}),
    ...(ifname !== undefined ? { CNI_IFNAME: ifname } : {}),
    ...(args !== undefined ? { CNI_ARGS: args } : {}),
    CNI_PATH: '/usr/lib/cni',
  };
}

/** A network configuration in the reference bridge plugin's vocabulary. */
export function bridgeConf(name, subnet, extra = {}) {
  return {
    cniVersion: '1.0.0',
    name,
    type: 'netplumb-cni',
    bridge: `np-${name}`.slice(0, 15),
    isGateway: true,
    ipMasq: true,
    ipam: { type: 'host-local', ranges: [[{ subnet }]], routes: [{ dst: '0.0.0.0/0' }] },
    ...extra,
  };
}

/**
 * Runs a conflist the way libcni does: ADD through the plugins in order, each given the
 * previous result as prevResult; CHECK in order and DEL in reverse, each given the cached
 * final result. `plugins` are [executable, config] pairs; resolves with every call's outcome.
 */
export async function runChain(command, list, plugins, env, cached) {
  const order = command === 'DEL' ? [...plugins].reverse() : plugins;
  let prev = command === 'ADD' ? undefined : cached;
  const calls = [];
  for (const [exe, conf] of order) {
    const stdin = { cniVersion: list.cniVersion, name: list.name, ...conf, ...(prev ? { prevResult: prev } : {}) };
    const r = await runPlugin(env, stdin, { plugin: exe });
    calls.push(r);
    if (r.code !== 0) return { ok: false, calls, failed: r };
    if (command === 'ADD') prev = r.json;
  }
  return { ok: true, calls, result: command === 'ADD' ? prev : undefined };
}

/** Collects every object with a `comment` in an `nft -j` value (set and map elements). */
function commented(v, out) {
  if (Array.isArray(v)) for (const x of v) commented(x, out);
  else if (v && typeof v === 'object') {
    if (typeof v.comment === 'string') out.push(v);
    for (const x of Object.values(v)) commented(x, out);
  }
  return out;
}

/** Elements of netplumb's sets and maps that belong to endpoints of network `name`, per set. */
export function endpointElements(name) {
  const rs = nftJson(undefined).nftables;
  const out = [];
  for (const o of rs) {
    const s = o.set ?? o.map;
    if (!s || s.table !== 'netplumb' || !s.elem) continue;
    for (const e of commented(s.elem, [])) if (e.comment.startsWith(`netplumb net=${name} ep=`)) out.push({ set: s.name, comment: e.comment, elem: e });
  }
  return out;
}

/** The `ports4` map's keys for network `name`'s endpoints: `tcp/8080` ... */
export function publishedPorts(name) {
  const rs = nftJson(undefined).nftables;
  const out = [];
  for (const o of rs) {
    const m = o.map;
    if (!m || m.table !== 'netplumb' || m.name !== 'ports4' || !m.elem) continue;
    for (const [key] of m.elem) {
      const e = key.elem ?? key;
      if (!String(e.comment ?? '').startsWith(`netplumb net=${name} ep=`)) continue;
      const [proto, port] = e.val.concat;
      out.push(`${proto}/${port}`);
    }
  }
  return out;
}

/** Host-side veths that are ports of `bridge`. */
export function bridgePorts(bridge) {
  return ipJson(undefined, 'link', 'show', 'master', bridge).map((l) => l.ifname);
}

/** IPv4 addresses of `ifname` inside namespace `ns`. */
export function addresses(ns, ifname = 'eth0') {
  return ipJson(ns, 'addr', 'show').filter((l) => l.ifname === ifname).flatMap((l) => l.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`));
}
