// docs/errors.md lists every error code the library can give a caller: each
// `ERR_NETPLUMB_*` code and each errno name netplumb raises by itself
// (`new NetplumbError(..., 'EBUSY')`) found in src/ must have a row there, and every
// exported error class must be described — so a new code cannot ship undocumented.
import test from 'ava';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const doc = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') ? [readFileSync(p, 'utf8')] : [];
  });
}
const src = sources(join(ROOT, 'src')).join('\n');
/** A code has a row when it appears in backquotes at the start of a table cell. */
const documented = (code) => new RegExp(`^\\|\\s*(\`[A-Z_]+\`,\\s*)*\`${code}\``, 'm').test(doc);

test('every ERR_NETPLUMB_* code used in src/ is documented', (t) => {
  const codes = [...new Set(src.match(/ERR_NETPLUMB_[A-Z_]+/g))].sort();
  t.true(codes.length >= 6, `found ${codes.join(', ')}`);
  t.deepEqual(codes.filter((c) => !documented(c)), []);
});

test('every errno name netplumb raises by itself is documented', (t) => {
  // The code argument of one `new NetplumbError(...)` call: not past the end of its statement.
  const codes = [...new Set([...src.matchAll(/new NetplumbError\((?:(?!new |;)[\s\S]){0,400}?,\s*'(E[A-Z0-9]+)'\s*[,)]/g)].map((m) => m[1]))].sort();
  t.true(codes.length >= 3, `found ${codes.join(', ')}`);
  t.deepEqual(codes.filter((c) => !documented(c)), []);
});

test('every exported error class is described', (t) => {
  const index = readFileSync(join(ROOT, 'src/index.ts'), 'utf8');
  const classes = [...new Set(index.match(/\b[A-Za-z]*Error\b/g))].filter((c) => /^[A-Z]/.test(c)).sort();
  t.true(classes.includes('NetplumbError') && classes.includes('PortAllocatedError'));
  t.deepEqual(classes.filter((c) => !new RegExp(`^\\| \`${c}\` \\|`, 'm').test(doc)), []);
});
