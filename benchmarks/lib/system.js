// What the benchmark reads about its own process and machine: CPU, memory, fds, the
// links present in the (sandboxed) current namespace, and the machine's description.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { promisify } from 'node:util';

export const execFileP = promisify(execFile);

const CLK_TCK = 100; // USER_HZ: what /proc/*/stat counts in on every Linux ABI

/** CPU (user+sys, µs) used by children we have waited for (the shell baseline's ip/nft). */
export function childrenCpuUs() {
  // /proc/self/stat: fields after the ")" of comm; cutime and cstime are fields 16 and 17.
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[13]) + Number(f[14])) * 1e6) / CLK_TCK;
}

/** user+sys CPU of this process so far, µs. */
export function cpuUs() {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** Open file descriptors of this process. */
export function openFds() {
  return readdirSync('/proc/self/fd').length;
}

/** Resident set size, bytes. */
export function rss() {
  return process.memoryUsage.rss();
}

/**
 * Names of the network devices in the current namespace. /proc/self/net/dev follows the
 * reader's namespace (unlike /sys/class/net, which shows the namespace sysfs was mounted in).
 */
export function deviceNames() {
  const lines = readFileSync('/proc/self/net/dev', 'utf8').split('\n').slice(2);
  const names = new Set();
  for (const l of lines) {
    const c = l.indexOf(':');
    if (c > 0) names.add(l.slice(0, c).trim());
  }
  return names;
}

/**
 * Waits until none of `names` is a device here any more; resolves with the µs since
 * `startMs` (a performance.now() value) at which the last one went. Bounded: 60 s.
 */
export async function waitDevicesGone(names, startMs) {
  const deadline = performance.now() + 60_000;
  for (;;) {
    const present = deviceNames();
    if (!names.some((n) => present.has(n))) return (performance.now() - startMs) * 1000;
    if (performance.now() > deadline) throw new Error(`devices still present 60 s after teardown: ${names.filter((n) => present.has(n)).slice(0, 5).join(', ')}...`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Reads a sysctl of the current (sandbox) namespace. */
export function sysctlGet(key) {
  return readFileSync(`/proc/sys/${key.replace(/\./g, '/')}`, 'utf8').trim();
}

/** Writes a sysctl of the current (sandbox) namespace. */
export function sysctlSet(key, value) {
  writeFileSync(`/proc/sys/${key.replace(/\./g, '/')}`, String(value));
}

/** What the results file says about the machine. */
export function machine() {
  const cpus = os.cpus();
  return {
    host: os.hostname(),
    kernel: os.release(),
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryBytes: os.totalmem(),
    node: process.version,
    arch: process.arch,
  };
}
