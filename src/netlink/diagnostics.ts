/**
 * Layer 1 (netlink codec): every batch sent to the kernel is published on the
 * `diagnostics_channel` named `netplumb:batch`, so an orchestrator can trace and time
 * netplumb without patching it:
 *
 * ```ts
 * import { subscribe } from 'node:diagnostics_channel';
 * subscribe('netplumb:batch', (m) => console.log(m)); // m: BatchDiagnostic
 * ```
 *
 * Nothing is measured or built while the channel has no subscribers.
 * @module
 */
import { channel } from 'node:diagnostics_channel';
import { NetplumbError } from '../errors.js';
import type { Batch, Reply } from './batch.js';
import { NETLINK_NETFILTER } from './constants.js';

/** Name of the channel every kernel batch is published on. */
export const BATCH_CHANNEL = 'netplumb:batch';

/** What is published on `netplumb:batch` for each batch, once the kernel has answered (or the exchange failed). */
export interface BatchDiagnostic {
  /** The netlink protocol: rtnetlink or nfnetlink. */
  family: 'route' | 'netfilter';
  /**
   * Every message of the batch as sent, in order (so `operations[err.index]` names a
   * failing message), e.g. `['RTM_NEWLINK veth0']` or `['NFNL_MSG_BATCH_BEGIN',
   * 'NFT_MSG_NEWSETELEM ip netplumb/ports', 'NFNL_MSG_BATCH_END']`.
   */
  operations: string[];
  /** Number of netlink messages sent (`operations.length`). */
  messages: number;
  /**
   * Milliseconds from handing the batch to the addon until its replies were back. For a
   * step of a pipeline (several batches run by one addon thread), the step's own time on
   * that thread.
   */
  durationMs: number;
  /** For a step of a pipeline: its position and the number of steps. */
  pipeline?: { step: number; steps: number };
  /** The first failure: the kernel's refusal or the system call's. */
  error?: { code: string; errno: number | undefined; message: string };
}

const batchChannel = channel(BATCH_CHANNEL);

/** A start time when someone listens, else undefined (nothing is measured). */
export function diagnosticsStart(): number | undefined {
  return batchChannel.hasSubscribers ? performance.now() : undefined;
}

/** The first refusal among `replies`. */
export function firstReplyError(replies: readonly Reply[] | undefined): Error | undefined {
  return replies?.find((r) => r.error)?.error;
}

/**
 * Publishes one batch's outcome, if `start` says someone was listening when it began
 * (and is still listening). `durationMs`, when given, is the time measured by the addon.
 */
export function publishBatch(
  protocol: number,
  batch: Batch,
  start: number | undefined,
  error: unknown,
  pipeline?: { step: number; steps: number },
  durationMs?: number,
): void {
  if (start === undefined || !batchChannel.hasSubscribers) return;
  const operations = batch.requests.map((r) => r.operation);
  const message: BatchDiagnostic = {
    family: protocol === NETLINK_NETFILTER ? 'netfilter' : 'route',
    operations,
    messages: operations.length,
    durationMs: durationMs ?? performance.now() - start,
  };
  if (pipeline) message.pipeline = pipeline;
  if (error !== undefined) {
    const e = error as { code?: unknown; errno?: unknown; message?: unknown };
    message.error = {
      code: typeof e.code === 'string' ? e.code : error instanceof NetplumbError ? error.code : 'ERR_NETPLUMB_INTERNAL',
      errno: typeof e.errno === 'number' ? Math.abs(e.errno) : undefined,
      message: typeof e.message === 'string' ? e.message : String(error),
    };
  }
  batchChannel.publish(message);
}
