/**
 * The overlap policy at claim time: whether a queued run of a routine starts, waits, is
 * skipped, or cancels the run going now. Pure; `store/sql/claim-runs.ts` applies it.
 *
 * Runs *in line* — a run that started before (a retry, a run recovered from a dead worker or
 * handed back at shutdown), or a catch-up run — are work the routine already owes: the overlap policy never skips or cancels them. They start one at a
 * time, oldest occurrence first, whatever the policy (except `allow`). A run *on time* (the
 * current occurrence, a manual or event run) meets the policy:
 *
 * | policy          | nothing running, no line | a run going, or a run in line ahead          |
 * | --------------- | ------------------------ | -------------------------------------------- |
 * | allow           | start                    | start                                        |
 * | skip            | start                    | skipped                                      |
 * | queue           | start                    | waits (at most one on-time run waits: see    |
 * |                 |                          | `onTimeMayQueue`)                            |
 * | cancel-previous | start                    | on-time runs going: canceled, this starts;   |
 * |                 |                          | a run in line going or ahead: this waits     |
 *
 * and a run in line waits while any run of its routine is going or an older one in line is
 * ready, else starts. So after a sleep with `catchUp: all`, every catch-up run executes, one
 * after another; with `skip` the on-time occurrence that comes due meanwhile is skipped (the
 * routine is busy catching up), with `queue` and `cancel-previous` it runs after them.
 */
import type { OverlapPolicy } from "./config-schema.js";

export interface OverlapRun {
  id: number;
  /** Started before (retry, recovered, released), or a catch-up run: see `isInLine`. */
  inLine: boolean;
}

export interface OverlapInput {
  policy: OverlapPolicy;
  candidate: OverlapRun;
  /** Runs of the routine executing now (or claimed earlier in the same batch). */
  running: readonly OverlapRun[];
  /** An older run of the routine in line, queued and ready but not started: it goes first. */
  lineAhead: number | null;
}

export type OverlapDecision =
  | { action: "start"; cancel: number[] }
  | { action: "wait"; behind: number; reason: string }
  | { action: "skip"; reason: string };

/** Reasons of runs that wait for another of their routine start with one of these. */
export const WAIT_REASON_PREFIXES = ["overlap queue:", "in line:"] as const;

/**
 * `startedBefore`: for a queued run, whether an attempt of it ever started (`started_at` is
 * set: a retry, a recovered or a released run); for a running one, whether this is not its
 * first attempt.
 */
export function isInLine(run: { startedBefore: boolean; trigger: string }): boolean {
  return run.startedBefore || run.trigger === "catch-up";
}

export function decideOverlap({ policy, candidate, running, lineAhead }: OverlapInput): OverlapDecision {
  if (policy === "allow") return { action: "start", cancel: [] };
  const going = running[0];
  if (going === undefined && lineAhead === null) return { action: "start", cancel: [] };
  if (candidate.inLine) {
    const behind = going?.id ?? lineAhead!;
    return {
      action: "wait",
      behind,
      reason: `in line: waiting for run ${behind} (catch-up runs and retries start one at a time)`,
    };
  }
  switch (policy) {
    case "skip":
      return {
        action: "skip",
        reason:
          going !== undefined
            ? `overlap skip: run ${going.id} still running`
            : `overlap skip: run ${lineAhead} (a catch-up run or retry) goes first`,
      };
    case "queue": {
      const behind = going?.id ?? lineAhead!;
      return { action: "wait", behind, reason: `overlap queue: waiting for run ${behind}` };
    }
    case "cancel-previous": {
      const owed = lineAhead ?? running.find((run) => run.inLine)?.id ?? null;
      if (owed !== null) {
        return {
          action: "wait",
          behind: owed,
          reason: `in line: waiting for run ${owed} (cancel-previous does not cancel a catch-up run or a retry)`,
        };
      }
      return { action: "start", cancel: running.map((run) => run.id) };
    }
  }
}

/**
 * Materialising, `overlap: queue` keeps at most one on-time run waiting: a new on-time
 * occurrence is skipped while one waits. Runs in line (catch-up) are exempt and do not count.
 */
export function onTimeMayQueue(policy: OverlapPolicy, onTimeWaiting: boolean): boolean {
  return policy !== "queue" || !onTimeWaiting;
}
