/**
 * Layer 1 (netlink codec): several batches — on connections of different namespaces and
 * protocols — and sysctl writes, run in order by one addon thread. The endpoint hot path
 * (veth and ports in the host, configuration in the container) then costs one thread hop
 * instead of one per step. The first step the kernel refuses ends the run.
 * @module
 */
import { type PipelineStep, native } from '../native.js';
import { type Reply, throwFirstError } from './batch.js';
import type { Batch } from './batch.js';
import type { NetlinkConnection } from './connection.js';
import { diagnosticsStart, firstReplyError, publishBatch } from './diagnostics.js';

/** A step: a batch on a connection, or a sysctl written from inside a namespace. */
export type Step = { connection: NetlinkConnection; batch: Batch } | { nsFd: number; sysctl: string; value: string };

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
  const held = new Map<NetlinkConnection, number>();
  try {
    for (const s of steps) if ('connection' in s && !held.has(s.connection)) held.set(s.connection, await s.connection.acquire());
    const nativeSteps: PipelineStep[] = steps.map((s) =>
      'connection' in s
        ? { fd: held.get(s.connection) as number, request: s.batch.bytes(), expect: s.batch.expected() }
        : { nsFd: s.nsFd, path: s.sysctl, value: s.value },
    );
    const start = diagnosticsStart();
    let raw: Awaited<ReturnType<typeof native.pipeline>>;
    try {
      raw = await native.pipeline(nativeSteps);
    } catch (err) {
      steps.forEach((s, i) => {
        if ('connection' in s) publishBatch(s.connection.protocol, s.batch, start, err, { step: i, steps: steps.length });
      });
      throw err;
    }
    const outcome: PipelineOutcome = { results: [] };
    raw.forEach((r, i) => {
      const s = steps[i] as Step;
      if (r === null) {
        outcome.results.push(undefined);
      } else if (r instanceof Error) {
        if ('connection' in s) publishBatch(s.connection.protocol, s.batch, start, r, { step: i, steps: steps.length }, raw.durationsMs?.[i]);
        outcome.results.push(undefined);
        outcome.error ??= r;
        outcome.failedStep ??= i;
      } else if (r === true || !('connection' in s)) {
        outcome.results.push(true);
      } else {
        const replies = s.batch.collect(r);
        publishBatch(s.connection.protocol, s.batch, start, firstReplyError(replies), { step: i, steps: steps.length }, raw.durationsMs?.[i]);
        outcome.results.push(replies);
        if (outcome.error === undefined) {
          try {
            throwFirstError(replies);
          } catch (e) {
            outcome.error = e as Error;
            outcome.failedStep = i;
          }
        }
      }
    });
    return outcome;
  } finally {
    for (const [conn, fd] of held) conn.release(fd);
  }
}
