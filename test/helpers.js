// Shared test helpers: privileged tests, fresh namespaces per test, and the oracles
// (`ip -j`, `nft -j`) through which behaviour is checked.
import test from 'ava';
import { execFileSync, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export const isRoot = process.getuid?.() === 0;
export const inSandbox = process.env.NETPLUMB_SANDBOX === '1';
export const isCI = process.env.CI === 'true' || process.env.CI === '1';

const skipReason = !isRoot
  ? 'needs root (run npm test as root)'
  : !inSandbox
    ? 'must run inside the sandbox (npm test)'
    : undefined;

/**
 * A test that needs root and the sandbox. Skipped with a visible reason otherwise; under
 * CI it fails instead, so a CI run can never pass by skipping.
 */
export function ptest(title, fn) {
  if (!skipReason) return test(title, fn);
  if (isCI) return test(title, (t) => t.fail(`privileged test cannot run under CI: ${skipReason}`));
  return test.skip(`${title} [skipped: ${skipReason}]`, fn);
}
ptest.serial = function serial(title, fn) {
  if (!skipReason) return test.serial(title, fn);
  if (isCI) return test.serial(title, (t) => t.fail(`privileged test cannot run under CI: ${skipReason}`));
  return test.serial.skip(`${title} [skipped: ${skipReason}]`, fn);
};

let counter = 0;
/** A namespace name unique to this test process. */
export function uniqueName(prefix = 't') {
  counter++;
  return `${prefix}${process.pid}x${counter}`.slice(0, 15);
}

/** Runs a program synchronously and returns its stdout (tests only: an oracle). */
export function sh(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}

/** Runs a program asynchronously and returns its stdout. */
export async function shAsync(cmd, args, opts = {}) {
  const { stdout } = await execFileP(cmd, args, { encoding: 'utf8', ...opts });
  return stdout;
}

/** `ip -j [-n ns] args...` parsed. */
export function ipJson(ns, ...args) {
  const out = sh('ip', ['-j', ...(ns ? ['-n', ns] : []), ...args]);
  return out.trim() ? JSON.parse(out) : [];
}

/** `ip [-n ns] args...` for setting things up as a user would. */
export function ip(ns, ...args) {
  return sh('ip', [...(ns ? ['-n', ns] : []), ...args]);
}

/** nftables' nft by path: `npx` puts node_modules/.bin first on PATH, where @vercel/nft has an `nft` of its own. */
const NFT = ['/usr/sbin/nft', '/sbin/nft'].find((p) => existsSync(p)) ?? 'nft';

/** `nft -j list ruleset` in a named namespace (or the current one), parsed. */
export function nftJson(ns, ...args) {
  const cmd = ['-j', ...(args.length ? args : ['list', 'ruleset'])];
  const out = ns ? sh('ip', ['netns', 'exec', ns, NFT, ...cmd]) : sh(NFT, cmd);
  return JSON.parse(out);
}

/** Makes a namespace with `ip netns add` and registers its removal. */
export function ipNetns(t, name = uniqueName('ip')) {
  sh('ip', ['netns', 'add', name]);
  t.teardown(() => {
    try {
      sh('ip', ['netns', 'del', name]);
    } catch {}
  });
  return name;
}
