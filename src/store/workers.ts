/**
 * The processes that execute runs (`workers` table): registered when an engine starts,
 * touched when it renews leases, removed when it stops. A row outliving its process is how a
 * crash shows; a loopd process on the same host (same `host_key`) can then check the pid.
 */
import type { Db } from "./store.js";

/**
 * An idle worker refreshes its `seen_at` at least this often: in the engine's backstop
 * wake-up read (store/sql/next-wakeup.ts), which is never further apart; lease renewals do it
 * while runs go.
 */
export const WORKER_SEEN_EVERY_MS = 60_000;
/**
 * A worker seen within this is alive (`loopd status`): the refresh period plus as much again
 * for a late timer, a slow store or a loaded machine, so a live worker never looks dead.
 */
export const WORKER_SEEN_WITHIN_MS = 2 * WORKER_SEEN_EVERY_MS;

export interface WorkerRecord {
  id: string;
  host: string;
  hostKey: string;
  pid: number;
  /** The process's start time (Linux: clock ticks after boot); null where unknown. */
  pidStart: string | null;
  labels: string[];
  startedAt: number;
  seenAt: number;
}

export async function registerWorker(db: Db, worker: WorkerRecord): Promise<void> {
  const row = {
    host: worker.host,
    host_key: worker.hostKey,
    pid: worker.pid,
    pid_start: worker.pidStart,
    labels: JSON.stringify(worker.labels),
    started_at: worker.startedAt,
    seen_at: worker.seenAt,
  };
  await db
    .insertInto("workers")
    .values({ id: worker.id, ...row })
    .onConflict((conflict) => conflict.column("id").doUpdateSet(row))
    .execute();
}

export async function touchWorker(db: Db, id: string, now: number): Promise<void> {
  await db.updateTable("workers").set({ seen_at: now }).where("id", "=", id).execute();
}

export async function removeWorkers(db: Db, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await db
    .deleteFrom("workers")
    .where("id", "in", [...ids])
    .execute();
}

/** Workers registered from the pid namespace `hostKey` (other than `exceptId`). */
export async function workersOnHost(db: Db, hostKey: string, exceptId?: string): Promise<WorkerRecord[]> {
  const rows = await db
    .selectFrom("workers")
    .selectAll()
    .where("host_key", "=", hostKey)
    .$if(exceptId !== undefined, (query) => query.where("id", "<>", exceptId!))
    .execute();
  return rows.map(toRecord);
}

export async function listWorkers(db: Db): Promise<WorkerRecord[]> {
  const rows = await db.selectFrom("workers").selectAll().orderBy("started_at").execute();
  return rows.map(toRecord);
}

function toRecord(row: {
  id: string;
  host: string;
  host_key: string;
  pid: number;
  pid_start: string | null;
  labels: string;
  started_at: number;
  seen_at: number;
}): WorkerRecord {
  return {
    id: row.id,
    host: row.host,
    hostKey: row.host_key,
    pid: Number(row.pid),
    pidStart: row.pid_start,
    labels: JSON.parse(row.labels) as string[],
    startedAt: row.started_at,
    seenAt: row.seen_at,
  };
}
