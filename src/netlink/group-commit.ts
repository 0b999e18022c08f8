/**
 * Layer 1 (netlink codec): group commit of pipeline runs. A run handed to
 * {@link runGrouped} while another of its lane is in flight waits; when that one is done,
 * the runs that waited go together in one addon run: each `merge` step once for all of
 * them (one sendmsg; for nfnetlink, one transaction holding every run's changes), each
 * run's other steps between, in that run's order. Concurrent endpoint setups then cost
 * one thread hop, one nft commit and one veth sendmsg per group instead of per endpoint,
 * and no longer queue on the kernel's rtnl_mutex from a dozen threads at once.
 *
 * Each run still gets the outcome it would have got alone, its own refusal included. The
 * addon run stops at the first refusal, and every run not yet finished goes back to the
 * head of the lane from where it stood, to be merged again. A run whose own message was
 * refused stops there (rtnetlink messages stand alone: the refusal is its own). A run
 * whose own change was refused in a merged transaction goes once more alone, before the
 * others, and gets that answer: a transaction holding other runs' changes can refuse what
 * the run's own transaction would not (the kernel answers EBUSY to a key deleted and
 * added again by two runs of one transaction).
 * @module
 */
import { type PipelineOutcome, type Step, runPipeline, runPipelineRaw } from './pipeline.js';
import { Batch, type Reply, firstError } from './batch.js';
import type { NetlinkConnection } from './connection.js';
import { NFNL_MSG_BATCH_BEGIN, NFNL_MSG_BATCH_END, NLMSG_HDRLEN } from './constants.js';
import { type NetlinkMessage, parseMessages } from './message.js';

/** Runs merged into one addon run at most: 64 veth creates are ~16 KiB in one sendmsg. */
const MAX_GROUP = 64;

type MergedStep = Extract<Step, { connection: NetlinkConnection }> & { merge: 'messages' | 'transaction' };

interface Pending {
  steps: readonly Step[];
  /** Positions of the run's `merge` steps. */
  merged: number[];
  /** Never merged: its own change was refused in a merged transaction. */
  solo?: boolean;
  resolve(outcome: PipelineOutcome): void;
  reject(err: unknown): void;
}

/** Runs waiting for a lane, and whether it has a run in flight. */
interface Lane {
  busy: boolean;
  waiting: Pending[];
}

/** A lane per connection of a run's first `merge` step. */
const lanes = new WeakMap<NetlinkConnection, Lane>();

/**
 * {@link runPipeline}, group-committed with the runs whose first `merge` step is on the
 * same connection. Resolves with what running `steps` alone would have given.
 */
export function runGrouped(steps: readonly Step[]): Promise<PipelineOutcome> {
  const merged: number[] = [];
  steps.forEach((s, i) => {
    if ('connection' in s && s.merge !== undefined) merged.push(i);
  });
  const first = steps[merged[0] ?? -1];
  if (first === undefined || !('connection' in first)) return runPipeline(steps);
  let lane = lanes.get(first.connection);
  if (!lane) lanes.set(first.connection, (lane = { busy: false, waiting: [] }));
  const l = lane;
  return new Promise((resolve, reject) => {
    l.waiting.push({ steps, merged, resolve, reject });
    if (!l.busy) void drain(l);
  });
}

async function drain(lane: Lane): Promise<void> {
  lane.busy = true;
  try {
    while (lane.waiting.length) {
      // Runs the merged run left unfinished come back first, to be merged again.
      const taken = lane.waiting.splice(0, MAX_GROUP);
      for (const group of partition(taken)) {
        // A fault of this module's own must not leave callers waiting forever.
        await runGroup(lane, group).catch((err: unknown) => {
          for (const run of group) run.reject(err);
        });
      }
    }
  } finally {
    lane.busy = false;
  }
}

