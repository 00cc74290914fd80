/**
 * The cost ledger: one row per model used in a run attempt, kept by value (routine name,
 * harness, model) so `loopd cost` still adds up after a routine is removed. Budgets read
 * their spend here; writes normally go through settleBudget, which records the rows and
 * closes the run's reservation in one transaction.
 */
import { utcDay } from "../domain/budget.js";
import type { CostReportKey } from "../domain/cost-report.js";
import type { TokenUsage } from "../domain/run-report.js";
import type { Db } from "./store.js";

export interface LedgerEntry {
  at: number;
  routineId: number | null;
  routineName: string;
  runId: number | null;
  attempt: number | null;
  harness: string;
  model: string;
  tier: string | null;
  usage: TokenUsage;
  costUsd: number;
  /**
   * reported by the harness, priced by loopd from the harness's token counts, or metered by
   * loopd's gateway request by request (priced from the tokens the provider answered with).
   */
  costSource: "reported" | "priced" | "gateway";
}

export async function recordLedger(db: Db, entries: readonly LedgerEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await db
    .insertInto("ledger")
    .values(
      entries.map((entry) => ({
        at: entry.at,
        day: utcDay(entry.at),
        routine_id: entry.routineId,
        routine_name: entry.routineName,
        run_id: entry.runId,
        attempt: entry.attempt,
        harness: entry.harness,
        model: entry.model,
        tier: entry.tier,
        tokens_in: entry.usage.tokensIn,
        tokens_out: entry.usage.tokensOut,
        tokens_cached: entry.usage.tokensCached,
        tokens_reasoning: entry.usage.tokensReasoning,
        cost_usd: entry.costUsd,
        cost_source: entry.costSource,
      })),
    )
    .execute();
}

export interface SpendScope {
  /** Only this routine's spend; every routine's when absent. */
  routineId?: number;
  /** Half-open window of `at`: from <= at < to. */
  from: number;
  to: number;
}

/** USD recorded in the ledger within the window (and routine, if given). */
export async function spentUsd(db: Db, scope: SpendScope): Promise<number> {
  if (scope.to <= scope.from) return 0;
  const row = await db
    .selectFrom("ledger")
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>("cost_usd"), eb.lit(0)).as("spent"))
    // The `day` bounds are redundant with `at` but let the (day, routine_id) index do the work.
    .where("day", ">=", utcDay(scope.from))
    .where("day", "<=", utcDay(scope.to - 1))
    .where("at", ">=", scope.from)
    .where("at", "<", scope.to)
    .$if(scope.routineId !== undefined, (query) => query.where("routine_id", "=", scope.routineId!))
    .executeTakeFirstOrThrow();
  // PostgreSQL returns sums of BIGINT/NUMERIC as strings; Number() normalises both dialects.
  return Number(row.spent);
}

/**
 * USD of the routine's latest attempts that spent anything since `since` (on `tier`, when
 * given), newest first: what the next attempt's estimate is the median of. Read from the
 * ledger, not the runs, so an attempt refused before it started (and spent nothing) is no
 * evidence.
 */
export async function recentAttemptCosts(
  db: Db,
  query: { routineId: number; tier?: string; since: number; limit: number },
): Promise<number[]> {
  const rows = await db
    .selectFrom("ledger")
    .select((eb) => [eb.fn.sum<number>("cost_usd").as("cost_usd"), eb.fn.max("at").as("last_at")])
    // `day` as well as `at`: lets the (day, routine_id) index skip older rows.
    .where("day", ">=", utcDay(query.since))
    .where("at", ">=", query.since)
    .where("routine_id", "=", query.routineId)
    .where("run_id", "is not", null)
    .$if(query.tier !== undefined, (builder) => builder.where("tier", "=", query.tier!))
    .groupBy(["run_id", "attempt"])
    .orderBy("last_at", "desc")
    .limit(query.limit)
    .execute();
  return rows.map((row) => Number(row.cost_usd));
}

export interface CostReportRow {
  /** Routine name, model, tier (`(none)` for runs without one), UTC day or harness. */
  key: string;
  /** Distinct runs with spend under this key. */
  runs: number;
  tokensIn: number;
  tokensOut: number;
  tokensCached: number;
  tokensReasoning: number;
  costUsd: number;
}

export interface CostReportOptions {
  by: CostReportKey;
  /** Ledger rows at or after this instant. */
  since: number;
  routineId?: number;
}

const KEY_COLUMN = {
  routine: "routine_name",
  model: "model",
  tier: "tier",
  day: "day",
  harness: "harness",
} as const;

/** Spend grouped by one key: by day in date order, otherwise the most expensive first. */
export async function costReport(db: Db, options: CostReportOptions): Promise<CostReportRow[]> {
  const column = KEY_COLUMN[options.by];
  const rows = await db
    .selectFrom("ledger")
    .select((eb) => [
      eb.ref(column).as("key"),
      eb.fn.count<number>("run_id").distinct().as("runs"),
      eb.fn.sum<number>("tokens_in").as("tokens_in"),
      eb.fn.sum<number>("tokens_out").as("tokens_out"),
      eb.fn.sum<number>("tokens_cached").as("tokens_cached"),
      eb.fn.sum<number>("tokens_reasoning").as("tokens_reasoning"),
      eb.fn.sum<number>("cost_usd").as("cost_usd"),
    ])
    .where("at", ">=", options.since)
    .$if(options.routineId !== undefined, (query) => query.where("routine_id", "=", options.routineId!))
    .groupBy(column)
    .execute();
  const report = rows.map((row) => ({
    key: row.key ?? "(none)",
    runs: Number(row.runs),
    tokensIn: Number(row.tokens_in),
    tokensOut: Number(row.tokens_out),
    tokensCached: Number(row.tokens_cached),
    tokensReasoning: Number(row.tokens_reasoning),
    costUsd: Number(row.cost_usd),
  }));
  // Sorted here, not in SQL: NULL tiers and text collation order differently in the two dialects.
  return report.sort((a, b) =>
    options.by === "day" ? compareText(a.key, b.key) : b.costUsd - a.costUsd || compareText(a.key, b.key),
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
