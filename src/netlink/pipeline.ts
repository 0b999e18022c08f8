/**
 * Layer 1 (netlink codec): several batches — on connections of different namespaces and
 * protocols — and sysctl writes, run in order by one addon thread. The endpoint hot path
 * (veth and ports in the host, configuration in the container) then costs one thread hop
 * instead of one per step. The first step the kernel refuses ends the run.
 * @module
 */
import { type PipelineResults, type PipelineStep, native } from '../native.js';
import { type Batch, type Reply, firstError } from './batch.js';
import type { NetlinkConnection } from './connection.js';
import { diagnosticsStart, firstReplyError, publishBatch } from './diagnostics.js';

/**
 * A step: a batch on a connection; a batch on a socket of `protocol` that the addon
 * thread opens in the namespace `nsFd` for it (nothing opened on the JS thread, nothing
 * held after); or a sysctl written from inside a namespace. `merge` lets
 * {@link runGrouped} send a connection's batch together with other runs' batches for the
 * same connection: `messages` when each message stands alone (rtnetlink), `transaction`
 * when the batch is one nfnetlink transaction (the runs' changes then go in one
 * transaction, applied all or nothing).
 */
export type Step =
  | { connection: NetlinkConnection; batch: Batch; merge?: 'messages' | 'transaction' }
  | { nsFd: number; protocol: number; batch: Batch }
  | { nsFd: number; sysctl: string; value: string };

/** The netlink protocol a batch step talks. */
function protocolOf(s: Extract<Step, { batch: Batch }>): number {
  return 'connection' in s ? s.connection.protocol : s.protocol;
}

/** What a run did: per step its replies (netlink) or `true` (sysctl); `undefined` if it did not run. */
export interface PipelineOutcome {
  results: Array<Reply[] | true | undefined>;
  /** The first failure: a NetlinkError, a SystemError, or a missing reply; undefined when all succeeded. */
  error?: Error;
  /** Index of the step that failed. */
  failedStep?: number;
}

/**
 * Runs `steps` in order off the JS thread. Every connection lends one socket for the
 * whole run (two steps on one connection share it, in order). Resolves with what each
 * step did and the first failure; rejects only when the run could not start.
 */
export async function runPipeline(steps: readonly Step[]): Promise<PipelineOutcome> {
  return (await runPipelineRaw(steps)).outcome;
}

/** @internal {@link runPipeline}, also giving what the addon returned for each step (a netlink step's reply datagrams, unsorted). */
export async function runPipelineRaw(steps: readonly Step[]): Promise<{ outcome: PipelineOutcome; raw: PipelineResults }> {
  const held = new Map<NetlinkConnection, number>();
  try {
    for (const s of steps) if ('connection' in s && !held.has(s.connection)) held.set(s.connection, await s.connection.acquire());
    const nativeSteps: PipelineStep[] = steps.map((s) =>
      'connection' in s
        ? { fd: held.get(s.connection) as number, request: s.batch.bytes(), expect: s.batch.expected() }
        : 'batch' in s
          ? { nsFd: s.nsFd, protocol: s.protocol, request: s.batch.bytes(), expect: s.batch.expected() }
          : { nsFd: s.nsFd, path: s.sysctl, value: s.value },
    );
    const start = diagnosticsStart();
    let raw: PipelineResults;
    try {
      raw = await native.pipeline(nativeSteps);
    } catch (err) {
      steps.forEach((s, i) => {
        if ('batch' in s) publishBatch(protocolOf(s), s.batch, start, err, { step: i, steps: steps.length });
      });
      throw err;
    }
    const outcome: PipelineOutcome = { results: [] };
    raw.forEach((r, i) => {
      const s = steps[i] as Step;
      if (r === null) {
        outcome.results.push(undefined);
      } else if (r instanceof Error) {
        if ('batch' in s) publishBatch(protocolOf(s), s.batch, start, r, { step: i, steps: steps.length }, raw.durationsMs?.[i]);
        outcome.results.push(undefined);
        outcome.error ??= r;
        outcome.failedStep ??= i;
      } else if (r === true || !('batch' in s)) {
        outcome.results.push(true);
      } else {
        const replies = s.batch.collect(r);
        publishBatch(protocolOf(s), s.batch, start, firstReplyError(replies), { step: i, steps: steps.length }, raw.durationsMs?.[i]);
        outcome.results.push(replies);
        const error = outcome.error === undefined ? firstError(replies) : undefined;
        if (error) {
          outcome.error = error;
          outcome.failedStep = i;
        }
      }
    });
    return { outcome, raw };
  } finally {
    for (const [conn, fd] of held) conn.release(fd);
  }
}
