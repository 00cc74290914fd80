/**
 * Logins expire silently at 3 a.m.: a routine whose runs keep failing on credentials pauses
 * itself after `auth.pauseAfter` consecutive auth failures instead of failing every 30
 * minutes until someone looks. The pause and its notification (an outbox row per channel
 * that asked for `auth` events) are written in one transaction.
 */
import { randomUUID } from "node:crypto";
import type { NotifyRuleSpec } from "../../domain/routine-spec.js";
import type { Store } from "../store.js";

export const DEFAULT_AUTH_PAUSE_AFTER = 3;

export interface AuthOutcome {
  routineId: number;
  routineName: string;
  runId: number;
  /** The run's error when it was an auth failure; null when the run got past authentication. */
  authError: { code: string; message: string } | null;
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

    await db
      .updateTable("routines")
      .set({
        state: "paused",
        paused_reason: `${error.code} on ${failures} runs in a row: ${error.message}`,
        updated_at: outcome.now,
      })
      .where("id", "=", outcome.routineId)
      .execute();
    const payload = JSON.stringify({
      type: "routine.paused",
      reason: "auth",
      routine: outcome.routineName,
      runId: outcome.runId,
      error,
      failures,
      at: new Date(outcome.now).toISOString(),
    });
    const channels = [
      ...new Set(outcome.notify.filter((rule) => rule.on.includes("auth")).flatMap((rule) => rule.to)),
    ];
    // With no channel asking for it, the event is still recorded (channel "") for the
    // dashboard and `loopd deliveries`; delivery to channels is the notifications issue's.
    for (const channel of channels.length > 0 ? channels : [""]) {
      await db
        .insertInto("outbox")
        .values({
          id: `evt_${randomUUID()}`,
          type: "routine.paused",
          channel,
          routine_id: outcome.routineId,
          run_id: outcome.runId,
          payload,
          status: "pending",
          next_attempt_at: outcome.now,
          created_at: outcome.now,
        })
        .execute();
    }
    return { failures, paused: true };
  });
}
