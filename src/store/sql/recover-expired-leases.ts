/**
 * Recover: a running run whose lease expired belongs to a worker that died or stalled. It
 * goes back to the queue (the next claim makes it attempt + 1) or, with its attempts
 * spent, fails with LOOPD_LEASE_EXPIRED. Safe to run from every process at once.
 */
import type { Db, Store } from "../store.js";
import { recordRoutineOutcome } from "./record-outcome.js";

export interface RecoveryResult {
  requeued: number[];
  failed: number[];
}

export async function recoverExpiredLeases(store: Store, now: number): Promise<RecoveryResult> {
  return store.writeTransaction(async (trx) => {
    const expired = await trx
      .selectFrom("runs")
      .select(["id", "routine_id", "attempt", "max_attempts", "worker_id"])
      .where("status", "=", "running")
      .where("lease_until", "<", now)
      .orderBy("id")
      .limit(500)
      .$if(store.dialect === "postgres", (query) => query.forUpdate().skipLocked())
      .execute();
    return requeueOrFail(trx, expired, now, (run) => ({
      message: `worker ${run.worker_id ?? "?"} stopped renewing its lease during attempt ${run.attempt}`,
      reason: `recovered: lease expired on ${run.worker_id ?? "?"}`,
      event: "lease-expired",
    }));
  });
}

export interface LostRun {
  id: number;
  routine_id: number;
  attempt: number;
  max_attempts: number;
  worker_id: string | null;
}

/**
 * Runs whose attempt is over without a result (its worker is gone): back to the queue as
 * attempt + 1 — in line, so the overlap policy never skips it (domain/overlap.ts) — or, with
 * their attempts spent, failed with LOOPD_LEASE_EXPIRED.
 */
export async function requeueOrFail(
  trx: Db,
  runs: readonly LostRun[],
  now: number,
  why: (run: LostRun) => { message: string; reason: string; event: string },
): Promise<RecoveryResult> {
  const result: RecoveryResult = { requeued: [], failed: [] };
  for (const run of runs) {
    const { message, reason, event } = why(run);
    const error = { code: "LOOPD_LEASE_EXPIRED", message };
    const requeue = run.attempt < run.max_attempts;
    await trx
      .updateTable("runs")
      .set({
        status: requeue ? "queued" : "failed",
        worker_id: null,
        lease_until: null,
        not_before: now,
        finished_at: requeue ? null : now,
        reason: requeue ? reason : null,
        error_code: error.code,
        error_message: error.message,
      })
      .where("id", "=", run.id)
      .execute();
    await trx
      .insertInto("run_events")
      .values({
        run_id: run.id,
        attempt: run.attempt,
        at: now,
        type: "status",
        stream: null,
        data: JSON.stringify({ event, worker: run.worker_id, requeued: requeue }),
      })
      .execute();
    if (requeue) result.requeued.push(run.id);
    else {
      result.failed.push(run.id);
      await recordRoutineOutcome(trx, { routineId: run.routine_id, outcome: "failed", error, now });
    }
  }
  return result;
}
