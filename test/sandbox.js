#!/usr/bin/env node
// Runs a command inside a throwaway sandbox: a new network and mount namespace with a
// private /run/netns, so tests, the demo and benchmarks never touch the machine's real
// interfaces, routes, ruleset or named namespaces, even when they are buggy.
//
//   node test/sandbox.js ava          the test suite; prints "N passed, N failed[, N skipped]"
//   node test/sandbox.js node X.js    any other command
//
// Without root the command runs unsandboxed and privileged tests skip themselves (under
// CI=true a skip counts as a failure).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
if (args.length === 0) {
  console.error('usage: node test/sandbox.js <command> [args...]');
  process.exit(2);
}

const isRoot = process.getuid?.() === 0;

// npm puts node_modules/.bin first on PATH, where ava's dependency @vercel/nft shadows the
// nftables `nft` the tests use as an oracle; and iproute2/nftables live in sbin.
const dirs = (process.env.PATH ?? '').split(':').filter((d) => d && !d.includes('node_modules/.bin'));
for (const d of ['/usr/local/sbin', '/usr/sbin', '/sbin']) if (!dirs.includes(d)) dirs.push(d);
process.env.PATH = dirs.join(':');

if (args[0] === '--inside') {
  inside(args.slice(1));
} else if (isRoot && process.env.NETPLUMB_SANDBOX !== '1') {
  // Re-exec inside new namespaces; propagation private keeps our mounts out of the host.
  const r = spawnSync('unshare', ['--net', '--mount', '--propagation', 'private', '--', process.execPath, self, '--inside', ...args], {
    stdio: 'inherit',
  });
  if (r.error) {
    console.error(`sandbox: cannot run unshare: ${r.error.message}`);
    process.exit(1);
  }
  process.exit(r.status ?? 1);
} else {
  if (!isRoot) console.error('sandbox: not root: privileged tests will be skipped (CI=true makes them fail)');
  run(args);
}

function inside(cmd) {
  mkdirSync('/run/netns', { recursive: true });
  const steps = [
    ['mount', ['-t', 'tmpfs', '-o', 'mode=755', 'netplumb-sandbox', '/run/netns']],
    ['ip', ['link', 'set', 'lo', 'up']],
  ];
  for (const [c, a] of steps) {
    const r = spawnSync(c, a, { stdio: 'inherit' });
    if (r.status !== 0) {
      console.error(`sandbox: ${c} ${a.join(' ')} failed`);
      process.exit(1);
    }
  }
  process.env.NETPLUMB_SANDBOX = '1';
  run(cmd);
}

function run(cmd) {
  if (cmd[0] !== 'ava') {
    const child = spawn(cmd[0], cmd.slice(1), { stdio: 'inherit' });
    child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
    return;
  }
  // The test suite: TAP lets us count what ran; the last line is the plain summary CI reads.
  const avaBin = fileURLToPath(new URL('../node_modules/ava/entrypoints/cli.mjs', import.meta.url));
  const child = spawn(process.execPath, [avaBin, '--tap', ...cmd.slice(1)], { stdio: ['inherit', 'pipe', 'inherit'] });
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  // Skipped because this kernel lacks a feature (a module such as 8021q), said in the title:
  // the same on every machine of this kind, so not a skip CI must refuse.
  let featureSkipped = 0;
  let pending = '';
  const count = (line) => {
    if (/^not ok \d+/.test(line)) {
      if (/# TODO/.test(line)) skipped++;
      else failed++;
    } else if (/^ok \d+/.test(line)) {
      if (/# (SKIP|TODO)/.test(line)) {
        if (/\[skipped: the kernel has no /.test(line)) featureSkipped++;
        else skipped++;
      } else passed++;
    }
  };
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    lines.forEach(count);
  });
  child.on('exit', (code) => {
    count(pending);
    const ci = process.env.CI === 'true' || process.env.CI === '1';
    if (ci && skipped > 0) {
      console.log(`sandbox: ${skipped} test(s) skipped under CI: counted as failed`);
      failed += skipped;
      skipped = 0;
    }
    if (code !== 0 && failed === 0) failed = 1; // ava failed without a failing test (e.g. a crash)
    if (featureSkipped) console.log(`sandbox: ${featureSkipped} test(s) skipped: this kernel lacks what they need (named in their titles)`);
    skipped += featureSkipped;
    console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
    process.exit(failed > 0 ? 1 : 0);
  });
}
