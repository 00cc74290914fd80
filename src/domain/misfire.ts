/**
 * Silent misfires: an active routine whose next due time passed long ago with no run to show
 * for it. The scheduler advances `next_due_at` whenever it materialises an occurrence (a run,
 * or a skipped run), so a due time left far behind means nothing is scheduling the routine —
 * no `loopd serve` on the store (only workers, or nothing at all), or a scheduler that fails
 * on it — and nobody is told, because no run fails.
 *
 * "Far behind" is more than two periods of its trigger (the two occurrences after the missed
 * one are due too), and at least five minutes, so a busy or briefly stopped daemon is not
 * flagged. One-shots (`at`) have no period: five minutes.
 *
 * | state  | next due          | late by            | misfire |
 * | ------ | ----------------- | ------------------ | ------- |
 * | paused | any               | any                | no      |
 * | active | none (done)       | —                  | no      |
 * | active | every 10m         | 19m                | no      |
 * | active | every 10m         | 21m                | yes     |
 * | active | every 10s         | 4m                 | no (5-minute floor) |
 * | active | cron hourly       | 2h 1m              | yes     |
 *
 * Each misfire is notified once: a notice sent after the missed due time was about this very
 * misfire (the due time only moves when the scheduler catches up, and then to the future).
 */
import { dueAfter, type TriggerSpec } from "./trigger.js";

export const MISFIRE_MIN_LATE_MS = 5 * 60_000;

export interface MisfireInput {
  state: "active" | "paused";
  nextDueAt: number | null;
  trigger: TriggerSpec;
}

export interface Misfire {
  /** The due time that was missed. */
  dueAt: number;
  lateByMs: number;
}

/** How late a due time may be before it is a misfire: two periods, at least five minutes. */
export function misfireToleranceMs(trigger: TriggerSpec, dueAt: number): number {
  const first = dueAfter(trigger, dueAt);
  const second = first === null ? null : dueAfter(trigger, first);
  return Math.max(second === null ? 0 : second - dueAt, MISFIRE_MIN_LATE_MS);
}

export function misfireOf(routine: MisfireInput, now: number): Misfire | null {
  if (routine.state !== "active" || routine.nextDueAt === null) return null;
  const lateByMs = now - routine.nextDueAt;
  // The floor first: most routines are not late at all, and the period costs a cron walk
  // (`loopd ls` asks this of every routine).
  if (lateByMs <= MISFIRE_MIN_LATE_MS) return null;
  if (lateByMs <= misfireToleranceMs(routine.trigger, routine.nextDueAt)) return null;
  return { dueAt: routine.nextDueAt, lateByMs };
}

/** Whether this misfire still needs its notification (`routines.misfire_notified_at`). */
export function misfireNeedsNotice(misfire: Misfire | null, notifiedAt: number | null): boolean {
  return misfire !== null && (notifiedAt === null || notifiedAt < misfire.dueAt);
}
