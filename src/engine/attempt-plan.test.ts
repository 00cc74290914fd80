/**
 * The budget half of planning an attempt, on SQLite and PostgreSQL: estimates that never lock
 * a routine out (no history, one overshoot) and refusals that name the setting to raise.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { shellSpec } from "../../test/helpers/specs.js";
import { openTestStore, type TestStore, testDialects } from "../../test/helpers/stores.js";
import type { RoutineSpec } from "../domain/routine-spec.js";
import type { ConfigSettings } from "../domain/settings.js";
import { recordLedger } from "../store/ledger.js";
import { insertRoutine } from "../store/routines.js";
import { insertRun } from "../store/runs.js";
import type { ClaimedRun } from "../store/sql/claim-runs.js";
import { planAttempt } from "./attempt-plan.js";

const NOW = Date.parse("2026-12-04T13:00:00Z");
const HOUR = 3_600_000;

describe.each(await testDialects())("%s: planning an attempt's budget", (dialect) => {
  let ctx: TestStore;
  beforeEach(async () => {
    ctx = await openTestStore(dialect);
  });
  afterEach(async () => {
    await ctx?.dispose();
  });

  async function routine(overrides: Partial<RoutineSpec>) {
    const spec = shellSpec("nightly", {
      harness: "claude",
      task: { kind: "prompt", prompt: "tidy the docs" },
      maxTurns: 30,
      ...overrides,
    });
    const { id } = await insertRoutine(ctx.store.db, {
      name: spec.name,
      source: null,
      spec,
      specHash: "hash",
      state: "active",
      pausedReason: null,
      nextDueAt: null,
      now: NOW,
    });
    let due = NOW - 10 * HOUR;
    /** A finished attempt that spent `costUsd` (ledger and run row, as settling leaves them). */
    const past = async (costUsd: number, tier: string | null = null) => {
      due += 1000;
      const runId = (await insertRun(ctx.store.db, {
        routineId: id,
        dueAt: due,
        trigger: "schedule",
        status: "succeeded",
        maxAttempts: 1,
        now: due,
      })) as number;
      await ctx.store.db
        .updateTable("runs")
        .set({ tier, cost_usd: costUsd })
        .where("id", "=", runId)
        .execute();
      await recordLedger(ctx.store.db, [
        {
          at: due,
          routineId: id,
          routineName: spec.name,
          runId,
          attempt: 1,
          harness: "claude",
          model: "claude-haiku-4-5",
          tier,
          usage: { tokensIn: 100, tokensOut: 10, tokensCached: 0, tokensReasoning: 0 },
          costUsd,
          costSource: "reported",
        },
      ]);
    };
    const next = async (): Promise<ClaimedRun> => {
      due += 1000;
      const runId = (await insertRun(ctx.store.db, {
        routineId: id,
        dueAt: due,
        trigger: "schedule",
        status: "running",
        maxAttempts: 1,
        now: NOW,
      })) as number;
      return {
        id: runId,
        routineId: id,
        routineName: spec.name,
        spec,
        attempt: 1,
        maxAttempts: 1,
        dueAt: due,
        trigger: "schedule",
        input: null,
        leaseUntil: NOW + HOUR,
        workerId: "w1",
      };
    };
    return { past, next };
  }

  const held = async () =>
    (await ctx.store.db.selectFrom("budget_reservations").select("amount_usd").execute()).map((row) =>
      Number(row.amount_usd),
    );

  it("admits a routine with only perDay: 0.05 and no history, holding at most that cap", async () => {
    const { next } = await routine({ budget: { perDay: 0.05 } });
    const planned = await planAttempt(ctx.store, await next(), {}, NOW);
    expect(planned.ok).toBe(true);
    expect(await held()).toEqual([0.05]);
  });

  it("estimates from the median after one overshooting run, so the next one still starts", async () => {
    const { past, next } = await routine({ budget: { perRun: 0.003, perDay: 0.03 } });
    for (const cost of [0.002, 0.002, 0.002, 0.0184]) await past(cost);
    // Today: $0.0244 spent, $0.0056 left. The mean ($0.0061) would not fit; the median does.
    const planned = await planAttempt(ctx.store, await next(), {}, NOW);
    expect(planned.ok).toBe(true);
    expect(await held()).toEqual([0.002]);
  });

  it("routes a tier whose only run overshot perRun to the cheapest tier instead of refusing forever", async () => {
    const settings: ConfigSettings = {
      models: { cheap: { harness: "claude", model: "claude-haiku-4-5" } },
      routing: { explore: 0 },
    };
    const { past, next } = await routine({ tier: "cheap", budget: { perRun: 0.003 } });
    await past(0.0184, "cheap");
    const planned = await planAttempt(ctx.store, await next(), settings, NOW);
    expect(planned).toMatchObject({
      ok: true,
      plan: {
        tier: "cheap",
        reason:
          "cheap: no tier is expected to fit $0.003 left for this run, so the cheapest runs and the cap stops it",
      },
    });
    expect(await held()).toEqual([0.003]);
  });

  it("refuses with the numbers and the setting to raise when today's cap is spent", async () => {
    const { past, next } = await routine({ budget: { perDay: 0.05 } });
    for (const cost of [0.0125, 0.0125, 0.0125, 0.012]) await past(cost);
    const planned = await planAttempt(ctx.store, await next(), {}, NOW);
    expect(planned).toEqual({
      ok: false,
      error: {
        code: "LOOPD_BUDGET_EXCEEDED",
        message:
          "not started: the routine's daily budget (budget.perDay) of $0.05 has $0.0495 spent and $0 held by running runs; this run needs ~$0.0125 (median of 4 recent runs)",
        hint: "Raise `budget.perDay` of nightly to at least $0.062, wait for it to reset at 2026-12-05T00:00:00.000Z, or give the routine a cheaper `tier`; `loopd costs --by routine` shows where it went.",
      },
    });
    expect(await held()).toEqual([]);
  });
});
