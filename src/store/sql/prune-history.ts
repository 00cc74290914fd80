/**
 * Retention of the tables beside runs that would otherwise grow for as long as loopd runs,
 * swept with them (engine/run-retention.ts, after the runs and the outbox):
 *
 * - `budget_reservations`: a settled reservation is history. Caps count the ledger and only
 *   open reservations (reserve-budget.ts, meter-request.ts, the wake-up read); a settled row is
 *   read again only by a settle or record of the same attempt (the duplicate check, or a late
 *   settle of a row released as stale). So settled rows go once both their creation and their
 *   settling are older than `runs.keepFor`; one released without a cost (`actual_usd` null,
 *   which a presumed-dead worker may still settle late) also waits until its attempt is past
 *   the longest timeout a run can have, so money spent always reaches the ledger. Open rows
 *   are never touched.
 * - `test_results`: ci-health and `loopd flaky` read a routine's newest `window` runs that
 *   recorded results (recentTestResults), whatever their age; the record path already caps a
 *   routine at its last 500 such runs. Rows older than `runs.keepFor` go unless they belong to
 *   one of those newest `window` runs (the routine's ci-health `window`, else 20, what `loopd
 *   flaky` reads), so the classification a tick or `loopd flaky` makes is unchanged.
 * - `inbound_deliveries`: an id is kept to refuse a replay or re-send. Standard Webhooks
 *   signatures are only good for ±5 minutes, but senders retry with the same `webhook-id` for
 *   up to days, and a GitHub signature has no timestamp: GitHub lets a delivery be redelivered
 *   (same `X-GitHub-Delivery`) for 3 days (GitHub Enterprise Server: 7). Ids go once older than
 *   `runs.keepFor` and than a week, whichever is longer. A GitHub delivery captured whole
 *   (body and signature) and replayed after that is accepted again; forging a new one still
 *   needs the secret, and a longer `runs.keepFor` pushes the replay horizon back.
 *
 * Every DELETE takes at most `limit` rows (a short write lock on SQLite; skip-locked on
 * PostgreSQL), so a sweep interleaves with the engine's passes as the runs' chunks do.
 */
import { sql } from "kysely";
import { DURATION_LIMITS } from "../../domain/config-values.js";
import type { Store } from "../store.js";

/** The longest an attempt can go on (the largest `timeout`) and a day: a late settle comes before. */
export const LATE_SETTLE_MS = DURATION_LIMITS.timeout.max + 24 * 60 * 60_000;
/** Inbound ids stay at least this long whatever `runs.keepFor`: past GitHub's redelivery window. */
export const INBOUND_KEEP_AT_LEAST_MS = 7 * 24 * 60 * 60_000;
/** The window of a routine that names none: ci-health's default, and what `loopd flaky` reads. */
const DEFAULT_TEST_WINDOW = 20;

function skipLocked(store: Store) {
  return store.dialect === "postgres" ? sql`for update skip locked` : sql``;
}

/** Deletes one batch of settled reservations past retention (see above); never an open one. */
export async function pruneReservationsBatch(
  store: Store,
  options: { cutoff: number; now: number; limit: number },
): Promise<number> {
  const { cutoff, limit } = options;
  const lateBefore = Math.min(cutoff, options.now - LATE_SETTLE_MS);
  // `settled_at < cutoff` is a range of the `(settled_at, routine_id)` index, open rows (null) outside it.
  const result = await sql`
    delete from budget_reservations where id in (
      select b.id from budget_reservations b
      where b.settled_at < ${cutoff} and b.created_at < ${cutoff}
        and (b.actual_usd is not null or b.created_at < ${lateBefore})
      limit ${limit}
      ${skipLocked(store)}
    )`.execute(store.db);
  return Number(result.numAffectedRows ?? 0n);
}

/** Deletes one batch of inbound delivery ids received before `min(cutoff, now - a week)`. */
export async function pruneInboundBatch(
  store: Store,
  options: { cutoff: number; now: number; limit: number },
): Promise<number> {
  const before = Math.min(options.cutoff, options.now - INBOUND_KEEP_AT_LEAST_MS);
  // No index on received_at: a scan in insertion order, which meets the old rows first; with
  // nothing to delete, one pass over the table (a sweep's worth: hourly once idle).
  const result = await sql`
    delete from inbound_deliveries where (source, id) in (
      select d.source, d.id from inbound_deliveries d
      where d.received_at < ${before}
      limit ${options.limit}
      ${skipLocked(store)}
    )`.execute(store.db);
  return Number(result.numAffectedRows ?? 0n);
}

/** A routine with test results past retention, and the oldest run (by id) its window still reads. */
export interface TestResultsToPrune {
  routineId: number;
  keepFromRunId: number;
}

/**
 * The routines whose test results have rows older than the cut-off outside their window: one
 * statement for the routines (an index probe of `(routine_id, at)` each), then, for those with
 * old rows, one read of their distinct runs (bounded by the record path's 500-run cap).
 */
export async function testResultsToPrune(store: Store, cutoff: number): Promise<TestResultsToPrune[]> {
  const routines = await store.db
    .selectFrom("routines")
    .select(["id", "spec"])
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom("test_results")
          .select(sql.lit(1).as("one"))
          .whereRef("test_results.routine_id", "=", "routines.id")
          .where("test_results.at", "<", cutoff),
      ),
    )
    .orderBy("id")
    .execute();
  const found: TestResultsToPrune[] = [];
  for (const routine of routines) {
    const window = testWindow(routine.spec);
    if (window === null) continue;
    const oldestKept = await store.db
      .selectFrom("test_results")
      .select("run_id")
      .distinct()
      .where("routine_id", "=", routine.id)
      .orderBy("run_id", "desc")
      .offset(window - 1)
      .limit(1)
      .executeTakeFirst();
    // Fewer runs than the window: every row is still read.
    if (oldestKept) found.push({ routineId: Number(routine.id), keepFromRunId: Number(oldestKept.run_id) });
  }
  return found;
}

/** Deletes one batch of a routine's test results older than the cut-off and before its window. */
export async function pruneTestResultsBatch(
  store: Store,
  options: TestResultsToPrune & { cutoff: number; limit: number },
): Promise<number> {
  const result = await sql`
    delete from test_results where id in (
      select t.id from test_results t
      where t.routine_id = ${options.routineId} and t.at < ${options.cutoff}
        and t.run_id < ${options.keepFromRunId}
      limit ${options.limit}
      ${skipLocked(store)}
    )`.execute(store.db);
  return Number(result.numAffectedRows ?? 0n);
}

/**
 * How many runs of results the routine's readers look at: its ci-health `window`, else the
 * default `loopd flaky` uses. Null (keep everything) for a spec that does not parse.
 */
function testWindow(spec: string): number | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(spec);
  } catch {
    return null;
  }
  const window = (parsed as { loop?: { window?: unknown } } | null)?.loop?.window;
  return typeof window === "number" && Number.isInteger(window) && window >= 1 ? window : DEFAULT_TEST_WINDOW;
}
