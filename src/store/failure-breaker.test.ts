/**
 * The failure circuit breaker, in the completion transaction: the run that makes
 * `pauseAfter` failed runs in a row pauses its routine (state, reason, `paused_code`) and
 * writes `routine.paused` with the reason and the fix; a success resets the count; retried
 * attempts and canceled runs are not failed runs; auth pauses (record-auth-outcome.ts) write the
 * same; and every run's error keeps its hint.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { shellSpec } from "../../test/helpers/specs.js";
import { openTestStore, type TestStore, testDialects } from "../../test/helpers/stores.js";
import type { NotifyRuleSpec } from "../domain/routine-spec.js";
import { findRoutineByName, insertRoutine } from "./routines.js";
import { findRun, insertRun } from "./runs.js";
import { claimRuns } from "./sql/claim-runs.js";
import { type Completion, type CompletionResult, completeRun } from "./sql/complete-run.js";
import { recordAuthOutcome } from "./sql/record-auth-outcome.js";

const NOW = Date.parse("2026-11-28T12:00:00Z");
const RULES: NotifyRuleSpec[] = [{ to: ["ops"], on: ["failure"], changeOnly: false }];
const AUTH_RULES: NotifyRuleSpec[] = [...RULES, { to: ["me"], on: ["auth"], changeOnly: false }];
const FAILED = { code: "LOOPD_RUN_FAILED", message: "command exited with 1", hint: "Read `loopd logs 1`." };

describe.each(await testDialects())("%s: failure circuit breaker", (dialect) => {
  let ctx: TestStore;
  let routineId: number;
  let attempt = 0;
  beforeEach(async () => {
    ctx = await openTestStore(dialect);
    attempt = 0;
    const routine = await insertRoutine(ctx.store.db, {
      name: "flaky",
      source: null,
      spec: shellSpec("flaky", { notify: RULES }),
      specHash: "h",
      state: "active",
      pausedReason: null,
      nextDueAt: null,
      now: NOW,
    });
    routineId = routine.id;
  });
  afterEach(async () => {
    await ctx?.dispose();
  });

  /** One run of `flaky` (retries: maxAttempts − 1), claimed and completed with this outcome. */
  async function runOnce(
    outcome: Completion["outcome"],
    options: { pauseAfter?: number; maxAttempts?: number; error?: typeof FAILED } = {},
  ): Promise<{ runId: number; result: CompletionResult }> {
    attempt++;
    const now = NOW + attempt * 1000;
    const runId = (await insertRun(ctx.store.db, {
      routineId,
      dueAt: now,
      trigger: "manual",
      status: "queued",
      maxAttempts: options.maxAttempts ?? 1,
      now,
    }))!;
    await claimRuns(ctx.store, { workerId: "w1", now, limit: 1, leaseMs: 30_000, runId });
    const result = await completeRun(ctx.store, {
      runId,
      attempt: 1,
      workerId: "w1",
      now,
      outcome,
      exitCode: outcome === "succeeded" ? 0 : 1,
      summary: null,
      error: outcome === "succeeded" ? null : (options.error ?? FAILED),
      breaker: { routineName: "flaky", pauseAfter: options.pauseAfter ?? 3, notify: RULES },
    });
    return { runId, result };
  }

  const routine = async () => (await findRoutineByName(ctx.store.db, "flaky"))!;
  const pausedEvents = () =>
    ctx.store.db.selectFrom("outbox").selectAll().where("type", "=", "routine.paused").execute();

  it("pauses the routine on its pauseAfter-th failed run in a row, with the reason and the fix", async () => {
    await runOnce("failed");
    await runOnce("timed_out");
    expect(await routine()).toMatchObject({ state: "active", consecutiveFailures: 2 });
    expect(await pausedEvents()).toEqual([]);

    const { runId, result } = await runOnce("failed");
    expect(result).toMatchObject({ accepted: true, final: true, paused: { code: "LOOPD_ROUTINE_FAILING" } });
    const paused = await routine();
    expect(paused).toMatchObject({
      state: "paused",
      pausedCode: "LOOPD_ROUTINE_FAILING",
      consecutiveFailures: 3,
    });
    expect(paused.pausedReason).toBe(
      "3 failed runs in a row; the last: LOOPD_RUN_FAILED: command exited with 1",
    );

    const events = await pausedEvents();
    expect(events.map((row) => [row.channel, row.run_id])).toEqual([["ops", runId]]);
    expect(JSON.parse(events[0]!.payload)).toMatchObject({
      type: "routine.paused",
      routine: "flaky",
      reason: "failing",
      code: "LOOPD_ROUTINE_FAILING",
      failures: 3,
      error: FAILED,
      hint: "Read the last run's error with `loopd show flaky`, fix the cause, then `loopd resume flaky`.",
    });
  });

  it("a success in between resets the count", async () => {
    await runOnce("failed");
    await runOnce("failed");
    await runOnce("succeeded");
    expect(await routine()).toMatchObject({ state: "active", consecutiveFailures: 0 });
    await runOnce("failed");
    await runOnce("failed");
    expect(await routine()).toMatchObject({ state: "active", consecutiveFailures: 2 });
    await runOnce("failed");
    expect(await routine()).toMatchObject({ state: "paused", consecutiveFailures: 3 });
  });

  it("counts failed runs: not retried attempts, not canceled runs", async () => {
    const { result } = await runOnce("failed", { maxAttempts: 2 });
    expect(result).toMatchObject({ accepted: true, final: false });
    await runOnce("canceled");
    await runOnce("failed");
    expect(await routine()).toMatchObject({ state: "active", consecutiveFailures: 1 });
  });

  it("after a resume, the next failure pauses again (half-open); pauseAfter 0 never pauses", async () => {
    for (let i = 0; i < 3; i++) await runOnce("failed");
    await ctx.store.db.updateTable("routines").set({ state: "active", paused_reason: null }).execute();
    await runOnce("failed");
    expect(await routine()).toMatchObject({ state: "paused", consecutiveFailures: 4 });
    expect(await pausedEvents()).toHaveLength(2);

    await ctx.store.db.updateTable("routines").set({ state: "active", paused_reason: null }).execute();
    for (let i = 0; i < 5; i++) await runOnce("failed", { pauseAfter: 0 });
    expect(await routine()).toMatchObject({ state: "active", consecutiveFailures: 9 });
  });

  it("an auth pause tells the same story: paused_code, routine.paused with the reason and the fix", async () => {
    const { runId } = await runOnce("failed");
    const authError = { code: "LOOPD_AUTH_EXPIRED", message: "claude: 401 invalid x-api-key" };
    const outcome = {
      routineId,
      routineName: "flaky",
      runId,
      authError,
      pauseAfter: 2,
      notify: AUTH_RULES,
      now: NOW,
    };
    expect(await recordAuthOutcome(ctx.store, outcome)).toEqual({ failures: 1, paused: false });
    expect(await recordAuthOutcome(ctx.store, outcome)).toEqual({ failures: 2, paused: true });
    expect(await routine()).toMatchObject({ state: "paused", pausedCode: "LOOPD_AUTH_EXPIRED" });
    const events = await pausedEvents();
    expect(events.map((row) => row.channel)).toEqual(["me"]);
    expect(JSON.parse(events[0]!.payload)).toMatchObject({
      reason: "auth",
      code: "LOOPD_AUTH_EXPIRED",
      failures: 2,
      error: authError,
      hint: expect.stringContaining("`loopd resume flaky`"),
    });
  });

  it("leaves credentials failures to the auth pause, even with earlier failures counted", async () => {
    const expired = { code: "LOOPD_AUTH_EXPIRED", message: "401", hint: "Log in again." };
    await runOnce("failed");
    await runOnce("failed");
    await runOnce("failed", { error: expired });
    await runOnce("failed", { error: expired });
    expect(await routine()).toMatchObject({ state: "active", consecutiveFailures: 4 });
    expect(await pausedEvents()).toEqual([]);
    await runOnce("failed");
    expect(await routine()).toMatchObject({ state: "paused", pausedCode: "LOOPD_ROUTINE_FAILING" });
  });

  it("stores the error's hint with the run", async () => {
    const { runId } = await runOnce("failed");
    expect(await findRun(ctx.store.db, runId)).toMatchObject({
      errorCode: "LOOPD_RUN_FAILED",
      errorHint: "Read `loopd logs 1`.",
    });
  });
});
