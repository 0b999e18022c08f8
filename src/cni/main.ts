/**
 * CNI plugin entry (`netplumb-cni`): reads CNI_COMMAND and the configuration on stdin,
 * runs the verb, prints the result (or the spec's error JSON) on stdout and exits. Logs go
 * to stderr only. VERSION and malformed calls load neither the library nor the addon; each
 * verb's module is imported only when that verb runs, to keep the start-up short. The verbs
 * use only what src/index.ts exports, imported from the modules that define it, so that a
 * call does not also load the parts of the library it never uses (the DNS resolver ...).
 * @module
 */
import { writeSync } from 'node:fs';
import { parseCommand, parseEnv } from './env.js';
import { errorResult, toCniError } from './errors.js';
import { retryTransient } from './retry.js';
import { decodeConfig, readStdin } from './stdin.js';
import { LATEST_VERSION, versionInfo } from './version.js';

function print(v: unknown): void {
  // Synchronous: the process exits right after, and stdout may be a pipe.
  writeSync(1, `${JSON.stringify(v)}\n`);
}

/** stderr, never stdout: stdout is the runtime's result channel. */
function log(msg: string): void {
  writeSync(2, `netplumb-cni: ${msg}\n`);
}

/** Logs a transient failure that is being retried. */
function retried(attempt: number, e: Error): void {
  log(`attempt ${attempt} failed transiently, retrying: ${e.message}`);
}

/** The version to put in an error result: the configuration's, when it has a usable one. */
function errorVersion(raw: Record<string, unknown> | undefined): string {
  return typeof raw?.cniVersion === 'string' && raw.cniVersion !== '' ? raw.cniVersion : LATEST_VERSION;
}

/** Runs one plugin call; resolves with the exit code. */
export async function main(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let raw: Record<string, unknown> | undefined;
  let text: string | undefined;
  try {
    const command = parseCommand(env);
    if (command === 'VERSION') {
      print(versionInfo());
      return 0;
    }
    text = await readStdin();
    raw = decodeConfig(text);
    const cniEnv = parseEnv(env, command);
    const config = await import('./config.js');
    switch (command) {
      case 'ADD': {
        const conf = config.parseConfig(raw, command, cniEnv.args);
        const [{ add }, { shapeResult }] = await Promise.all([import('./add.js'), import('./result.js')]);
        print(shapeResult(await retryTransient(() => add(cniEnv, conf), retried), conf.cniVersion));
        return 0;
      }
      case 'DEL': {
        const { del } = await import('./del.js');
        const conf = config.parseBase(raw, command);
        await retryTransient(() => del(cniEnv, conf), retried);
        return 0;
      }
      case 'CHECK': {
        const conf = config.parseConfig(raw, command, cniEnv.args);
        const { check } = await import('./check.js');
        await retryTransient(() => check(cniEnv, conf));
        return 0;
      }
      case 'STATUS': {
        const { status } = await import('./status.js');
        const { name } = config.parseBase(raw, command);
        await retryTransient(() => status(name));
        return 0;
      }
      case 'GC': {
        const { gc } = await import('./gc.js');
        const conf = config.parseBase(raw, command);
        const removed = await retryTransient(() => gc(conf));
        if (removed.length) log(`GC removed ${removed.join(', ')}`);
        return 0;
      }
    }
  } catch (e) {
    // A bad environment is found before stdin is read: the error still speaks the configuration's version.
    if (raw === undefined && text === undefined) raw = await readStdin().then(decodeConfig, () => undefined).catch(() => undefined);
    const err = toCniError(e);
    log(`${env.CNI_COMMAND ?? '?'} ${env.CNI_CONTAINERID ?? ''}/${env.CNI_IFNAME ?? ''} failed: code ${err.cniCode}: ${err.message}${err.details ? ` (${err.details})` : ''}`);
    print(errorResult(err, errorVersion(raw)));
    return 1;
  }
}

