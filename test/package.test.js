// The npm package as a consumer gets it: `npm pack`, then `npm install` of the tarball in
// a directory outside the repository, with no compiler on PATH, no registry and an empty
// npm cache — proving the prebuilt addon is used, nothing is compiled or downloaded, and
// only the runtime dependencies arrive. A second install of a tarball without a prebuild
// for this machine proves the fallback: node-gyp-build compiles the addon with npm's own
// node-gyp. (The sandbox has no network, so the two runtime dependencies are given as
// tarballs packed from this repository's node_modules: the versions the lockfile pins.)
import test from 'ava';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nameOf = (dir) => dir.slice(dir.lastIndexOf('node_modules/') + 'node_modules/'.length);
const work = mkdtempSync(join(tmpdir(), 'netplumb-package-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));

/** ELF e_machine of a shared object: 62 x86-64, 183 AArch64. */
function elfMachine(file) {
  const b = readFileSync(file);
  if (b.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${file} is not ELF`);
  return b.readUInt16LE(18);
}

/** Bytes of every file under dir (apparent size, as a tarball would count them). */
function bytesUnder(dir) {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += bytesUnder(p);
    else if (e.isFile()) n += statSync(p).size;
  }
  return n;
}

/** The headers of the running node, so a fallback compile never downloads them. */
function nodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = resolve(process.execPath, '../..');
  return existsSync(join(prefix, 'include/node/common.gypi')) ? prefix : undefined;
}

// Packed once for both tests, as `npm pack` does: prepack's prebuild step (make recompiles
// only what changed), the tarball, postpack's removal of prebuilds/. The scripts are run
// here rather than by npm because prepare would rewrite dist/ under the test files running
// beside this one (npm test has just built it).
let packed;
function pack() {
  packed ??= (async () => {
    if (!existsSync(join(ROOT, 'dist/index.js'))) throw new Error('dist/ is not built: run npm run build:ts');
    const dest = join(work, 'tarballs');
    mkdirSync(dest);
    const tarball = async (dir) => {
      const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dest, dir], { cwd: ROOT });
      return join(dest, stdout.trim().split('\n').pop());
    };
    // Every package netplumb needs at run time, direct or not, as the lockfile pins it.
    const { stdout } = await run('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT });
    const runtime = stdout.trim().split('\n').slice(1);
    try {
      await run('sh', [join(ROOT, 'scripts/prebuild.sh')], { cwd: ROOT });
      return { netplumb: await tarball('.'), deps: await Promise.all(runtime.map(tarball)), runtime: runtime.map(nameOf).sort() };
    } finally {
      rmSync(join(ROOT, 'prebuilds'), { recursive: true, force: true });
    }
  })();
  return packed;
}

/** A consumer project; `npm install` of the tarballs there, offline, with a fresh cache. */
async function install(name, tarballs, env) {
  const app = join(work, name);
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: `consumer-${name}`, private: true, type: 'module' }));
  const args = ['install', '--offline', '--cache', join(work, `${name}-cache`), '--no-audit', '--no-fund', '--foreground-scripts', ...tarballs];
  const out = await run('npm', args, { cwd: app, env: { ...process.env, ...env } });
  return { app, log: out.stdout + out.stderr };
}

/** Loads the installed package in a fresh process and returns what it reports. */
async function load(app, env) {
  const script = [
    "import { Netns } from 'netplumb';",
    "import { createRequire } from 'node:module';",
    "const require = createRequire(import.meta.url);",
    "const ns = await Netns.current();",
    "const pkgDir = require.resolve('netplumb/package.json').replace(/package\\.json$/, '');",
    "console.log(JSON.stringify({ inode: ns.inode, addon: require('node-gyp-build').path(pkgDir) }));",
    'ns.close();',
  ].join('\n');
  writeFileSync(join(app, 'load.mjs'), script);
  const { stdout } = await run(process.execPath, ['load.mjs'], { cwd: app, env: { ...process.env, ...env } });
  return JSON.parse(stdout);
}

// Building the prebuilds (the first time, or when native/ changed) and compiling the fallback take ~30 s each
// on an idle 2-core machine, and much longer on a loaded one: a bound, not a timing assert.
const BOUND_MS = 10 * 60_000;

test('the tarball installs with no compiler and no registry, using the prebuilt addon and only the runtime dependencies', async (t) => {
  t.timeout(BOUND_MS);
  const { netplumb, deps, runtime } = await pack();
  t.log(`tarball ${statSync(netplumb).size} bytes`);

  // PATH holds node, npm and sh only: no cc, g++, make or python to compile anything with.
  const bin = join(work, 'bin');
  mkdirSync(bin);
  for (const [name, target] of [['node', process.execPath], ['npm', (await run('sh', ['-c', 'command -v npm'])).stdout.trim()], ['sh', '/bin/sh']]) {
    symlinkSync(target, join(bin, name));
  }
  const env = { PATH: bin, CC: '/bin/false', CXX: '/bin/false' };
  const { app, log } = await install('prebuilt', [netplumb, ...deps], env);
  const installed = join(app, 'node_modules/netplumb');

  t.false(existsSync(join(installed, 'build')), `nothing was compiled:\n${log}`);
  t.is(elfMachine(join(installed, 'prebuilds/linux-x64/netplumb.node')), 62);
  t.is(elfMachine(join(installed, 'prebuilds/linux-arm64/netplumb.node')), 183);

  const { stdout } = await run('npm', ['ls', '--all', '--parseable'], { cwd: app, env: { ...process.env, ...env } });
  const paths = stdout.trim().split('\n');
  const names = paths.slice(1).map(nameOf).sort();
  t.deepEqual(names, ['netplumb', ...runtime].sort(), 'the project, netplumb and its runtime dependencies, nothing else');
  t.false(names.includes('node-gyp'));
  const bytes = bytesUnder(join(app, 'node_modules'));
  t.log(`npm ls --all --parseable: ${paths.length} lines (${names.join(', ')}); node_modules ${bytes} bytes`);
  // The 19 MB this replaces were mostly node-gyp's tree; what remains is mostly the CLI's
  // graph layout (@viz-js/viz, Graphviz as ~5 MB of WebAssembly).
  t.true(bytes < 10 * 1024 * 1024, `node_modules is ${bytes} bytes`);

  const loaded = await load(app, env);
  t.is(loaded.addon, join(installed, `prebuilds/linux-${process.arch}/netplumb.node`));
  t.is(loaded.inode, statSync('/proc/self/ns/net').ino, 'Netns.current() answered from the prebuilt addon');

  // The CNI plugin runs from its bundle, which finds the prebuilt addon from where it is installed:
  // a DEL of a network that does not exist reads this (sandbox) namespace through the addon.
  const cni = join(app, 'node_modules/.bin/netplumb-cni');
  const conf = JSON.stringify({ cniVersion: '1.0.0', name: 'no-such-network', type: 'netplumb-cni' });
  const version = spawnSync(cni, [], { env: { ...env, CNI_COMMAND: 'VERSION' }, input: conf, encoding: 'utf8' });
  t.is(version.status, 0, version.stderr);
  t.deepEqual(JSON.parse(version.stdout).supportedVersions, ['0.4.0', '1.0.0', '1.1.0']);
  const del = spawnSync(cni, [], { env: { ...env, CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0', CNI_NETNS: '', CNI_PATH: '/usr/lib/cni' }, input: conf, encoding: 'utf8' });
  t.is(del.status, 0, del.stdout + del.stderr);
  t.is(del.stdout, '');
});

test('without a prebuild for this machine, install compiles the addon with npm\'s own node-gyp', async (t) => {
  t.timeout(BOUND_MS);
  const { netplumb, deps } = await pack();
  // The same package with this architecture's prebuild taken out: "no prebuild fits".
  const unpacked = join(work, 'unpacked');
  mkdirSync(unpacked);
  await run('tar', ['xzf', netplumb, '-C', unpacked]);
  rmSync(join(unpacked, `package/prebuilds/linux-${process.arch}`), { recursive: true });
  const dest = join(work, 'no-prebuild');
  mkdirSync(dest);
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dest, join(unpacked, 'package')]);
  const tarball = join(dest, stdout.trim().split('\n').pop());

  const dir = nodeDir();
  const env = dir ? { npm_config_nodedir: dir } : {};
  const { app, log } = await install('compiled', [tarball, ...deps], env);
  const installed = join(app, 'node_modules/netplumb');
  t.true(existsSync(join(installed, 'build/Release/netplumb.node')), `the addon was compiled:\n${log}`);
  t.false(existsSync(join(app, 'node_modules/node-gyp')), 'with npm\'s bundled node-gyp, not a dependency');

  const loaded = await load(app, {});
  t.is(loaded.addon, join(installed, 'build/Release/netplumb.node'));
  t.is(loaded.inode, statSync('/proc/self/ns/net').ino);
});
