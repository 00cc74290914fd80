/**
 * What `/metrics` reads from the store at each scrape (gauges that must agree across every
 * daemon on the store, not only this process's view): queue depth, today's budget refusals,
 * and today's ledger by routine and model.
 */
import { utcDay, utcDayWindow } from "../domain/budget.js";
import type { Db } from "./store.js";

export interface MetricsSnapshot {
  queued: number;
  running: number;
  budgetRefusalsToday: number;
  spendToday: Array<{
    routine: string;
    model: string;
    tokensIn: number;
    tokensOut: number;
    tokensCached: number;
    costUsd: number;
  }>;
}

export async function metricsSnapshot(db: Db, now: number): Promise<MetricsSnapshot> {
  const byStatus = await db
    .selectFrom("runs")
    .select((eb) => ["status", eb.fn.countAll<number>().as("count")])
    .where("status", "in", ["queued", "running"])
    // A run materialised ahead (store/sql/materialise-ahead.ts) is not queue depth until due.
    .where((eb) =>
      eb.not(
        eb.and([eb("status", "=", "queued"), eb("due_at", ">", now), eb("queued_at", "<", eb.ref("due_at"))]),
      ),
    )
    .groupBy("status")
    .execute();
  const count = (status: string) => Number(byStatus.find((row) => row.status === status)?.count ?? 0);
  const refusals = await db
    .selectFrom("runs")
    .select((eb) => eb.fn.countAll<number>().as("count"))
    .where("error_code", "=", "LOOPD_BUDGET_EXCEEDED")
    .where("finished_at", ">=", utcDayWindow(now).from)
    .executeTakeFirst();
  const spend = await db
    .selectFrom("ledger")
    .select((eb) => [
      "routine_name",
      "model",
      eb.fn.sum<number>("tokens_in").as("tokens_in"),
      eb.fn.sum<number>("tokens_out").as("tokens_out"),
      eb.fn.sum<number>("tokens_cached").as("tokens_cached"),
      eb.fn.sum<number>("cost_usd").as("cost_usd"),
    ])
    .where("day", "=", utcDay(now))
    .groupBy(["routine_name", "model"])
    .execute();
  return {
    queued: count("queued"),
    running: count("running"),
    budgetRefusalsToday: Number(refusals?.count ?? 0),
    // PostgreSQL sums come back as strings (bigint / numeric).
    spendToday: spend.map((row) => ({
      routine: row.routine_name,
      model: row.model,
      tokensIn: Number(row.tokens_in ?? 0),
      tokensOut: Number(row.tokens_out ?? 0),
      tokensCached: Number(row.tokens_cached ?? 0),
      costUsd: Number(row.cost_usd ?? 0),
    })),
  };
}
