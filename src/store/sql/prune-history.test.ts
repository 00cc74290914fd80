/**
 * Retention of the tables beside runs, on both stores: settled budget reservations past
 * `keepFor` go (open ones never, released ones only past the late-settle window); ci-health
 * test results past `keepFor` go unless a routine's window still reads them; inbound delivery
 * ids go past `keepFor` and a week. Batches are bounded, and a second sweep finds nothing.
 */
import { tmpdir } from "node:os";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { addRoutine } from "../../../test/helpers/routines.js";
import { routineRow } from "../../../test/helpers/store-rows.js";
import { openTestStore, type TestStore, testDialects } from "../../../test/helpers/stores.js";
import { pruneFinished } from "../../engine/run-retention.js";
import { recentTestResults, recordTestResults } from "../test-results.js";
import { pruneInboundBatch, pruneReservationsBatch } from "./prune-history.js";
import { settleBudget } from "./settle-budget.js";

const DAY = 24 * 60 * 60_000;
const NOW = Date.parse("2026-12-04T12:00:00Z");
const nothing = { runs: 0, deliveries: 0, reservations: 0, testResults: 0, inbound: 0, more: false };

describe.each(await testDialects())("%s: prune-history", (dialect) => {
  let ctx: TestStore;
  beforeEach(async () => {
    ctx = await openTestStore(dialect);
  });
  afterEach(async () => {
    await ctx?.dispose();
  });

  /** A reservation made `createdDays` ago; settled `settledDays` ago (null: open) at `actual` (null: released). */
  async function reservation(
    runId: number,
    createdDays: number,
    settledDays: number | null,
    actual: number | null,
  ): Promise<number> {
    const row = await ctx.store.db
      .insertInto("budget_reservations")
      .values({
        run_id: runId,
        attempt: 1,
        routine_id: null,
        amount_usd: 1,
        created_at: NOW - createdDays * DAY,
        settled_at: settledDays === null ? null : NOW - settledDays * DAY,
        actual_usd: actual,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async function reservationRuns(): Promise<number[]> {
    const rows = await ctx.store.db
      .selectFrom("budget_reservations")
      .select("run_id")
      .orderBy("run_id")
      .execute();
    return rows.map((row) => Number(row.run_id));
  }

  it("deletes settled reservations past keepFor, never open ones; one released without a cost waits out the late-settle window", async () => {
    await reservation(1, 40, null, null); // open for 40 days (a run still going): counted by caps
    await reservation(2, 40, 40, 0.5); // settled long ago: history
    await reservation(3, 40, 40, null); // released long ago, never settled
    await reservation(4, 40, 2, 0.5); // settled inside keepFor
    await reservation(5, 1, 1, 0.5); // recent
    expect(await pruneFinished(ctx.store, { keepForMs: 30 * DAY, keepPerRoutine: 1 }, NOW)).toEqual({
      ...nothing,
      reservations: 2,
    });
    expect(await reservationRuns()).toEqual([1, 4, 5]);
    expect(await pruneFinished(ctx.store, { keepForMs: 30 * DAY, keepPerRoutine: 1 }, NOW)).toEqual(nothing);

    // keepFor 1 day: settled rows older than that go; a released one (a presumed-dead worker
    // may still settle it) stays until its attempt is past the longest timeout.
    const released = await reservation(6, 3, 3, null);
    await reservation(7, 9, 9, null); // past the late-settle window (the longest timeout and a day)
    expect(await pruneFinished(ctx.store, { keepForMs: DAY, keepPerRoutine: 1 }, NOW)).toEqual({
      ...nothing,
      reservations: 2, // runs 4 and 7; run 5's; run 5's was settled exactly keepFor ago
    });
    expect(await reservationRuns()).toEqual([1, 5, 6]);
    expect(await settleBudget(ctx.store, { reservationId: released, now: NOW, ledger: [] })).toBe("late");
  });

  it("deletes reservations at most `limit` per statement", async () => {
    for (let run = 1; run <= 5; run++) await reservation(run, 40, 40, 0.1);
    const options = { cutoff: NOW - 30 * DAY, now: NOW, limit: 2 };
    expect(await pruneReservationsBatch(ctx.store, options)).toBe(2);
    expect(await pruneReservationsBatch(ctx.store, options)).toBe(2);
    expect(await pruneReservationsBatch(ctx.store, options)).toBe(1);
    expect(await pruneReservationsBatch(ctx.store, options)).toBe(0);
  });

  it("deletes test results past keepFor outside each routine's window, and the window reads the same", async () => {
    const health = await addRoutine(
      ctx.store,
      {
        name: "health",
        template: "ci-health",
        params: { test: "npm test", junit: "junit.xml", window: 2 },
      },
      { repo: tmpdir(), nextDueAt: null, now: NOW },
    );
    // Not (or no longer) ci-health: `loopd flaky --routine` reads its last 20 runs.
    const other = await routineRow(ctx.store, "other", { now: NOW });
    const record = async (routineId: number, runId: number, ageDays: number) =>
      recordTestResults(ctx.store.db, routineId, runId, [
        {
          runId,
          testId: "s::a",
          try: 0,
          outcome: "failed",
          commit: "c",
          message: "boom",
          at: NOW - ageDays * DAY,
        },
        {
          runId,
          testId: "s::a",
          try: 1,
          outcome: "passed",
          commit: "c",
          message: null,
          at: NOW - ageDays * DAY,
        },
      ]);
    await record(health.id, 11, 50);
    await record(health.id, 12, 45);
    await record(health.id, 13, 40); // old, but one of the window's 2 newest runs
    await record(health.id, 14, 1);
    for (const runId of [21, 22, 23]) await record(other.id, runId, 60);
    const window = await recentTestResults(ctx.store.db, health.id, 2);

    expect(await pruneFinished(ctx.store, { keepForMs: 30 * DAY, keepPerRoutine: 1 }, NOW)).toEqual({
      ...nothing,
      testResults: 4,
    });
    const left = await ctx.store.db
      .selectFrom("test_results")
      .select(["routine_id", "run_id"])
      .orderBy("run_id")
      .execute();
    expect(left.map((row) => Number(row.run_id))).toEqual([13, 13, 14, 14, 21, 21, 22, 22, 23, 23]);
    expect(await recentTestResults(ctx.store.db, health.id, 2)).toEqual(window);
    expect(await pruneFinished(ctx.store, { keepForMs: 30 * DAY, keepPerRoutine: 1 }, NOW)).toEqual(nothing);
  });

  it("deletes inbound delivery ids past keepFor and at least a week old", async () => {
    const receive = async (id: string, ageDays: number) =>
      ctx.store.db
        .insertInto("inbound_deliveries")
        .values({ source: "github", id, received_at: NOW - ageDays * DAY, run_id: null })
        .execute();
    await receive("d40", 40);
    await receive("d20", 20);
    await receive("d8", 8);
    await receive("d2", 2);
    const ids = async () =>
      (await ctx.store.db.selectFrom("inbound_deliveries").select("id").orderBy("received_at").execute()).map(
        (row) => row.id,
      );
    expect(await pruneFinished(ctx.store, { keepForMs: 30 * DAY, keepPerRoutine: 1 }, NOW)).toEqual({
      ...nothing,
      inbound: 1,
    });
    expect(await ids()).toEqual(["d20", "d8", "d2"]);
    // keepFor 1 day: GitHub may still redeliver a 2-day-old delivery, so a week is the floor.
    expect(await pruneFinished(ctx.store, { keepForMs: DAY, keepPerRoutine: 1 }, NOW)).toEqual({
      ...nothing,
      inbound: 2,
    });
    expect(await ids()).toEqual(["d2"]);

    for (let index = 0; index < 3; index++) await receive(`old${index}`, 40);
    const options = { cutoff: NOW - 30 * DAY, now: NOW, limit: 2 };
    expect(await pruneInboundBatch(ctx.store, options)).toBe(2);
    expect(await pruneInboundBatch(ctx.store, options)).toBe(1);
    expect(await ids()).toEqual(["d2"]);
  });
});
