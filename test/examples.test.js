// Every ```ts / ```js block of README.md, docs/guide.md and docs/errors.md and every file
// in examples/ runs here verbatim, so
// no example can rot: TypeScript blocks are first type-checked against the package's own
// .d.ts (with @types/node, as a user compiles them), then stripped of types with the
// repository's typescript and run as .mjs modules importing 'netplumb' (resolved to this
// repository through a node_modules/netplumb symlink beside the repository's own
// dependencies). examples/*.js run as they are (the package refers to itself by name).
// Each one runs in a sandbox of its own (a fresh network + mount namespace with a private
// /run/netns: test/sandbox.js), so none sees what another left, and fails the test by
// exiting non-zero (any uncaught throw).
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { ptest } from './helpers.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SANDBOX = join(ROOT, 'test/sandbox.js');
const TIMEOUT_MS = 90_000;

/** A markdown file's runnable blocks (```ts, ```js), each with the heading it sits under. */
function readmeBlocks(markdown) {
  const blocks = [];
  let heading = '(top)';
  let open;
  markdown.split('\n').forEach((line, i) => {
    if (open) {
      if (/^```\s*$/.test(line)) {
        blocks.push(open);
        open = undefined;
      } else open.code += `${line}\n`;
      return;
    }
    const h = /^#{1,6}\s+(.*)$/.exec(line);
    if (h) heading = h[1].trim();
    const fence = /^```(\w*)/.exec(line);
    if (fence) {
      const lang = fence[1];
      const runnable = ['ts', 'typescript', 'js', 'javascript'].includes(lang);
      open = { lang: lang.startsWith('t') ? 'ts' : 'js', heading, line: i + 1, code: '', runnable };
    }
  });
  return blocks.filter((b) => b.runnable);
}

const work = mkdtempSync(join(tmpdir(), 'netplumb-examples-'));
mkdirSync(join(work, 'node_modules'));
symlinkSync(ROOT, join(work, 'node_modules/netplumb'));
// The repository's own dependencies too (a block may import dns-packet, as a user's code would).
for (const dep of readdirSync(join(ROOT, 'node_modules'))) {
  if (!dep.startsWith('.') && dep !== 'netplumb') symlinkSync(join(ROOT, 'node_modules', dep), join(work, 'node_modules', dep));
}
test.after.always(() => rmSync(work, { recursive: true, force: true }));

// The README, and the guide and error pages that open the API reference.
const DOCS = ['README.md', 'docs/guide.md', 'docs/errors.md'];
const blocks = DOCS.flatMap((doc) => readmeBlocks(readFileSync(join(ROOT, doc), 'utf8')).map((b) => ({ ...b, doc }))).map((b, i) => {
  const base = join(work, `block-${i + 1}`);
  if (b.lang === 'ts') writeFileSync(`${base}.mts`, b.code);
  const js = b.lang === 'ts' ? ts.transpileModule(b.code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText : b.code;
  writeFileSync(`${base}.mjs`, js);
  return { ...b, title: `${b.doc}:${b.line} (${b.heading})`, file: `${base}.mjs`, ts: b.lang === 'ts' ? `${base}.mts` : undefined };
});
const examples = readdirSync(join(ROOT, 'examples')).filter((f) => /\.(m?js)$/.test(f)).sort();

/** Runs `node file` in a fresh sandbox of its own; resolves with its exit code and output. */
function runSandboxed(file, cwd) {
  return new Promise((done) => {
    const env = { ...process.env };
    delete env.NETPLUMB_SANDBOX; // so test/sandbox.js makes a new one inside ours
    // detached: its own process group, so a hung example is ended with everything it started.
    const child = spawn(process.execPath, [SANDBOX, process.execPath, file], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      out += `\n[killed after ${TIMEOUT_MS} ms]`;
      process.kill(-child.pid, 'SIGKILL');
    }, TIMEOUT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      done({ code: code ?? (signal ? 128 : 1), out });
    });
  });
}

test('the docs have runnable blocks and examples/ has files', (t) => {
  for (const doc of DOCS) t.true(blocks.some((b) => b.doc === doc), `${doc} has a runnable block`);
  t.true(examples.length >= 4, `${examples.length} examples`);
});

test('the docs\' TypeScript blocks type-check against the package\'s .d.ts with @types/node', (t) => {
  const files = blocks.filter((b) => b.ts).map((b) => b.ts);
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    types: ['node'],
    typeRoots: [join(ROOT, 'node_modules/@types')],
  });
  const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${blocks.find((b) => b.ts === d.file.fileName)?.title ?? d.file.fileName}+${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}: ` : '';
    return `${where}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
  t.deepEqual(diagnostics, []);
});

for (const b of blocks) {
  ptest.serial(`runs ${b.title}`, async (t) => {
    const { code, out } = await runSandboxed(b.file, work);
    t.log(out.trim());
    t.is(code, 0, out);
  });
}

for (const f of examples) {
  ptest.serial(`runs examples/${f}`, async (t) => {
    const { code, out } = await runSandboxed(join('examples', f), ROOT);
    t.log(out.trim());
    t.is(code, 0, out);
    t.regex(out, /\S/, 'it prints what it did');
  });
}
