/**
 * Notification events ride in the transaction of the change that causes them: a completed
 * run writes its `run.failed` row with the outcome, a rolled-back or rejected change writes
 * none, and only the channels whose rules ask for the event get a row.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { shellSpec } from "../../test/helpers/specs.js";
import { openTestStore, type TestStore, testDialects } from "../../test/helpers/stores.js";
import type { NotifyRuleSpec } from "../domain/routine-spec.js";
import { enqueueEvent } from "./outbox.js";
import { insertRoutine } from "./routines.js";
import { insertRun } from "./runs.js";
import { claimRuns } from "./sql/claim-runs.js";
import { type Completion, completeRuns } from "./sql/complete-run.js";

const NOW = Date.parse("2026-11-28T12:00:00Z");
const RULES: NotifyRuleSpec[] = [
  { to: ["ops"], on: ["failure"], changeOnly: false },
  { to: ["me", "ops"], on: ["timeout", "success"], changeOnly: false },
];

describe.each(await testDialects())("%s: outbox", (dialect) => {
  let ctx: TestStore;
  beforeEach(async () => {
    ctx = await openTestStore(dialect);
  });
  afterEach(async () => {
    await ctx?.dispose();
  });

  const rows = () => ctx.store.db.selectFrom("outbox").selectAll().orderBy("channel").execute();

  async function runningRun(retries = 0) {
    const routine = await insertRoutine(ctx.store.db, {
      name: "babysit",
      source: null,
      spec: shellSpec("babysit", { retries, notify: RULES }),
      specHash: "h",
      state: "active",
      pausedReason: null,
      nextDueAt: null,
      now: NOW,
    });
    await insertRun(ctx.store.db, {
      routineId: routine.id,
      dueAt: NOW,
      trigger: "manual",
      status: "queued",
      maxAttempts: retries + 1,
      now: NOW,
    });
    const { claimed } = await claimRuns(ctx.store, { workerId: "w1", now: NOW, limit: 1, leaseMs: 30_000 });
    return { routine, run: claimed[0]! };
  }

  function completion(run: { id: number; routineId: number }, outcome: Completion["outcome"]): Completion {
    return {
      runId: run.id,
      attempt: 1,
      workerId: "w1",
      now: NOW + 1000,
      outcome,
      exitCode: outcome === "succeeded" ? 0 : 1,
      summary: "tests red",
      error: outcome === "succeeded" ? null : { code: "LOOPD_RUN_FAILED", message: "exit 1" },
      notify: { routineId: run.routineId, rules: RULES, payload: { routine: "babysit" } },
    };
  }

  it("writes a final failure's event with the outcome, one row per channel that asked", async () => {
    const { run } = await runningRun();
    await completeRuns(ctx.store, [completion(run, "failed")]);
    const written = await rows();
    expect(written.map((row) => [row.type, row.channel, row.status])).toEqual([
      ["run.failed", "ops", "pending"],
    ]);
    expect(JSON.parse(written[0]!.payload)).toMatchObject({
      type: "run.failed",
      routine: "babysit",
      runId: run.id,
      status: "failed",
      error: { code: "LOOPD_RUN_FAILED" },
    });
    expect(written[0]!.id).toMatch(/^evt_/);
  });

  it("tells both `timeout` and `failure` rules about a timeout, once per channel", async () => {
    const { run } = await runningRun();
    await completeRuns(ctx.store, [completion(run, "timed_out")]);
    expect((await rows()).map((row) => [row.type, row.channel])).toEqual([
      ["run.timed_out", "me"],
      ["run.timed_out", "ops"],
    ]);
  });

  it("writes nothing for an attempt that will be retried, or a completion that was rejected", async () => {
    const { run } = await runningRun(1);
    await completeRuns(ctx.store, [completion(run, "failed")]);
    expect(await rows()).toEqual([]);
    const stale = { ...completion(run, "failed"), workerId: "someone-else" };
    await completeRuns(ctx.store, [stale]);
    expect(await rows()).toEqual([]);
  });

  it("a claim writes run.started for routines that asked for `start`", async () => {
    const routine = await insertRoutine(ctx.store.db, {
      name: "loud",
      source: null,
      spec: shellSpec("loud", { notify: [{ to: ["me"], on: ["start"], changeOnly: false }] }),
      specHash: "h",
      state: "active",
      pausedReason: null,
      nextDueAt: null,
      now: NOW,
    });
    await insertRun(ctx.store.db, {
      routineId: routine.id,
      dueAt: NOW,
      trigger: "manual",
      status: "queued",
      maxAttempts: 1,
      now: NOW,
    });
    await runningRun(); // a routine without a `start` rule, claimed too
    await claimRuns(ctx.store, { workerId: "w1", now: NOW, limit: 5, leaseMs: 30_000 });
    expect((await rows()).map((row) => [row.type, row.channel, row.routine_id])).toEqual([
      ["run.started", "me", routine.id],
    ]);
  });

  it("changeOnly rules hear about a changed outcome only", async () => {
    const { routine, run } = await runningRun();
    const changeOnly = [{ to: ["ops"], on: ["failure", "success"], changeOnly: true }] as NotifyRuleSpec[];
    const notice = (outcome: Completion["outcome"], r: { id: number; routineId: number }) => ({
      ...completion(r, outcome),
      notify: { routineId: routine.id, rules: changeOnly, payload: {} },
    });
    await completeRuns(ctx.store, [notice("failed", run)]);
    expect(await rows()).toHaveLength(1); // first outcome: a change from nothing
    for (const outcome of ["failed", "succeeded"] as const) {
      await insertRun(ctx.store.db, {
        routineId: routine.id,
        dueAt: NOW + (outcome === "failed" ? 10 : 20),
        trigger: "manual",
        status: "queued",
        maxAttempts: 1,
        now: NOW,
      });
      const { claimed } = await claimRuns(ctx.store, {
        workerId: "w1",
        now: NOW + 100,
        limit: 1,
        leaseMs: 30_000,
      });
      await completeRuns(ctx.store, [notice(outcome, claimed[0]!)]);
    }
    // failed again: nothing new; then succeeded: a change.
    expect((await rows()).map((row) => row.type).sort()).toEqual(["run.failed", "run.succeeded"]);
  });

  it("writes no row when the transaction that caused it rolls back", async () => {
    await expect(
      ctx.store.writeTransaction(async (db) => {
        await enqueueEvent(db, {
          type: "routine.paused",
          kind: "auth",
          routineId: null,
          runId: null,
          payload: {},
          notify: [{ to: ["me"], on: ["auth"], changeOnly: false }],
          now: NOW,
        });
        throw new Error("the state change failed");
      }),
    ).rejects.toThrow("the state change failed");
    expect(await rows()).toEqual([]);
  });
});
