/**
 * A routine pausing itself: the state, why (as words and as a code, `routines.paused_code`),
 * and the `routine.paused` outbox event with the reason and the fix, written together in the
 * caller's transaction. Used by the failure circuit breaker (complete-run.ts) and by auth
 * failures (record-auth-outcome.ts), so both tell the same story everywhere.
 */
import type { NotifyEvent } from "../../domain/config-schema.js";
import type { NotifyRuleSpec } from "../../domain/routine-spec.js";
import { enqueueEvent } from "../outbox.js";
import type { Db } from "../store.js";
import { rewindAhead } from "./materialise-ahead.js";

export interface SelfPause {
  routineId: number;
  routineName: string;
  /** The run whose failure tripped the pause. */
  runId: number;
  /** `routines.paused_code`: LOOPD_ROUTINE_FAILING, LOOPD_AUTH_EXPIRED, … */
  code: string;
  /** Short word for notifications ("failing", "auth"). */
  reason: string;
  /** `routines.paused_reason`, shown by `loopd ls` and the dashboard. */
  pausedReason: string;
  /** What to do about it, with names and ids filled in. */
  hint: string;
  /** The error of the run that tripped it. */
  error: { code: string; message: string; hint?: string } | null;
  failures: number;
  /** Notify rules asking for any of these kinds hear about it. */
  kind: NotifyEvent | readonly NotifyEvent[];
  notify: readonly NotifyRuleSpec[];
  now: number;
}

/** False when the routine was not active (paused already, or gone): nothing written. */
export async function pauseRoutineItself(db: Db, pause: SelfPause): Promise<boolean> {
  const paused = await db
    .updateTable("routines")
    .set({
      state: "paused",
      paused_reason: pause.pausedReason,
      paused_code: pause.code,
      updated_at: pause.now,
    })
    .where("id", "=", pause.routineId)
    .where("state", "=", "active")
    .executeTakeFirst();
  if (Number(paused.numUpdatedRows) === 0) return false;
  // Its next run, if materialised ahead, must not start paused: it is put back (as on resume).
  await rewindAhead(db, { routineIds: [pause.routineId], now: pause.now });
  await enqueueEvent(db, {
    type: "routine.paused",
    kind: pause.kind,
    routineId: pause.routineId,
    runId: pause.runId,
    payload: {
      routine: pause.routineName,
      runId: pause.runId,
      reason: pause.reason,
      code: pause.code,
      hint: pause.hint,
      error: pause.error,
      failures: pause.failures,
    },
    notify: pause.notify,
    now: pause.now,
  });
  return true;
}
