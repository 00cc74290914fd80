/**
 * Heartbeat: extend this worker's leases. A run missing from the answer is no longer this
 * worker's (its lease expired and it was recovered, or it was canceled): the worker must
 * stop it, because another attempt may already be starting elsewhere.
 */
import type { Db } from "../store.js";

export async function heartbeatRuns(
  db: Db,
  options: { workerId: string; runIds: readonly number[]; now: number; leaseMs: number },
): Promise<Set<number>> {
  if (options.runIds.length === 0) return new Set();
  const rows = await db
    .updateTable("runs")
    .set({ lease_until: options.now + options.leaseMs })
    .where("id", "in", [...options.runIds])
    .where("worker_id", "=", options.workerId)
    .where("status", "=", "running")
    .returning("id")
    .execute();
  return new Set(rows.map((row) => row.id));
}
