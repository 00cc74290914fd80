/**
 * Release on both stores: at shutdown a worker hands its unfinished runs back to the queue
 * without spending an attempt; runs that are no longer its are left alone. Whether a released
 * run executes again is the next claim's decision: a paused routine's is skipped then.
 */
import type { Insertable } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { routineRow, runRow } from "../../../test/helpers/store-rows.js";
import { openTestStore, type TestStore, testDialects } from "../../../test/helpers/stores.js";
import { setRoutineState } from "../routines.js";
import { findRun } from "../runs.js";
import type { RunsTable } from "../schema.js";
import { claimRuns } from "./claim-runs.js";
import { releaseRuns } from "./release-runs.js";

const NOW = Date.parse("2026-12-04T12:00:00Z");

describe.each(await testDialects())("%s: release-runs", (dialect) => {
  let ctx: TestStore;
  let routineId: number;
  let due = NOW - 60_000;
  beforeEach(async () => {
    ctx = await openTestStore(dialect);
    routineId = (await routineRow(ctx.store, "slow", { now: NOW - 60_000 })).id;
  });
  afterEach(async () => {
    await ctx?.dispose();
  });

  async function running(fields: Partial<Insertable<RunsTable>> = {}): Promise<number> {
    due += 1000;
    return runRow(ctx.store, {
      routine_id: routineId,
      due_at: due,
      status: "running",
      attempt: 2,
      max_attempts: 3,
      worker_id: "w1",
      lease_until: NOW + 30_000,
      started_at: NOW - 10_000,
      ...fields,
    });
  }

  it("queues this worker's running runs again at once, attempt given back, and touches nothing else", async () => {
    const mine = await running();
    const elsewhere = await running({ worker_id: "w2" });
    const finished = await running({ status: "succeeded", lease_until: null, finished_at: NOW - 1 });

    expect(
      await releaseRuns(ctx.store.db, { workerId: "w1", runIds: [mine, elsewhere, finished], now: NOW }),
    ).toEqual([mine]);

    expect(await findRun(ctx.store.db, mine)).toMatchObject({
      status: "queued",
      attempt: 1,
      workerId: null,
      leaseUntil: null,
      notBefore: NOW,
      reason: "released: worker shut down",
      startedAt: NOW - 10_000, // it started before: in line at its next claim (domain/overlap.ts)
    });
    expect(await findRun(ctx.store.db, elsewhere)).toMatchObject({
      status: "running",
      workerId: "w2",
      attempt: 2,
    });
    expect(await findRun(ctx.store.db, finished)).toMatchObject({ status: "succeeded", attempt: 2 });
  });

  it("the next claim runs the released attempt again, not the one after", async () => {
    const mine = await running();
    await releaseRuns(ctx.store.db, { workerId: "w1", runIds: [mine], now: NOW });
    const { claimed } = await claimRuns(ctx.store, { workerId: "w2", now: NOW, limit: 1, leaseMs: 30_000 });
    expect(claimed.map((run) => [run.id, run.attempt])).toEqual([[mine, 2]]);
  });

  it("a run released while its routine is paused is skipped by the next claim, even one fired by hand", async () => {
    const mine = await running({ trigger: "manual" });
    await releaseRuns(ctx.store.db, { workerId: "w1", runIds: [mine], now: NOW });
    await setRoutineState(ctx.store.db, routineId, {
      state: "paused",
      pausedReason: "user",
      pausedCode: "user",
      nextDueAt: null,
      now: NOW,
    });
    const { claimed } = await claimRuns(ctx.store, { workerId: "w2", now: NOW, limit: 1, leaseMs: 30_000 });
    expect(claimed).toEqual([]);
    expect(await findRun(ctx.store.db, mine)).toMatchObject({
      status: "skipped",
      reason: "routine paused",
      finishedAt: NOW,
    });
  });

  it("releases nothing for no runs", async () => {
    expect(await releaseRuns(ctx.store.db, { workerId: "w1", runIds: [], now: NOW })).toEqual([]);
  });
});
