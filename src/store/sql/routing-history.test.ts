/**
 * What the router reads and writes, on both stores: per tier, a routine's recent finished
 * attempts (passed = succeeded), and their mean cost; the previous attempt of a run; and the
 * route recorded for the current attempt only.
 */
import type { Insertable } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { routineRow, runRow } from "../../../test/helpers/store-rows.js";
import { openTestStore, type TestStore, testDialects } from "../../../test/helpers/stores.js";
import type { RunsTable } from "../schema.js";
import { previousAttempt, recordRoute, tierHistory } from "./routing-history.js";

const NOW = Date.parse("2026-12-04T12:00:00Z");

describe.each(await testDialects())("%s: routing-history", (dialect) => {
  let ctx: TestStore;
  let routineId: number;
  let otherId: number;
  let due = NOW - 10_000_000;
  beforeEach(async () => {
    ctx = await openTestStore(dialect);
    routineId = (await routineRow(ctx.store, "fixer", { now: NOW })).id;
    otherId = (await routineRow(ctx.store, "other", { now: NOW })).id;
  });
  afterEach(async () => {
    await ctx?.dispose();
  });

  async function attempt(fields: Partial<Insertable<RunsTable>>): Promise<number> {
    due += 1000;
    return runRow(ctx.store, {
      routine_id: routineId,
      due_at: due,
      status: "succeeded",
      attempt: 1,
      finished_at: due,
      ...fields,
    });
  }

  it("counts finished attempts per tier, the ones that passed, and their mean and median cost", async () => {
    await attempt({ tier: "cheap", status: "succeeded", cost_usd: 0.1 });
    await attempt({ tier: "cheap", status: "failed", cost_usd: 0.2 });
    await attempt({ tier: "cheap", status: "timed_out", cost_usd: 0.3 });
    await attempt({ tier: "strong", status: "succeeded", cost_usd: 2 });
    // Not evidence about a tier: unfinished, skipped or canceled, untiered, another routine's.
    await attempt({ tier: "cheap", status: "running", cost_usd: 9 });
    await attempt({ tier: "cheap", status: "queued" });
    await attempt({ tier: "cheap", status: "canceled", cost_usd: 9 });
    await attempt({ tier: "cheap", status: "skipped" });
    await attempt({ tier: null, status: "succeeded", cost_usd: 9 });
    await attempt({ routine_id: otherId, tier: "cheap", status: "failed", cost_usd: 9 });

    const history = await tierHistory(ctx.store.db, routineId);
    expect(Object.keys(history).sort()).toEqual(["cheap", "strong"]);
    expect(history.cheap).toEqual({
      runs: 3,
      verified: 1,
      meanCostUsd: expect.closeTo(0.2, 10),
      medianCostUsd: 0.2,
    });
    expect(history.strong).toEqual({ runs: 1, verified: 1, meanCostUsd: 2, medianCostUsd: 2 });
    expect(await tierHistory(ctx.store.db, otherId)).toEqual({
      cheap: { runs: 1, verified: 0, meanCostUsd: 9, medianCostUsd: 9 },
    });
  });

  it("keeps the median where it was when one attempt overshoots", async () => {
    for (const cost of [0.002, 0.003, 0.0184, 0.002]) await attempt({ tier: "cheap", cost_usd: cost });
    const { cheap } = await tierHistory(ctx.store.db, routineId);
    expect(cheap?.meanCostUsd).toBeCloseTo(0.00635, 10);
    expect(cheap?.medianCostUsd).toBeCloseTo(0.0025, 10);
  });

  it("looks at the latest 200 attempts only, so it follows a model's drift", async () => {
    const rows = Array.from({ length: 210 }, (_, index) => {
      due += 1000;
      return {
        routine_id: routineId,
        due_at: due,
        trigger: "schedule" as const,
        // The 10 oldest failed; the 200 newest succeeded.
        status: index < 10 ? ("failed" as const) : ("succeeded" as const),
        max_attempts: 1,
        not_before: due,
        queued_at: due,
        finished_at: due,
        tier: "cheap",
      };
    });
    await ctx.store.db.insertInto("runs").values(rows).execute();
    expect(await tierHistory(ctx.store.db, routineId)).toEqual({
      cheap: { runs: 200, verified: 200, meanCostUsd: 0, medianCostUsd: 0 },
    });
  });

  it("has no history for a routine that never ran", async () => {
    expect(await tierHistory(ctx.store.db, routineId)).toEqual({});
  });

  it("reads the previous attempt as the run row left it, and nothing for a run that is gone", async () => {
    const runId = await attempt({
      status: "queued",
      tier: "cheap",
      error_code: "LOOPD_VERIFY_FAILED",
      error_message: "tests failed",
      summary: "changed two files",
    });
    expect(await previousAttempt(ctx.store.db, runId)).toEqual({
      tier: "cheap",
      errorCode: "LOOPD_VERIFY_FAILED",
      summary: "changed two files",
      errorMessage: "tests failed",
    });
    expect(await previousAttempt(ctx.store.db, runId + 100)).toEqual({
      tier: null,
      errorCode: null,
      summary: null,
      errorMessage: null,
    });
  });

  it("records the route on the attempt that chose it, never on a later one", async () => {
    const runId = await attempt({ status: "running", attempt: 2, tier: "cheap", route_reason: "first try" });
    await recordRoute(ctx.store.db, runId, 1, { tier: "strong", reason: "stale attempt" });
    const route = () =>
      ctx.store.db
        .selectFrom("runs")
        .select(["tier", "route_reason"])
        .where("id", "=", runId)
        .executeTakeFirstOrThrow();
    expect(await route()).toEqual({ tier: "cheap", route_reason: "first try" });
    await recordRoute(ctx.store.db, runId, 2, {
      tier: "strong",
      reason: "escalated after LOOPD_VERIFY_FAILED",
    });
    expect(await route()).toEqual({ tier: "strong", route_reason: "escalated after LOOPD_VERIFY_FAILED" });
  });
});
