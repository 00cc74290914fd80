/**
 * Logins expire silently at 3 a.m.: a routine whose runs keep failing on credentials pauses
 * itself after `auth.pauseAfter` consecutive auth failures instead of failing every 30
 * minutes until someone looks. The pause (with the auth error's code in `paused_code`) and
 * its notification (store/outbox.ts) are written in one transaction.
 */
import { runErrorHint } from "../../domain/error-hint.js";
import type { NotifyRuleSpec } from "../../domain/routine-spec.js";
import type { Store } from "../store.js";
import { pauseRoutineItself } from "./pause-routine.js";

export const DEFAULT_AUTH_PAUSE_AFTER = 3;

export interface AuthOutcome {
  routineId: number;
  routineName: string;
  runId: number;
  /** The run's error when it was an auth failure; null when the run got past authentication. */
  authError: { code: string; message: string; hint?: string } | null;
  pauseAfter: number;
  notify: readonly NotifyRuleSpec[];
  now: number;
}

export interface AuthOutcomeResult {
  failures: number;
  paused: boolean;
}

export async function recordAuthOutcome(store: Store, outcome: AuthOutcome): Promise<AuthOutcomeResult> {
  if (outcome.authError === null) {
    await store.db
      .updateTable("routines")
      .set({ consecutive_auth_failures: 0 })
      .where("id", "=", outcome.routineId)
      .where("consecutive_auth_failures", ">", 0)
      .execute();
    return { failures: 0, paused: false };
  }
  const error = outcome.authError;
  return store.writeTransaction(async (db) => {
    const row = await db
      .updateTable("routines")
      .set((eb) => ({ consecutive_auth_failures: eb("consecutive_auth_failures", "+", 1) }))
      .where("id", "=", outcome.routineId)
      .returning(["consecutive_auth_failures", "state"])
      .executeTakeFirst();
    if (!row) return { failures: 0, paused: false };
    const failures = row.consecutive_auth_failures;
    if (failures < outcome.pauseAfter || row.state === "paused") return { failures, paused: false };

    const paused = await pauseRoutineItself(db, {
      routineId: outcome.routineId,
      routineName: outcome.routineName,
      runId: outcome.runId,
      // The auth code: `loopd doctor` lists these routines, and `loopd run` refuses them.
      code: error.code,
      reason: "auth",
      pausedReason: `${error.code} on ${failures} runs in a row: ${error.message}`,
      hint: runErrorHint(error, { runId: outcome.runId, routine: outcome.routineName }) ?? "",
      error,
      failures,
      kind: "auth",
      notify: outcome.notify,
      now: outcome.now,
    });
    return { failures, paused };
  });
}
