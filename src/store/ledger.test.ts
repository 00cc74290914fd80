/** The cost ledger as a contract suite on SQLite and PostgreSQL: spend windows and the cost report. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openTestStore, type TestStore, testDialects } from "../../test/helpers/stores.js";
import { costReport, type LedgerEntry, recentAttemptCosts, recordLedger, spentUsd } from "./ledger.js";

const NOW = Date.parse("2026-11-28T12:00:00Z");
const YESTERDAY = Date.parse("2026-11-27T23:59:59.999Z");
const MONTH_START = Date.parse("2026-11-01T00:00:00Z");
const LAST_MONTH = Date.parse("2026-10-31T23:00:00Z");

function entry(fields: Partial<LedgerEntry> & { at: number; costUsd: number }): LedgerEntry {
  return {
    routineId: 1,
    routineName: "alpha",
    runId: 100,
    attempt: 1,
    harness: "claude",
    model: "claude-sonnet-4-5",
    tier: "standard",
    usage: { tokensIn: 1000, tokensOut: 200, tokensCached: 50, tokensReasoning: 10 },
    costSource: "reported",
    ...fields,
  };
}

describe.each(await testDialects())("%s: cost ledger", (dialect) => {
  let ctx: TestStore;
  beforeEach(async () => {
    ctx = await openTestStore(dialect);
  });
  afterEach(async () => {
    await ctx?.dispose();
  });

  it("writes the UTC day of each row and nothing for an empty batch", async () => {
    await recordLedger(ctx.store.db, []);
    await recordLedger(ctx.store.db, [entry({ at: Date.parse("2026-11-28T23:30:00-05:00"), costUsd: 1 })]);
    const rows = await ctx.store.db
      .selectFrom("ledger")
      .select(["day", "tier", "attempt", "tokens_cached"])
      .execute();
    expect(rows).toEqual([{ day: "2026-11-29", tier: "standard", attempt: 1, tokens_cached: 50 }]);
  });

  it("sums spend over a half-open window, per routine or overall", async () => {
    await recordLedger(ctx.store.db, [
      entry({ at: NOW - 1, costUsd: 1 }),
      entry({ at: NOW, costUsd: 2 }),
      entry({ at: NOW + 999, costUsd: 4, routineId: 2, routineName: "beta" }),
      entry({ at: NOW + 1000, costUsd: 8 }),
    ]);
    expect(await spentUsd(ctx.store.db, { from: NOW, to: NOW + 1000 })).toBe(6);
    expect(await spentUsd(ctx.store.db, { routineId: 1, from: NOW, to: NOW + 1000 })).toBe(2);
    expect(await spentUsd(ctx.store.db, { routineId: 3, from: 0, to: NOW * 2 })).toBe(0);
  });

  it("reports cost by routine, model, tier, day and harness", async () => {
    const usage = (tokensIn: number) => ({ tokensIn, tokensOut: 10, tokensCached: 5, tokensReasoning: 1 });
    await recordLedger(ctx.store.db, [
      entry({ at: LAST_MONTH, costUsd: 100, usage: usage(1) }),
      entry({ at: YESTERDAY, runId: 1, costUsd: 1, usage: usage(100) }),
      entry({ at: NOW, runId: 1, costUsd: 2, usage: usage(200), model: "claude-haiku-4-5", tier: "cheap" }),
      entry({ at: NOW, runId: 2, costUsd: 3, usage: usage(300), model: "claude-haiku-4-5", tier: "cheap" }),
      entry({
        at: NOW,
        runId: 3,
        routineId: 2,
        routineName: "beta",
        costUsd: 0.5,
        usage: usage(50),
        harness: "codex",
        model: "gpt-5",
        tier: null,
        costSource: "priced",
      }),
    ]);
    const report = (by: "routine" | "model" | "tier" | "day" | "harness", routineId?: number) =>
      costReport(ctx.store.db, { by, since: MONTH_START, ...(routineId === undefined ? {} : { routineId }) });
    const keys = async (by: "routine" | "model" | "tier" | "day" | "harness") =>
      (await report(by)).map((row) => [row.key, row.runs, row.costUsd]);

    expect(await report("routine")).toEqual([
      {
        key: "alpha",
        runs: 2,
        tokensIn: 600,
        tokensOut: 30,
        tokensCached: 15,
        tokensReasoning: 3,
        costUsd: 6,
      },
      {
        key: "beta",
        runs: 1,
        tokensIn: 50,
        tokensOut: 10,
        tokensCached: 5,
        tokensReasoning: 1,
        costUsd: 0.5,
      },
    ]);
    expect(await keys("model")).toEqual([
      ["claude-haiku-4-5", 2, 5],
      ["claude-sonnet-4-5", 1, 1],
      ["gpt-5", 1, 0.5],
    ]);
    expect(await keys("tier")).toEqual([
      ["cheap", 2, 5],
      ["standard", 1, 1],
      ["(none)", 1, 0.5],
    ]);
    expect(await keys("day")).toEqual([
      ["2026-11-27", 1, 1],
      ["2026-11-28", 3, 5.5],
    ]);
    expect(await keys("harness")).toEqual([
      ["claude", 2, 6],
      ["codex", 1, 0.5],
    ]);
    expect((await report("model", 2)).map((row) => row.key)).toEqual(["gpt-5"]);
  });

  it("sums each recent attempt's rows, newest first, within its routine, tier and window", async () => {
    await recordLedger(ctx.store.db, [
      entry({ at: LAST_MONTH, runId: 1, costUsd: 7 }),
      entry({ at: NOW - 5000, runId: 2, costUsd: 0.001 }),
      entry({ at: NOW - 4000, runId: 3, costUsd: 0.002, model: "claude-haiku-4-5" }),
      entry({ at: NOW - 4000, runId: 3, costUsd: 0.0005 }),
      entry({ at: NOW - 3000, runId: 3, attempt: 2, costUsd: 0.0184 }),
      entry({ at: NOW - 2000, runId: 4, costUsd: 0.3, tier: "strong" }),
      entry({ at: NOW - 1000, runId: 5, costUsd: 9, routineId: 2 }),
      entry({ at: NOW - 500, runId: null, costUsd: 9 }),
    ]);
    const recent = (fields: { tier?: string; limit?: number } = {}) =>
      recentAttemptCosts(ctx.store.db, { routineId: 1, since: MONTH_START, limit: 20, ...fields });
    expect(await recent()).toEqual([0.3, 0.0184, 0.0025, 0.001]);
    expect(await recent({ tier: "standard" })).toEqual([0.0184, 0.0025, 0.001]);
    expect(await recent({ limit: 2 })).toEqual([0.3, 0.0184]);
  });
});
