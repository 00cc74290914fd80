/**
 * The store-read half of /metrics on SQLite and PostgreSQL: queue depth, today's ledger by
 * routine and model (PostgreSQL sums arrive as strings), today's budget refusals, and
 * yesterday's series gone after midnight.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { routineRow, runRow } from "../../test/helpers/store-rows.js";
import { openTestStore, type TestStore, testDialects } from "../../test/helpers/stores.js";
import { type LedgerEntry, recordLedger } from "../store/ledger.js";
import { createDaemonMetrics } from "./metrics.js";

const NOW = Date.parse("2026-12-04T12:00:00Z");
const YESTERDAY = Date.parse("2026-12-03T22:00:00Z");

function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function entry(fields: Partial<LedgerEntry> & { at: number; costUsd: number }): LedgerEntry {
  return {
    routineId: 1,
    routineName: "alpha",
    runId: null,
    attempt: 1,
    harness: "claude",
    model: "sonnet",
    tier: null,
    usage: { tokensIn: 1000, tokensOut: 200, tokensCached: 50, tokensReasoning: 0 },
    costSource: "reported",
    ...fields,
  };
}

describe.each(await testDialects())("%s: /metrics gauges read from the store", (dialect) => {
  let ctx: TestStore;
  beforeEach(async () => {
    ctx = await openTestStore(dialect);
  });
  afterEach(async () => {
    await ctx?.dispose();
  });

  it("reports queue depth, today's spend by routine and model, and budget refusals", async () => {
    const { store } = ctx;
    const routine = await routineRow(store, "alpha", { now: NOW });
    await runRow(store, { routine_id: routine.id, due_at: NOW - 3000 });
    await runRow(store, { routine_id: routine.id, due_at: NOW - 2000 });
    await runRow(store, { routine_id: routine.id, due_at: NOW - 1000, status: "running" });
    await runRow(store, {
      routine_id: routine.id,
      due_at: NOW - 5000,
      status: "failed",
      error_code: "LOOPD_BUDGET_EXCEEDED",
      finished_at: NOW - 4000,
    });
    await runRow(store, {
      routine_id: routine.id,
      due_at: YESTERDAY - 5000,
      status: "failed",
      error_code: "LOOPD_BUDGET_EXCEEDED",
      finished_at: YESTERDAY,
    });
    await recordLedger(store.db, [
      entry({ at: NOW - 60_000, costUsd: 0.25 }),
      entry({ at: NOW - 30_000, costUsd: 0.5 }),
      entry({ at: NOW - 30_000, costUsd: 1.5, model: "opus", routineName: "beta", routineId: null }),
      entry({ at: YESTERDAY, costUsd: 9, model: "haiku" }),
    ]);

    let now = NOW;
    const metrics = createDaemonMetrics(store, () => now);
    const { body, contentType } = await metrics.render();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(sample(body, 'loopd_runs{state="queued"}')).toBe(2);
    expect(sample(body, 'loopd_runs{state="running"}')).toBe(1);
    expect(sample(body, "loopd_budget_refusals_today")).toBe(1);
    expect(sample(body, 'loopd_cost_usd_today{routine="alpha",model="sonnet"}')).toBe(0.75);
    expect(sample(body, 'loopd_cost_usd_today{routine="beta",model="opus"}')).toBe(1.5);
    expect(sample(body, 'loopd_tokens_today{routine="alpha",model="sonnet",kind="in"}')).toBe(2000);
    expect(sample(body, 'loopd_tokens_today{routine="alpha",model="sonnet",kind="cached"}')).toBe(100);
    expect(body).not.toContain('model="haiku"');

    // The next UTC day: today's series start empty instead of carrying yesterday's.
    now = NOW + 24 * 60 * 60 * 1000;
    const tomorrow = (await metrics.render()).body;
    expect(tomorrow).not.toContain("loopd_cost_usd_today{");
    expect(sample(tomorrow, "loopd_budget_refusals_today")).toBe(0);
  });
});
