/**
 * Auth failures on both stores: consecutive LOOPD_AUTH_* failures are counted on the routine,
 * a run that got past authentication resets the count, and at `pauseAfter` the routine pauses
 * itself with the auth code and one `routine.paused` notification, in one transaction.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { routineRow } from "../../../test/helpers/store-rows.js";
import { openTestStore, type TestStore, testDialects } from "../../../test/helpers/stores.js";
import type { NotifyRuleSpec } from "../../domain/routine-spec.js";
import { setRoutineState } from "../routines.js";
import { type AuthOutcome, recordAuthOutcome } from "./record-auth-outcome.js";

const NOW = Date.parse("2026-12-04T12:00:00Z");
const EXPIRED = { code: "LOOPD_AUTH_EXPIRED", message: "the claude login expired" };
const RULES: NotifyRuleSpec[] = [{ to: ["ops"], on: ["auth"], changeOnly: false }];

describe.each(await testDialects())("%s: record-auth-outcome", (dialect) => {
  let ctx: TestStore;
  let routineId: number;
  beforeEach(async () => {
    ctx = await openTestStore(dialect);
    routineId = (await routineRow(ctx.store, "nightly", { now: NOW })).id;
  });
  afterEach(async () => {
    await ctx?.dispose();
  });

  const record = (fields: Partial<AuthOutcome> = {}) =>
    recordAuthOutcome(ctx.store, {
      routineId,
      routineName: "nightly",
      runId: 7,
      authError: EXPIRED,
      pauseAfter: 3,
      notify: RULES,
      now: NOW,
      ...fields,
    });
  const routine = () =>
    ctx.store.db
      .selectFrom("routines")
      .select(["state", "paused_code", "paused_reason", "consecutive_auth_failures", "updated_at"])
      .where("id", "=", routineId)
      .executeTakeFirstOrThrow();
  const pausedEvents = () =>
    ctx.store.db.selectFrom("outbox").selectAll().where("type", "=", "routine.paused").execute();

  it("counts auth failures in a row; a run past authentication starts the count again", async () => {
    expect(await record()).toEqual({ failures: 1, paused: false });
    expect(await record()).toEqual({ failures: 2, paused: false });
    expect(await record({ authError: null })).toEqual({ failures: 0, paused: false });
    expect(await record()).toEqual({ failures: 1, paused: false });
    expect(await routine()).toMatchObject({
      state: "active",
      consecutive_auth_failures: 1,
      paused_code: null,
    });
    expect(await pausedEvents()).toEqual([]);
  });

  it("pauses the routine at the threshold, with the auth code, the reason and one notification", async () => {
    await record();
    await record();
    expect(await record({ runId: 9, now: NOW + 1 })).toEqual({ failures: 3, paused: true });

    expect(await routine()).toEqual({
      state: "paused",
      paused_code: "LOOPD_AUTH_EXPIRED",
      paused_reason: "LOOPD_AUTH_EXPIRED on 3 runs in a row: the claude login expired",
      consecutive_auth_failures: 3,
      updated_at: NOW + 1,
    });
    const [event, ...more] = await pausedEvents();
    expect(more).toEqual([]);
    expect(event).toMatchObject({ channel: "ops", routine_id: routineId, run_id: 9, status: "pending" });
    expect(JSON.parse(event!.payload)).toMatchObject({
      type: "routine.paused",
      routine: "nightly",
      runId: 9,
      reason: "auth",
      code: "LOOPD_AUTH_EXPIRED",
      failures: 3,
      error: EXPIRED,
      hint: expect.any(String),
    });
  });

  it("a routine paused already keeps counting but is not paused (or notified) again", async () => {
    await setRoutineState(ctx.store.db, routineId, {
      state: "paused",
      pausedReason: "paused by hand",
      pausedCode: "user",
      nextDueAt: null,
      now: NOW,
    });
    for (let i = 0; i < 4; i++) await record();
    expect(await record()).toEqual({ failures: 5, paused: false });
    expect(await routine()).toMatchObject({
      state: "paused",
      paused_code: "user",
      paused_reason: "paused by hand",
    });
    expect(await pausedEvents()).toEqual([]);
  });

  it("a routine removed meanwhile is nothing to count", async () => {
    expect(await record({ routineId: routineId + 100 })).toEqual({ failures: 0, paused: false });
    expect(await record({ routineId: routineId + 100, authError: null })).toEqual({
      failures: 0,
      paused: false,
    });
  });
});