/** Splits runs into groups that can be merged: their `merge` steps go to the same connections, in the same order, the same way. */
function partition(runs: Pending[]): Pending[][] {
  const groups: Pending[][] = [];
  for (const run of runs) {
    const group = mergeable(run) && !run.solo ? groups.find((g) => g[0] !== undefined && !g[0].solo && sameShape(g[0], run)) : undefined;
    if (group) group.push(run);
    else groups.push([run]);
  }
  return groups;
}

function mergedStep(run: Pending, k: number): MergedStep {
  return run.steps[run.merged[k] as number] as MergedStep;
}

function sameShape(a: Pending, b: Pending): boolean {
  if (!mergeable(a) || a.merged.length !== b.merged.length) return false;
  return a.merged.every((_, k) => {
    const x = mergedStep(a, k);
    const y = mergedStep(b, k);
    return x.connection === y.connection && x.merge === y.merge;
  });
}

/** Whether every transaction step is plain BATCH_BEGIN … BATCH_END (no generation check, which would not hold for the others' changes). */
function mergeable(run: Pending): boolean {
  return run.merged.every((_, k) => {
    const s = mergedStep(run, k);
    if (s.merge === 'messages') return true;
    const r = s.batch.requests;
    const begin = r[0];
    const next = r[1];
    return r.length > 2 && begin?.type === NFNL_MSG_BATCH_BEGIN && r[r.length - 1]?.type === NFNL_MSG_BATCH_END && next !== undefined && next.offset - begin.offset === NLMSG_HDRLEN + 4;
  });
}

async function runGroup(lane: Lane, runs: Pending[]): Promise<void> {
  const only = runs[0] as Pending;
  if (runs.length === 1) {
    await runPipeline(only.steps).then(only.resolve, only.reject);
    return;
  }
  // Where each run's steps are in the merged run.
  const at = runs.map((r) => new Array<number>(r.steps.length));
  const steps: Step[] = [];
  const next = runs.map(() => 0);
  const place = (i: number, end: number) => {
    const run = runs[i] as Pending;
    for (let j = next[i] as number; j < end; j++) (at[i] as number[])[j] = steps.push(run.steps[j] as Step) - 1;
    next[i] = end;
  };
  only.merged.forEach((_, k) => {
    runs.forEach((run, i) => place(i, run.merged[k] as number));
    const first = mergedStep(only, k);
    const batch = new Batch(4096);
    const tx = first.merge === 'transaction';
    if (tx) batch.append(first.batch, 0, 1);
    for (const run of runs) {
      const b = mergedStep(run, k).batch;
      if (tx) batch.append(b, 1, b.length - 1);
      else batch.append(b);
    }
    if (tx) batch.append(first.batch, first.batch.length - 1);
    const index = steps.push({ connection: first.connection, batch }) - 1;
    runs.forEach((run, i) => {
      (at[i] as number[])[run.merged[k] as number] = index;
      next[i] = (run.merged[k] as number) + 1;
    });
  });
  runs.forEach((run, i) => place(i, run.steps.length));

  let ran: Awaited<ReturnType<typeof runPipelineRaw>>;
  try {
    ran = await runPipelineRaw(steps);
  } catch {
    // Nothing ran (a connection closed, a namespace gone): each run alone, to its own error.
    await Promise.all(runs.map((run) => runPipeline(run.steps).then(run.resolve, run.reject)));
    return;
  }
  const settled = runs.map((run, i) => settle(run, at[i] as number[], ran.outcome, ran.raw));
  const rest = settled.flatMap((s, i) => (s.from === undefined ? [] : [from(runs[i] as Pending, s.from, s.results, s.refused)]));
  // Back to the head of the lane, the refused ones first and alone, when the run stopped at
  // some run's own refusal (that run is out of the merge, so the next round gets further);
  // otherwise — a transaction the kernel aborted with no run's own change refused, the
  // whole batch refused — each alone, to its own answer.
  if (settled.some((s) => s.refused)) lane.waiting.unshift(...rest.filter((r) => r.solo), ...rest.filter((r) => !r.solo));
  else for (const r of rest) runPipeline(r.steps).then(r.resolve, r.reject);
  void deliver(runs, settled);
}

