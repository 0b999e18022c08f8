// Running the `netplumb` CLI as a user would, each test on a host of its own: a fresh
// network namespace (made with `ip netns add`) entered with `nsenter --net`, so its
// networks, bridges and nftables table are its own while /run/netns stays shared.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sh, uniqueName } from './helpers.js';

// By path: under `npx ava`, node_modules/.bin comes first, where @vercel/nft's `nft` shadows nftables'.
const NFT = ['/usr/sbin/nft', '/sbin/nft'].find((p) => existsSync(p)) ?? 'nft';

export const BIN = fileURLToPath(new URL('../bin/netplumb.js', import.meta.url));

/** Runs `netplumb ...args` with the given network namespace (a /run/netns name) as its host. */
export function runCli(hostNs, args, opts = {}) {
  const argv = hostNs ? ['nsenter', `--net=/run/netns/${hostNs}`, ...(opts.as ?? []), process.execPath, BIN, ...args] : [...(opts.as ?? []), process.execPath, BIN, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * A host for one test: a fresh namespace with loopback up. Returns `cli(...args)`, and
 * `names(prefix)` for namespaces the test lets the CLI create (removed at the end).
 */
export function cliHost(t) {
  const host = uniqueName('clih');
  sh('ip', ['netns', 'add', host]);
  sh('ip', ['-n', host, 'link', 'set', 'lo', 'up']);
  const made = [];
  t.teardown(() => {
    for (const n of [...made, host]) {
      try {
        sh('ip', ['netns', 'del', n]);
      } catch {}
    }
  });
  const cli = (...args) => runCli(host, args);
  const name = (prefix) => {
    const n = uniqueName(prefix);
    made.push(n);
    return n;
  };
  return { host, cli, name };
}

/** `ip -j -n NS ...` parsed. */
export function ipn(ns, ...args) {
  const out = sh('ip', ['-j', '-n', ns, ...args]);
  return out.trim() ? JSON.parse(out) : [];
}

/** `nft -j list ruleset` inside a named namespace, parsed into its objects. */
export function nftIn(ns) {
  return JSON.parse(sh('ip', ['netns', 'exec', ns, NFT, '-j', 'list', 'ruleset'])).nftables;
}

/** Polls `check` until it returns true, at most `tries` times 50 ms apart (the kernel destroys a dropped namespace's links asynchronously). */
export async function eventually(check, tries = 100) {
  for (let i = 0; i < tries; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
