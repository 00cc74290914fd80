/** Routine health: last outcome and error, consecutive failures, last success. */
import type { Outcome } from "../../domain/run-status.js";
import type { Db } from "../store.js";

export async function recordRoutineOutcome(
  db: Db,
  options: {
    routineId: number;
    outcome: Outcome;
    error: { code: string; message: string } | null;
    now: number;
  },
): Promise<void> {
  const succeeded = options.outcome === "succeeded";
  await db
    .updateTable("routines")
    .set((eb) => ({
      last_run_at: options.now,
      last_outcome: options.outcome,
      last_error_code: succeeded ? null : (options.error?.code ?? null),
      last_error_message: succeeded ? null : (options.error?.message ?? null),
      consecutive_failures: succeeded ? 0 : eb("consecutive_failures", "+", 1),
      ...(succeeded ? { last_success_at: options.now } : {}),
    }))
    .where("id", "=", options.routineId)
    .execute();
}
