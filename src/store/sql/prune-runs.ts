/**
 * Retention of finished runs (`runs.keepFor`, `runs.keepPerRoutine`): a finished run older
 * than the cut-off is deleted unless it is one of its routine's newest `keepPerRoutine`
 * finished runs, which stay whatever their age (the last run `loopd logs`, `show-run`,
 * `loopd checks` and the router's history look at). Queued and running runs are never
 * touched. A run's events and artifacts go with it (FK `on delete cascade`); its ledger
 * rows stay: the ledger is the cost record and budgets and `loopd costs` read it, not runs.
 * Notifications the outbox has finished with (delivered, dead, digested) go after the same
 * time.
 *
 * Runs are walked in id order, a chunk of `limit` rows per DELETE, from the oldest to the
 * first one queued after the cut-off: each statement is a primary-key range of at most
 * `limit` rows (one short write lock on SQLite; on PostgreSQL only finished rows, which no
 * claim locks, and rows another transaction holds are skipped), and each old row is checked
 * against its routine's newer runs through `(routine_id, id)`. A sweep reads every old row
 * once (the deleted ones and those `keepPerRoutine` keeps) and no young row: with nothing to
 * delete, one primary-key probe when the oldest run is young, else one pass over the kept
 * old rows.
 */
import { sql } from "kysely";
import { isFinalStatus, RUN_STATUSES } from "../../domain/run-status.js";
import type { Store } from "../store.js";

/** What the outbox is done with: never sent again (digested rows went out inside a digest). */
export const FINISHED_DELIVERIES = ["delivered", "dead", "digested"] as const;

export interface PruneOptions {
  /** Finished runs (and finished deliveries) before this instant may go. */
  cutoff: number;
  /** The newest this many finished runs of each routine stay whatever their age (≥ 1). */
  keepPerRoutine: number;
  /** Rows looked at per statement. */
  limit: number;
}

/**
 * Deletes the prunable runs among the `limit` runs after `afterId` (by id), with their events
 * and artifacts. `next`: where the following chunk starts; null when the runs after
 * `afterId` were all queued after the cut-off (ids grow with `queued_at`, and a run finishes
 * after it was queued, so nothing further can be prunable) or there are none.
 */
export async function pruneRunsChunk(
  store: Store,
  options: PruneOptions & { afterId: number },
): Promise<{ deleted: number; next: number | null }> {
  const { afterId, cutoff, limit } = options;
  const first = await store.db
    .selectFrom("runs")
    .select("queued_at")
    .where("id", ">", afterId)
    .orderBy("id")
    .limit(1)
    .executeTakeFirst();
  if (!first || Number(first.queued_at) >= cutoff) return { deleted: 0, next: null };
  const last = await store.db
    .selectFrom("runs")
    .select("id")
    .where("id", ">", afterId)
    .orderBy("id")
    .offset(limit - 1)
    .limit(1)
    .executeTakeFirst();
  const upTo = last ? Number(last.id) : Number.MAX_SAFE_INTEGER;
  const keep = Math.max(1, Math.trunc(options.keepPerRoutine));
  const unfinished = sql.join(
    RUN_STATUSES.filter((status) => !isFinalStatus(status)).map((status) => sql.lit(status)),
  );
  // PostgreSQL: rows another transaction holds (a late verdict update) are left for next time.
  const skipLocked = store.dialect === "postgres" ? sql`for update skip locked` : sql``;
  // "At least `keep` newer finished runs of the same routine": EXISTS with an OFFSET over
  // `(routine_id, id)`. Finished is spelled `not in (queued, running)` so neither dialect
  // reaches for a status index: SQLite would walk every finished run instead of the id range,
  // PostgreSQL AND a bitmap of them into each check (measured: seconds per statement at
  // 200,000 runs).
  const result = await sql`
    delete from runs where id in (
      select r.id from runs r
      where r.id > ${afterId} and r.id <= ${upTo}
        and r.status not in (${unfinished})
        and r.finished_at < ${cutoff}
        and exists (
          select 1 from runs n
          where n.routine_id = r.routine_id and n.id > r.id and n.status not in (${unfinished})
          order by n.id limit 1 offset ${keep - 1}
        )
      ${skipLocked}
    )`.execute(store.db);
  return { deleted: Number(result.numAffectedRows ?? 0n), next: last ? Number(last.id) : null };
}

/** Deletes one batch of finished outbox rows last attempted before the cut-off. */
export async function pruneDeliveriesBatch(
  store: Store,
  options: Pick<PruneOptions, "cutoff" | "limit">,
): Promise<number> {
  const finished = sql.join(FINISHED_DELIVERIES.map((status) => sql.lit(status)));
  const skipLocked = store.dialect === "postgres" ? sql`for update skip locked` : sql``;
  // `(status, next_attempt_at)` is the outbox's index; a finished row's last attempt is at or
  // after its creation, so this is "finished and created before the cut-off" as an index range.
  const result = await sql`
    delete from outbox where id in (
      select o.id from outbox o
      where o.status in (${finished}) and o.next_attempt_at < ${options.cutoff}
      limit ${options.limit}
      ${skipLocked}
    )`.execute(store.db);
  return Number(result.numAffectedRows ?? 0n);
}
