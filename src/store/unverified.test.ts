/**
 * The `unverified` flag in the completion transaction, on both dialects: a success whose last
 * tool call failed (and no `verify`) is recorded on the run, read back by the run and its
 * routine (`ls`, `show`), and carried by the run.succeeded notification; a later checked
 * success clears the routine's flag; a failure is never flagged.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { shellSpec } from "../../test/helpers/specs.js";
import { openTestStore, type TestStore, testDialects } from "../../test/helpers/stores.js";
import type { NotifyRuleSpec } from "../domain/routine-spec.js";
import { findRoutineByName, insertRoutine, listRoutines } from "./routines.js";
import { findRun, insertRun } from "./runs.js";
import { claimRuns } from "./sql/claim-runs.js";
import { type Completion, completeRun } from "./sql/complete-run.js";

const NOW = Date.parse("2026-12-04T12:00:00Z");
const RULES: NotifyRuleSpec[] = [{ to: ["ops"], on: ["success", "failure"], changeOnly: false }];

describe.each(await testDialects())("%s: unverified successes", (dialect) => {
  let ctx: TestStore;
  let routineId: number;
  let clock = NOW;
  beforeEach(async () => {
    ctx = await openTestStore(dialect);
    clock = NOW;
    routineId = (
      await insertRoutine(ctx.store.db, {
        name: "blind",
        source: null,
        spec: shellSpec("blind"),
        specHash: "h",
        state: "active",
        pausedReason: null,
        nextDueAt: null,
        now: NOW,
      })
    ).id;
  });
  afterEach(async () => {
    await ctx?.dispose();
  });

  async function runOnce(outcome: Completion["outcome"], unverified: boolean): Promise<number> {
    clock += 1000;
    const runId = (await insertRun(ctx.store.db, {
      routineId,
      dueAt: clock,
      trigger: "manual",
      status: "queued",
      maxAttempts: 1,
      now: clock,
    }))!;
    await claimRuns(ctx.store, { workerId: "w1", now: clock, limit: 1, leaseMs: 30_000, runId });
    await completeRun(ctx.store, {
      runId,
      attempt: 1,
      workerId: "w1",
      now: clock,
      outcome,
      exitCode: null,
      summary: "done: everything worked",
      error: outcome === "succeeded" ? null : { code: "LOOPD_NO_CHANGES", message: "no change" },
      unverified,
      notify: { routineId, rules: RULES, payload: { routine: "blind", harness: "codex" } },
    });
    return runId;
  }

  const routine = async () => (await findRoutineByName(ctx.store.db, "blind"))!;
  const notice = async (runId: number) => {
    const row = await ctx.store.db
      .selectFrom("outbox")
      .select("payload")
      .where("run_id", "=", runId)
      .executeTakeFirstOrThrow();
    return JSON.parse(row.payload) as Record<string, unknown>;
  };

  it("records the flag on the run and its routine, and in the run.succeeded notification", async () => {
    const runId = await runOnce("succeeded", true);
    expect(await findRun(ctx.store.db, runId)).toMatchObject({ status: "succeeded", unverified: true });
    expect(await routine()).toMatchObject({ lastOutcome: "succeeded", lastUnverified: true });
    expect((await listRoutines(ctx.store.db))[0]).toMatchObject({ name: "blind", lastUnverified: true });
    expect(await notice(runId)).toMatchObject({ type: "run.succeeded", unverified: true });
  });

  it("a later checked success clears the routine's flag; the old run keeps its own", async () => {
    const first = await runOnce("succeeded", true);
    const second = await runOnce("succeeded", false);
    expect(await routine()).toMatchObject({ lastOutcome: "succeeded", lastUnverified: false });
    expect((await findRun(ctx.store.db, first))?.unverified).toBe(true);
    expect((await findRun(ctx.store.db, second))?.unverified).toBe(false);
    expect(await notice(second)).toMatchObject({ type: "run.succeeded", unverified: false });
  });

  it("never flags a failure", async () => {
    const runId = await runOnce("failed", true);
    expect(await findRun(ctx.store.db, runId)).toMatchObject({ status: "failed", unverified: false });
    expect(await routine()).toMatchObject({ lastOutcome: "failed", lastUnverified: false });
    expect(await notice(runId)).toMatchObject({ type: "run.failed", unverified: false });
  });
});
