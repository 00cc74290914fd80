/**
 * What the router learns from: per tier, this routine's recent attempts, how many passed
 * (succeeded = verified when the routine has a `verify`), and their mean and median cost; plus the
 * previous attempt of a run (its tier and error), which decides escalation.
 */
import { median } from "../../domain/budget-estimate.js";
import type { TierStats } from "../../domain/router.js";
import type { Db } from "../store.js";

/** Recent enough to follow a model's drift, long enough to be a sample. */
const HISTORY_RUNS = 200;

export async function tierHistory(db: Db, routineId: number): Promise<Record<string, TierStats>> {
  // A few hundred small rows: aggregated here, where the median is one call in both dialects.
  const rows = await db
    .selectFrom("runs")
    .select(["tier", "status", "cost_usd"])
    .where("routine_id", "=", routineId)
    .where("tier", "is not", null)
    .where("status", "in", ["succeeded", "failed", "timed_out"])
    .orderBy("id", "desc")
    .limit(HISTORY_RUNS)
    .execute();
  const costs = new Map<string, { verified: number; costs: number[] }>();
  for (const row of rows) {
    if (row.tier === null) continue;
    const tier = costs.get(row.tier) ?? { verified: 0, costs: [] };
    if (row.status === "succeeded") tier.verified++;
    tier.costs.push(Number(row.cost_usd ?? 0));
    costs.set(row.tier, tier);
  }
  const history: Record<string, TierStats> = {};
  for (const [tier, stats] of costs) {
    history[tier] = {
      runs: stats.costs.length,
      verified: stats.verified,
      meanCostUsd: stats.costs.reduce((sum, cost) => sum + cost, 0) / stats.costs.length,
      medianCostUsd: median(stats.costs) ?? 0,
    };
  }
  return history;
}

/** The run row as the previous attempt left it (the claim does not reset these). */
export async function previousAttempt(
  db: Db,
  runId: number,
): Promise<{
  tier: string | null;
  errorCode: string | null;
  summary: string | null;
  errorMessage: string | null;
}> {
  const row = await db
    .selectFrom("runs")
    .select(["tier", "error_code", "summary", "error_message"])
    .where("id", "=", runId)
    .executeTakeFirst();
  return {
    tier: row?.tier ?? null,
    errorCode: row?.error_code ?? null,
    summary: row?.summary ?? null,
    errorMessage: row?.error_message ?? null,
  };
}

export async function recordRoute(
  db: Db,
  runId: number,
  attempt: number,
  route: { tier: string | null; reason: string | null },
): Promise<void> {
  await db
    .updateTable("runs")
    .set({ tier: route.tier, route_reason: route.reason })
    .where("id", "=", runId)
    .where("attempt", "=", attempt)
    .execute();
}
