/**
 * CNI plugin: retrying a verb when the kernel state moved under it. Every CNI call is its
 * own process and many run at once (a runtime starting a pod's containers, a node
 * rebooting): reading the ruleset while others commit can keep failing with EAGAIN, and a
 * commit against a stale generation with ERESTART. Each operation of the library either
 * completes or leaves nothing, so the whole verb can run again, after a random pause that
 * spreads the contenders out. (NetplumbError from its own module, which src/index.ts
 * re-exports, keeps the entry from loading the library before a verb needs it.)
 * @module
 */
import { NetplumbError } from '../errors.js';

/** Attempts before the failure goes to the runtime (as code 11, try again later). */
const ATTEMPTS = 12;

/** Whether `e` says "the state changed under you, try again". */
export function isTransient(e: unknown): boolean {
  return e instanceof NetplumbError && (e.code === 'EAGAIN' || e.code === 'ERESTART');
}

/** Runs `fn` until it does not fail transiently, at most {@link ATTEMPTS} times. */
export async function retryTransient<T>(fn: () => Promise<T>, onRetry?: (attempt: number, e: NetplumbError) => void): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= ATTEMPTS || !isTransient(e)) throw e;
      onRetry?.(attempt, e as NetplumbError);
      await new Promise((r) => setTimeout(r, Math.random() * 10 * Math.min(attempt, 6)));
    }
  }
}
