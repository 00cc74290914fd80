/**
 * Routine health after a completion, on both stores: the last outcome and error, consecutive
 * failures (reset by a success), and the last success, which a failure never moves.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { routineRow } from "../../../test/helpers/store-rows.js";
import { openTestStore, type TestStore, testDialects } from "../../../test/helpers/stores.js";
import { findRoutineByName } from "../routines.js";
import { recordRoutineOutcome } from "./record-outcome.js";

const NOW = Date.parse("2026-12-04T12:00:00Z");
const BROKEN = { code: "LOOPD_HARNESS_FAILED", message: "exit 1" };

describe.each(await testDialects())("%s: record-outcome", (dialect) => {
  let ctx: TestStore;
  let routineId: number;
  beforeEach(async () => {
    ctx = await openTestStore(dialect);
    routineId = (await routineRow(ctx.store, "health", { now: NOW })).id;
    await routineRow(ctx.store, "neighbour", { now: NOW });
  });
  afterEach(async () => {
    await ctx?.dispose();
  });

  const health = async (name = "health") => {
    const routine = (await findRoutineByName(ctx.store.db, name))!;
    return {
      lastRunAt: routine.lastRunAt,
      lastOutcome: routine.lastOutcome,
      lastErrorCode: routine.lastErrorCode,
      lastErrorMessage: routine.lastErrorMessage,
      consecutiveFailures: routine.consecutiveFailures,
      lastSuccessAt: routine.lastSuccessAt,
    };
  };

  it("counts failures in a row, keeps the last success, and a success resets the count and the error", async () => {
    await recordRoutineOutcome(ctx.store.db, { routineId, outcome: "succeeded", error: null, now: NOW });
    await recordRoutineOutcome(ctx.store.db, { routineId, outcome: "failed", error: BROKEN, now: NOW + 1 });
    await recordRoutineOutcome(ctx.store.db, {
      routineId,
      outcome: "timed_out",
      error: { code: "LOOPD_RUN_TIMEOUT", message: "ran past 1h" },
      now: NOW + 2,
    });
    expect(await health()).toEqual({
      lastRunAt: NOW + 2,
      lastOutcome: "timed_out",
      lastErrorCode: "LOOPD_RUN_TIMEOUT",
      lastErrorMessage: "ran past 1h",
      consecutiveFailures: 2,
      lastSuccessAt: NOW,
    });

    await recordRoutineOutcome(ctx.store.db, {
      routineId,
      outcome: "succeeded",
      error: BROKEN,
      now: NOW + 3,
    });
    expect(await health()).toEqual({
      lastRunAt: NOW + 3,
      lastOutcome: "succeeded",
      lastErrorCode: null, // a success carries no error, whatever it was handed
      lastErrorMessage: null,
      consecutiveFailures: 0,
      lastSuccessAt: NOW + 3,
    });
    expect(await health("neighbour")).toMatchObject({ lastRunAt: null, consecutiveFailures: 0 });
  });

  it("a failure without an error clears the last one rather than keep a stale message", async () => {
    await recordRoutineOutcome(ctx.store.db, { routineId, outcome: "failed", error: BROKEN, now: NOW });
    await recordRoutineOutcome(ctx.store.db, { routineId, outcome: "failed", error: null, now: NOW + 1 });
    expect(await health()).toMatchObject({
      lastOutcome: "failed",
      lastErrorCode: null,
      lastErrorMessage: null,
      consecutiveFailures: 2,
      lastSuccessAt: null,
    });
  });
});
