/**
 * What a watch's verdict means for the routine: which notification it causes, whether the
 * watch is over, and whether `onUnsatisfied` acts. Pure; the completion transaction applies it.
 *
 *   verdict      trigger                      event                    watch      onUnsatisfied
 *   satisfied    any                          check.satisfied          closes if by / until satisfied
 *   unsatisfied  by, before the deadline      (none: still time)       open       —
 *   unsatisfied  by, at/after the deadline    check.deadline_missed    closes     acts
 *   unsatisfied  at / every / cron / manual   check.unsatisfied        open       acts
 */

import type { Verdict } from "./check.js";
import type { NotifyEvent } from "./config-schema.js";
import type { RoutineSpec } from "./routine-spec.js";

export interface WatchDecision {
  event: {
    type: "check.satisfied" | "check.unsatisfied" | "check.deadline_missed";
    kind: NotifyEvent;
  } | null;
  /** Stop scheduling: the watch is satisfied, or its deadline has been evaluated. */
  closes: boolean;
  /** Start `onUnsatisfied.run`. */
  acts: boolean;
}

export function decideWatch(
  spec: Pick<RoutineSpec, "trigger" | "untilSatisfied" | "onUnsatisfied">,
  dueAtMs: number,
  verdict: Verdict,
): WatchDecision {
  if (verdict === "satisfied") {
    return {
      event: { type: "check.satisfied", kind: "satisfied" },
      closes: spec.untilSatisfied === true || spec.trigger.kind === "by",
      acts: false,
    };
  }
  const speaks = spec.onUnsatisfied?.notify ?? true;
  if (spec.trigger.kind === "by") {
    if (dueAtMs < Date.parse(spec.trigger.deadline)) return { event: null, closes: false, acts: false };
    return {
      event: speaks ? { type: "check.deadline_missed", kind: "deadline" } : null,
      closes: true,
      acts: true,
    };
  }
  return {
    event: speaks ? { type: "check.unsatisfied", kind: "unsatisfied" } : null,
    closes: false,
    acts: true,
  };
}
