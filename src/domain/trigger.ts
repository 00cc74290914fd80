/**
 * Triggers → due times. Pure: given a routine's normalised trigger, when is it due?
 * Due times are the nominal occurrence times (the unique key of a run). `jitter` does not
 * move them: it is a start delay the engine adds when it queues the run, so every scheduler
 * computes the same occurrence for the same slot.
 */
import { Cron } from "croner";
import { Temporal } from "temporal-polyfill";

export type TriggerSpec =
  | ({ kind: "every"; every: string; everyMs: number; jitterMs?: number } & WatchBackoff)
  | { kind: "cron"; cron: string; tz: string }
  | { kind: "at"; at: string; tz: string }
  /**
   * A watch with a deadline: evaluated at once, then every `every` (anchored on the first
   * evaluation), and a last time exactly at the deadline, however the grid falls.
   */
  | ({ kind: "by"; deadline: string; every: string; everyMs: number; tz: string } & WatchBackoff)
  | { kind: "manual" };

/**
 * A watch's backoff (`domain/watch-cadence.ts`): while its verdict stays the same, the
 * interval doubles after each evaluation, up to `backoff`; a changed verdict brings it back.
 */
export interface WatchBackoff {
  backoff?: string;
  backoffMs?: number;
}

export interface UntilSpec {
  /** ISO instant (UTC): no occurrence after it. */
  at?: string;
  /** Stop after this many scheduled runs. */
  runs?: number;
}

/** The first due time of a newly created (or re-timed, or resumed) routine. */
export function firstDueAt(trigger: TriggerSpec, nowMs: number): number | null {
  switch (trigger.kind) {
    case "every":
      return nowMs + trigger.everyMs;
    case "cron":
      return nextCronAfter(trigger, nowMs);
    case "at":
      // A one-shot in the past is still owed: the engine's catch-up policy decides.
      return Date.parse(trigger.at);
    case "by":
      // A deadline already past still owes its one evaluation (and its "missed" notice).
      return Math.min(nowMs, Date.parse(trigger.deadline));
    case "manual":
      return null;
  }
}

/** The occurrence after `previousDueMs`; anchored on the previous slot so `every` never drifts. */
export function dueAfter(trigger: TriggerSpec, previousDueMs: number): number | null {
  switch (trigger.kind) {
    case "every":
      return previousDueMs + trigger.everyMs;
    case "cron":
      return nextCronAfter(trigger, previousDueMs);
    case "by": {
      const deadline = Date.parse(trigger.deadline);
      if (previousDueMs >= deadline) return null;
      return Math.min(previousDueMs + trigger.everyMs, deadline);
    }
    case "at":
    case "manual":
      return null;
  }
}

/**
 * The next due time when a paused routine resumes at `nowMs`. Occurrences that fell inside
 * the pause are not owed (that is what pausing means); `every` keeps its anchor so a resumed
 * 30-minute loop stays on its :00/:30 grid. A one-shot that never ran is still owed.
 */
export function dueOnResume(
  trigger: TriggerSpec,
  state: { previousDueMs: number | null; scheduledRuns: number },
  nowMs: number,
): number | null {
  switch (trigger.kind) {
    case "every": {
      if (state.previousDueMs === null) return firstDueAt(trigger, nowMs);
      if (state.previousDueMs > nowMs) return state.previousDueMs;
      const slots = Math.floor((nowMs - state.previousDueMs) / trigger.everyMs) + 1;
      return state.previousDueMs + slots * trigger.everyMs;
    }
    case "cron":
      return nextCronAfter(trigger, nowMs);
    case "at":
      return state.scheduledRuns === 0 ? Date.parse(trigger.at) : null;
    case "by": {
      // The deadline evaluation is owed even when the pause ran past it.
      const deadline = Date.parse(trigger.deadline);
      if (state.previousDueMs === null) return state.scheduledRuns === 0 ? firstDueAt(trigger, nowMs) : null;
      if (state.previousDueMs > nowMs) return state.previousDueMs;
      const slots = Math.floor((nowMs - state.previousDueMs) / trigger.everyMs) + 1;
      return Math.min(state.previousDueMs + slots * trigger.everyMs, deadline);
    }
    case "manual":
      return null;
  }
}

/** Whether an occurrence may still run under the routine's `until`. */
export function isWithinUntil(until: UntilSpec | undefined, dueMs: number, scheduledRuns: number): boolean {
  if (until === undefined) return true;
  if (until.at !== undefined && dueMs > Date.parse(until.at)) return false;
  if (until.runs !== undefined && scheduledRuns >= until.runs) return false;
  return true;
}

/**
 * The next cron fire strictly after `afterMs`, with the DST rule loopd promises (OCPS 1.4
 * §4.3.1): a wall-clock time that does not exist that day (spring forward) is skipped, and a
 * wall-clock time that occurs twice (fall back) fires once. Croner follows Vixie cron instead
 * (fixed-time jobs run after the gap; interval jobs run in both passes of a repeated hour), so
 * its answers are filtered: a fire whose wall time does not match the expression was moved
 * out of a gap, and a fire whose wall time is not later than the previous one is a repeat.
 */
function nextCronAfter(trigger: { cron: string; tz: string }, afterMs: number): number | null {
  const cron = cronFor(trigger.cron, trigger.tz);
  const afterWall = wallClock(afterMs, trigger.tz);
  let cursor = afterMs;
  for (let step = 0; step < 10_000; step++) {
    const next = cron.nextRun(new Date(cursor));
    if (next === null) return null;
    const at = next.getTime();
    if (cron.match(next) && Temporal.PlainDateTime.compare(wallClock(at, trigger.tz), afterWall) > 0)
      return at;
    cursor = at;
  }
  return null;
}

function wallClock(epochMs: number, tz: string): Temporal.PlainDateTime {
  return Temporal.Instant.fromEpochMilliseconds(epochMs).toZonedDateTimeISO(tz).toPlainDateTime();
}

/** Parsed expressions, reused: a scheduler asks about the same few thousand routines all day. */
const crons = new Map<string, Cron>();

function cronFor(expression: string, tz: string): Cron {
  const key = `${tz} ${expression}`;
  let cron = crons.get(key);
  if (cron === undefined) {
    if (crons.size >= 10_000) crons.clear();
    cron = new Cron(expression, { timezone: tz, paused: true });
    crons.set(key, cron);
  }
  return cron;
}

export { describeTrigger } from "./trigger-words.js";
