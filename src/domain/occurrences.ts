/**
 * Which occurrences of a routine to run now, and which to skip: the catch-up policy.
 *
 * The newest occurrence at or before `now` is *current* when it is at most `graceMs` old; it
 * runs as scheduled. Every other occurrence at or before `now` was *missed* (the daemon was
 * down, the laptop slept, the process stalled) and the policy decides:
 *   latest  one catch-up run for the newest missed occurrence, none if a current one runs;
 *   all     catch-up runs for the newest `maxCatchup` missed occurrences;
 *   none    no catch-up runs.
 * Skipped occurrences are returned with a reason so they can be recorded. Pure and bounded:
 * an `every: 1s` routine after a month asleep does not enumerate 2.6 million slots.
 */
import type { CatchUpPolicy } from "./config-schema.js";
import { dueAfter, isWithinUntil, type TriggerSpec, type UntilSpec } from "./trigger.js";

/** An occurrence at most this old when the scheduler sees it is on time, not missed. */
export const DEFAULT_GRACE_MS = 60_000;
/** Skipped occurrences recorded individually per pass; older ones are only counted. */
export const MAX_RECORDED_SKIPS = 100;
/** Upper bound of occurrences enumerated per pass. */
const MAX_ENUMERATED = 10_000;

export interface OccurrenceState {
  trigger: TriggerSpec;
  until: UntilSpec | undefined;
  catchUp: CatchUpPolicy;
  maxCatchup: number;
  /** The routine's stored next due time (not null: the caller found it due). */
  nextDueAt: number;
  scheduledRuns: number;
}

export interface OccurrencePlan {
  run: Array<{ dueAt: number; trigger: "schedule" | "catch-up" }>;
  skip: Array<{ dueAt: number; reason: string }>;
  /** Missed occurrences neither run nor recorded (older than the newest MAX_RECORDED_SKIPS). */
  unrecordedSkips: number;
  nextDueAt: number | null;
  scheduledRuns: number;
}

export function planOccurrences(
  state: OccurrenceState,
  now: number,
  graceMs = DEFAULT_GRACE_MS,
): OccurrencePlan {
  const { due, next, overflow } = enumerateDue(state, now);
  const newest = due.at(-1);
  const current = newest !== undefined && now - newest <= graceMs ? newest : undefined;
  const missed = current === undefined ? due : due.slice(0, -1);

  let catchUp: number[];
  switch (state.catchUp) {
    case "latest":
      catchUp = current === undefined ? missed.slice(-1) : [];
      break;
    case "all":
      catchUp = missed.slice(-state.maxCatchup);
      break;
    case "none":
      catchUp = [];
      break;
  }
  const chosen = new Set(catchUp);
  const candidates = [
    ...catchUp.map((dueAt) => ({ dueAt, trigger: "catch-up" as const })),
    ...(current === undefined ? [] : [{ dueAt: current, trigger: "schedule" as const }]),
  ];

  // `until: { runs }` caps scheduled runs; the earliest chosen occurrences go first.
  const remaining =
    state.until?.runs === undefined ? Number.POSITIVE_INFINITY : state.until.runs - state.scheduledRuns;
  const run = candidates.slice(0, Math.max(0, remaining));
  const scheduledRuns = state.scheduledRuns + run.length;

  const skippedAll = missed.filter((dueAt) => !chosen.has(dueAt));
  const recorded = skippedAll.slice(-MAX_RECORDED_SKIPS);
  const skip = recorded.map((dueAt) => ({ dueAt, reason: skipReason(state, current !== undefined) }));
  for (const over of candidates.slice(run.length))
    skip.push({ dueAt: over.dueAt, reason: "until: run limit reached" });
  skip.sort((a, b) => a.dueAt - b.dueAt);

  const exhausted = state.until?.runs !== undefined && scheduledRuns >= state.until.runs;
  return {
    run,
    skip,
    unrecordedSkips: skippedAll.length - recorded.length + overflow,
    nextDueAt: exhausted || next === null || !isWithinUntil(state.until, next, 0) ? null : next,
    scheduledRuns,
  };
}

function skipReason(state: OccurrenceState, hasCurrent: boolean): string {
  switch (state.catchUp) {
    case "latest":
      return hasCurrent
        ? "catch-up latest: a newer occurrence runs on time"
        : "catch-up latest: a newer missed occurrence runs";
    case "all":
      return `catch-up all: more than maxCatchup (${state.maxCatchup}) missed`;
    case "none":
      return "catch-up none: missed while loopd was not running";
  }
}

/**
 * Occurrences from `nextDueAt` up to `now` (within `until`), and the first one after `now`.
 * Past MAX_ENUMERATED the oldest are dropped and only counted (an `every` trigger jumps
 * or `by` trigger jumps arithmetically; others keep stepping, bounded by the same cap on the kept list).
 */
function enumerateDue(
  state: OccurrenceState,
  now: number,
): { due: number[]; next: number | null; overflow: number } {
  const { trigger } = state;
  let cursor: number | null = state.nextDueAt;
  let overflow = 0;
  if ((trigger.kind === "every" || trigger.kind === "by") && cursor <= now) {
    const end = trigger.kind === "by" ? Math.min(now, Date.parse(trigger.deadline)) : now;
    const slots = Math.floor((end - cursor) / trigger.everyMs);
    if (slots >= MAX_ENUMERATED) {
      overflow = slots - MAX_ENUMERATED + 1;
      cursor += overflow * trigger.everyMs;
    }
  }
  const due: number[] = [];
  while (cursor !== null && cursor <= now) {
    if (!isWithinUntil(state.until ? { ...state.until, runs: undefined } : undefined, cursor, 0)) {
      return { due, next: null, overflow };
    }
    due.push(cursor);
    if (due.length > MAX_ENUMERATED) {
      due.shift();
      overflow++;
    }
    cursor = dueAfter(trigger, cursor);
  }
  return { due, next: cursor, overflow };
}
