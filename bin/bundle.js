// Loads a CommonJS bundle (dist/netplumb-cni.cjs) through V8's code cache, the Node 20
// counterpart of `module.enableCompileCache()` (Node 22): the bundle is compiled once at
// build time and every later process reads the compiled code instead of compiling ~300 KB
// of JavaScript again. A cache made by another Node or V8 is rejected by V8, and the
// bundle is then compiled as usual.
//   node bin/bundle.js FILE    writes FILE.cache (npm run build:cni does)
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

function compile(file, cachedData) {
  const source = readFileSync(file, 'utf8');
  return new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: file, ...(cachedData ? { cachedData } : {}) });
}

function run(script, file) {
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
  return module.exports;
}

/** The exports of the bundle at `file`, compiled from `file.cache` when V8 accepts it. */
export function loadBundle(file) {
  let cachedData;
  try {
    cachedData = readFileSync(`${file}.cache`);
  } catch {
    cachedData = undefined;
  }
  return run(compile(file, cachedData), file);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = resolve(process.argv[2]);
  const script = compile(file);
  run(script, file);
  writeFileSync(`${file}.cache`, script.createCachedData());
}
