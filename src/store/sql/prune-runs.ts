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
 * Each call deletes at most `limit` rows in one short statement, so SQLite's write lock is
 * held for one batch only and PostgreSQL claims are never blocked: the rows deleted are
 * finished runs, which no claim locks, and rows another transaction holds are skipped.
 *
 * Query cost: the candidates come from the `(status, not_before)` index (a finished run was
 * claimable no later than it finished, so `not_before < cutoff` bounds the range scan to old
 * rows) and each is checked against its routine's newer finished runs through
 * `(routine_id, id)`: one index range per old row, no table scan. A sweep with nothing to
 * delete reads only the old rows kept by `keepPerRoutine`.
 */
import { sql } from "kysely";
import { OUTCOMES } from "../../domain/run-status.js";
import type { Store } from "../store.js";

/** What the outbox is done with: never sent again (digested rows went out inside a digest). */
const FINISHED_DELIVERIES = ["delivered", "dead", "digested"] as const;

export interface PruneOptions {
  /** Finished runs (and finished deliveries) before this instant may go. */
  cutoff: number;
  /** The newest this many finished runs of each routine stay whatever their age (≥ 1). */
  keepPerRoutine: number;
  /** Rows per statement. */
  limit: number;
}

/** Deletes one batch of prunable runs (with their events and artifacts); returns how many. */
export async function pruneRunsBatch(store: Store, options: PruneOptions): Promise<number> {
  const keep = Math.max(1, Math.trunc(options.keepPerRoutine));
  const outcomes = sql.join(OUTCOMES.map((status) => sql.lit(status)));
  // PostgreSQL: rows another transaction holds (a late verdict update) are left for next time.
  const skipLocked = store.dialect === "postgres" ? sql`for update skip locked` : sql``;
  // "There are at least `keep` newer finished runs of the same routine": EXISTS with an
  // OFFSET, which both dialects run as a bounded index range (no count of the whole history).
  const result = await sql`
    delete from runs where id in (
      select r.id from runs r
      where r.status in (${outcomes})
        and r.not_before < ${options.cutoff}
        and r.finished_at < ${options.cutoff}
        and exists (
          select 1 from runs n
          where n.routine_id = r.routine_id and n.id > r.id and n.status in (${outcomes})
          order by n.id limit 1 offset ${keep - 1}
        )
      limit ${options.limit}
      ${skipLocked}
    )`.execute(store.db);
  return Number(result.numAffectedRows ?? 0n);
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
