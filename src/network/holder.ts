/**
 * Layer 4 (network): who holds a reservation. A reservation names the process that took
 * it — pid and start time, so that a pid reused by another process is not taken for it —
 * and when (CLOCK_MONOTONIC, one clock for every process of the machine). Cleanup leaves a
 * reservation whose operation may still be under way (its process runs and it is young)
 * and reclaims one whose process is gone or that has been incomplete for too long.
 * @module
 */
import { readFileSync } from 'node:fs';
import type { Holder } from './tag.js';

/**
 * How long an operation may take before an incomplete reservation of a live process is
 * judged abandoned (its endpoint's namespace deleted under it, or a remove by another
 * process cut short). A connect takes milliseconds.
 */
export const IN_PROGRESS_MAX_S = 60;

/** Start time of process `pid` in clock ticks after boot, or undefined when it is gone or a zombie. */
export function processStart(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name, which may itself contain spaces and parentheses.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (rest[0] === 'Z' || rest[0] === 'X') return undefined;
  const start = Number(rest[19]);
  return Number.isFinite(start) ? start : undefined;
}

/** Seconds on CLOCK_MONOTONIC, which every process of the machine shares. */
export function monotonicSeconds(): number {
  return Number(process.hrtime.bigint() / 1_000_000_000n);
}

let self: { pid: number; start: number } | undefined;

/** This process as a holder, now. */
export function currentHolder(): Holder {
  // The start time of this process is a fact about it, read once.
  if (self?.pid !== process.pid) self = { pid: process.pid, start: processStart(process.pid) ?? 0 };
  return { ...self, time: monotonicSeconds() };
}

/** Whether the operation that took a reservation may still be running. */
export function mayBeInProgress(h: Holder | undefined): boolean {
  if (!h) return false;
  if (processStart(h.pid) !== h.start) return false;
  return monotonicSeconds() - h.time < IN_PROGRESS_MAX_S;
}
