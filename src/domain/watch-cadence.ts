/**
 * A watch's backoff: how often it looks while nothing changes. With a `backoff` on its
 * trigger (the default for a CI-status watch: every 5m, backing off to 2h), each evaluation
 * whose verdict repeats the one before doubles the interval, up to the backoff; a verdict
 * that differs brings it back to `every`. Without one, `every` is kept as written.
 *
 *   verdict (previous → this)   unchanged in a row   interval (every 5m, backoff 2h)
 *   none → unsatisfied          0                    5m
 *   unsatisfied → unsatisfied   1                    10m
 *   unsatisfied → unsatisfied   2, 3, 4              20m, 40m, 80m
 *   unsatisfied → unsatisfied   5 and on             2h (the cap)
 *   unsatisfied → satisfied     0                    5m
 *
 * The scheduler steps the schedule with the interval reached so far (`cadenceTrigger`); the
 * completion of an evaluation that changes the interval moves the due time it left behind
 * (`decideCadence`). Pure; `store/sql/complete-watch.ts` applies it.
 */

import type { Verdict } from "./check.js";
import { dueAfter, type TriggerSpec } from "./trigger.js";

/** `every` after `unchanged` evaluations in a row that repeated the verdict before them. */
export function cadenceEveryMs(trigger: { everyMs: number; backoffMs?: number }, unchanged: number): number {
  const cap = trigger.backoffMs;
  if (cap === undefined) return trigger.everyMs;
  let every = trigger.everyMs;
  // Doubling stops at the cap: a count in the thousands never reaches floating-point infinity.
  for (let step = 0; step < unchanged && every < cap; step++) every *= 2;
  return Math.min(every, cap);
}

/** The trigger the scheduler steps with: `every` stretched by the backoff reached so far. */
export function cadenceTrigger(trigger: TriggerSpec, unchanged: number): TriggerSpec {
  if ((trigger.kind !== "every" && trigger.kind !== "by") || trigger.backoffMs === undefined) return trigger;
  return { ...trigger, everyMs: cadenceEveryMs(trigger, unchanged) };
}

export interface CadenceState {
  trigger: TriggerSpec;
  previousVerdict: Verdict | null;
  /** Evaluations in a row that repeated the verdict before them (`routines.unchanged_verdicts`). */
  unchanged: number;
  /** The routine's next due time now, as the scheduler left it. */
  nextDueAt: number | null;
  /** The run that gave the verdict. */
  run: { trigger: string; dueAt: number };
}

export interface CadenceDecision {
  unchanged: number;
  /** The routine's new next due time; absent, it stays. */
  nextDueAt?: number;
}

export function decideCadence(state: CadenceState, verdict: Verdict): CadenceDecision {
  const unchanged = state.previousVerdict === verdict ? state.unchanged + 1 : 0;
  const before = cadenceTrigger(state.trigger, state.unchanged);
  const after = cadenceTrigger(state.trigger, unchanged);
  // Only the evaluation the schedule was last stepped from moves it. A manual run, a catch-up
  // run followed by an on-time one, or a routine re-timed since leave the due time alone:
  // the scheduler's next step uses the new interval.
  const { run } = state;
  if (run.trigger !== "schedule" && run.trigger !== "catch-up") return { unchanged };
  if (state.nextDueAt === null || state.nextDueAt !== dueAfter(before, run.dueAt)) return { unchanged };
  const next = dueAfter(after, run.dueAt);
  return next === null || next === state.nextDueAt ? { unchanged } : { unchanged, nextDueAt: next };
}
