/**
 * Release: on shutdown, hand runs this worker did not finish back to the queue without
 * spending an attempt (the worker stopped them; they did not fail). Whether a released run
 * executes again is the next claim's decision (claim-runs.ts): if its routine is paused by
 * then, it is skipped ("routine paused"), never started.
 */
import type { Db } from "../store.js";

export async function releaseRuns(
  db: Db,
  options: { workerId: string; runIds: readonly number[]; now: number },
): Promise<number[]> {
  if (options.runIds.length === 0) return [];
  const rows = await db
    .updateTable("runs")
    .set((eb) => ({
      status: "queued",
      worker_id: null,
      lease_until: null,
      not_before: options.now,
      attempt: eb("attempt", "-", 1),
      reason: "released: worker shut down",
    }))
    .where("id", "in", [...options.runIds])
    .where("worker_id", "=", options.workerId)
    .where("status", "=", "running")
    .returning("id")
    .execute();
  return rows.map((row) => row.id);
}
