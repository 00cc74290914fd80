/**
 * Recover a dead worker's runs at once, instead of when their leases expire: for workers that
 * a loopd process on the same host has proven dead (their pid is gone or is another process)
 * and whose leftover processes it has killed. Their running runs go back to the queue as
 * attempt + 1 (or fail, attempts spent) and their `workers` rows are deleted, in one
 * transaction. Safe to run from several processes at once: the runs are locked and re-checked.
 */
import type { Store } from "../store.js";
import { type RecoveryResult, requeueOrFail } from "./recover-expired-leases.js";

export async function recoverDeadWorkers(
  store: Store,
  dead: ReadonlyArray<{ id: string; pid: number }>,
  now: number,
): Promise<RecoveryResult> {
  if (dead.length === 0) return { requeued: [], failed: [] };
  const pids = new Map(dead.map((worker) => [worker.id, worker.pid]));
  return store.writeTransaction(async (trx) => {
    const runs = await trx
      .selectFrom("runs")
      .select(["id", "routine_id", "attempt", "max_attempts", "worker_id"])
      .where("status", "=", "running")
      .where("worker_id", "in", [...pids.keys()])
      .orderBy("id")
      .$if(store.dialect === "postgres", (query) => query.forUpdate())
      .execute();
    const result = await requeueOrFail(trx, runs, now, (run) => ({
      message: `worker ${run.worker_id} died during attempt ${run.attempt} (pid ${pids.get(run.worker_id!)} is gone)`,
      reason: `recovered: worker ${run.worker_id} died`,
      event: "worker-died",
    }));
    await trx
      .deleteFrom("workers")
      .where("id", "in", [...pids.keys()])
      .execute();
    return result;
  });
}