/**
 * Resolves the settled runs one per turn of the event loop: each run's continuation (a
 * connect's own JavaScript after its run, and whatever its caller does next, often the
 * next connect's planning) runs in its own turn, with timers and I/O between — as the
 * addon settles its own completions — rather than a whole group's back to back.
 */
async function deliver(runs: Pending[], settled: Settled[]): Promise<void> {
  let first = true;
  for (const [i, s] of settled.entries()) {
    if (s.outcome === undefined) continue;
    if (!first) await new Promise(setImmediate);
    first = false;
    (runs[i] as Pending).resolve(s.outcome);
  }
}

/** What the merged run did for a run: its outcome, or to go on from step `from`. */
interface Settled {
  outcome?: PipelineOutcome;
  from?: number;
  results: PipelineOutcome['results'];
  /** The run's own change was refused in the merged run. */
  refused: boolean;
}

/** `run`'s outcome from the merged run's, or from which step it must go on. */
function settle(run: Pending, at: number[], merged: PipelineOutcome, raw: Awaited<ReturnType<typeof runPipelineRaw>>['raw']): Settled {
  const results: PipelineOutcome['results'] = run.steps.map(() => undefined);
  const fail = (j: number, error: Error): Settled => ({ outcome: { results, error, failedStep: j }, results, refused: true });
  for (let j = 0; j < run.steps.length; j++) {
    const index = at[j] as number;
    const step = run.steps[j] as Step;
    const r = raw[index];
    if (r === null || r === undefined) return { from: j, results, refused: false };
    if (r instanceof Error) return fail(j, r);
    if (r === true) {
      results[j] = true;
      continue;
    }
    if (!('connection' in step) || step.merge === undefined) {
      results[j] = merged.results[index];
      if (merged.failedStep === index && merged.error) return fail(j, merged.error);
      continue;
    }
    // A merged step: this run's replies, as its own batch sorts them.
    const replies: Reply[] = step.batch.collectFrom(bySeq(r));
    const error = firstError(replies);
    // Its own change refused in a transaction of many: once more alone, for its own answer.
    if (error && step.merge === 'transaction') return { from: j, results, refused: true };
    if (error) {
      results[j] = replies;
      return fail(j, error);
    }
    // The kernel aborted the whole transaction for another run's change: this one's again.
    if (step.merge === 'transaction' && merged.failedStep === index) return { from: j, results, refused: false };
    results[j] = replies;
  }
  return { outcome: { results }, results, refused: false };
}

/** A merged step's replies by sequence number, parsed once for all the runs that read them. */
const parsed = new WeakMap<Buffer, Map<number, NetlinkMessage[]>>();
function bySeq(data: Buffer): Map<number, NetlinkMessage[]> {
  let m = parsed.get(data);
  if (m) return m;
  m = new Map();
  for (const msg of parseMessages(data)) {
    const list = m.get(msg.seq);
    if (list) list.push(msg);
    else m.set(msg.seq, [msg]);
  }
  parsed.set(data, m);
  return m;
}

/** The rest of `run`, from step `start` (`solo`: never merged): its outcome is `run`'s, with the steps before as `done` says. */
function from(run: Pending, start: number, done: PipelineOutcome['results'], solo: boolean): Pending {
  return {
    steps: run.steps.slice(start),
    merged: run.merged.filter((m) => m >= start).map((m) => m - start),
    solo,
    resolve: (rest) =>
      run.resolve({
        results: [...done.slice(0, start), ...rest.results],
        ...(rest.error ? { error: rest.error, failedStep: start + (rest.failedStep ?? 0) } : {}),
      }),
    reject: run.reject,
  };
}
