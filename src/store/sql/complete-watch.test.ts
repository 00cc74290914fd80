/**
 * The watch half of a completion on both stores, in the completion's transaction: the verdict
 * on the run and the routine, a watch that is over closed (its queued evaluations skipped),
 * the notification its verdict causes (changeOnly compares with the previous verdict), and
 * the `onUnsatisfied.run` routine queued with the evidence. What a verdict decides is
 * domain/watch.ts's table; this is how it is written.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { routineRow, runRow } from "../../../test/helpers/store-rows.js";
import { openTestStore, type TestStore, testDialects } from "../../../test/helpers/stores.js";
import type { NotifyRuleSpec } from "../../domain/routine-spec.js";
import type { CompletionNotice } from "./complete-run.js";
import { completeWatch, type WatchCompletion } from "./complete-watch.js";

const NOW = Date.parse("2026-12-04T12:00:00Z");
const SATISFIED: WatchCompletion = {
  verdict: "satisfied",
  decision: { event: { type: "check.satisfied", kind: "satisfied" }, closes: true, acts: false },
  summary: "PR #12 is merged",
  check: "github: acme/app#12 merged",
  deadline: null,
  fix: null,
};
const UNSATISFIED: WatchCompletion = {
  verdict: "unsatisfied",
  decision: { event: { type: "check.unsatisfied", kind: "unsatisfied" }, closes: false, acts: true },
  summary: "HTTP 503 from /health",
  check: "http: https://example.test/health 2xx",
  deadline: null,
  fix: "restart",
};

describe.each(await testDialects())("%s: complete-watch", (dialect) => {
  let ctx: TestStore;
  let watchId: number;
  let runId: number;
  beforeEach(async () => {
    ctx = await openTestStore(dialect);
    watchId = (await routineRow(ctx.store, "pr-merged", { nextDueAt: NOW + 60_000, now: NOW })).id;
    runId = await runRow(ctx.store, {
      routine_id: watchId,
      due_at: NOW - 1_000,
      status: "running",
      attempt: 1,
      worker_id: "w1",
      lease_until: NOW + 30_000,
      started_at: NOW - 1_000,
    });
  });
  afterEach(async () => {
    await ctx?.dispose();
  });

  const notice = (rules: NotifyRuleSpec[]): CompletionNotice => ({
    routineId: watchId,
    rules,
    payload: { routine: "pr-merged", harness: "shell" },
  });
  const complete = (watch: WatchCompletion, rules: NotifyRuleSpec[] | null) =>
    ctx.store.writeTransaction((trx) =>
      completeWatch(
        trx,
        { id: runId, routineId: watchId, routineName: "pr-merged", attempt: 1, now: NOW },
        watch,
        rules ? notice(rules) : undefined,
      ),
    );
  const routine = (id = watchId) =>
    ctx.store.db
      .selectFrom("routines")
      .select(["last_verdict", "next_due_at"])
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
  const run = (id: number) =>
    ctx.store.db
      .selectFrom("runs")
      .select(["status", "reason", "verdict", "finished_at", "trigger", "input"])
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
  const events = async () =>
    (await ctx.store.db.selectFrom("outbox").selectAll().orderBy("created_at").execute()).map((row) => ({
      type: row.type,
      channel: row.channel,
      runId: row.run_id,
      payload: JSON.parse(row.payload) as Record<string, unknown>,
    }));

  it("a satisfied watch records its verdict, closes, skips its queued evaluations and says so", async () => {
    const queued = await runRow(ctx.store, { routine_id: watchId, due_at: NOW + 1 });
    const catchUp = await runRow(ctx.store, { routine_id: watchId, due_at: NOW + 2, trigger: "catch-up" });
    const byHand = await runRow(ctx.store, { routine_id: watchId, due_at: NOW + 3, trigger: "manual" });
    const other = (await routineRow(ctx.store, "other", { nextDueAt: NOW, now: NOW })).id;
    const othersRun = await runRow(ctx.store, { routine_id: other, due_at: NOW + 4 });

    await complete(SATISFIED, [{ to: ["ops"], on: ["satisfied"], changeOnly: false }]);

    expect((await run(runId)).verdict).toBe("satisfied");
    expect(await routine()).toEqual({ last_verdict: "satisfied", next_due_at: null });
    const closed = { status: "skipped", reason: "watch closed: satisfied", finished_at: NOW };
    expect(await run(queued)).toMatchObject(closed);
    expect(await run(catchUp)).toMatchObject(closed);
    // Asked for by a person, or another routine's: not this watch's schedule.
    expect(await run(byHand)).toMatchObject({ status: "queued", finished_at: null });
    expect(await run(othersRun)).toMatchObject({ status: "queued" });
    expect(await routine(other)).toMatchObject({ last_verdict: null, next_due_at: NOW });

    expect(await events()).toEqual([
      {
        type: "check.satisfied",
        channel: "ops",
        runId,
        payload: expect.objectContaining({
          type: "check.satisfied",
          routine: "pr-merged",
          harness: "shell",
          runId,
          attempt: 1,
          verdict: "satisfied",
          check: SATISFIED.check,
          summary: SATISFIED.summary,
        }),
      },
    ]);
  });

  it("an unsatisfied watch that acts queues its fix routine with the evidence, and tells who it started", async () => {
    const fix = (await routineRow(ctx.store, "restart", { now: NOW })).id;
    await complete(UNSATISFIED, [{ to: ["ops"], on: ["unsatisfied"], changeOnly: false }]);

    expect(await routine()).toEqual({ last_verdict: "unsatisfied", next_due_at: NOW + 60_000 });
    const fixRuns = await ctx.store.db
      .selectFrom("runs")
      .select("id")
      .where("routine_id", "=", fix)
      .execute();
    expect(fixRuns).toHaveLength(1);
    expect(await run(fixRuns[0]!.id)).toEqual({
      status: "queued",
      reason: null,
      verdict: null,
      finished_at: null,
      trigger: "event",
      input: [
        `The watch "pr-merged" (run ${runId}) is not satisfied.`,
        `Check: ${UNSATISFIED.check}`,
        `Evidence: ${UNSATISFIED.summary}`,
      ].join("\n"),
    });
    const [event] = await events();
    expect(event?.payload.started).toEqual({ routine: "restart", runId: fixRuns[0]!.id });
  });

  it("a fix routine that does not exist is reported in the notification, not fatal", async () => {
    await complete(UNSATISFIED, [{ to: ["ops"], on: ["unsatisfied"], changeOnly: false }]);
    const [event] = await events();
    expect(event?.payload.started).toEqual({
      routine: "restart",
      runId: null,
      error: 'no routine named "restart"',
    });
    expect((await run(runId)).verdict).toBe("unsatisfied");
  });

  it("a missed deadline closes the watch with its own reason and names the deadline", async () => {
    const queued = await runRow(ctx.store, { routine_id: watchId, due_at: NOW + 1 });
    await complete(
      {
        ...UNSATISFIED,
        decision: { event: { type: "check.deadline_missed", kind: "deadline" }, closes: true, acts: false },
        deadline: "2026-12-04T12:00:00.000Z",
      },
      [{ to: ["ops"], on: ["deadline"], changeOnly: false }],
    );
    expect(await run(queued)).toMatchObject({ status: "skipped", reason: "watch closed: deadline passed" });
    expect(await routine()).toEqual({ last_verdict: "unsatisfied", next_due_at: null });
    const [event] = await events();
    expect(event).toMatchObject({
      type: "check.deadline_missed",
      payload: { deadline: "2026-12-04T12:00:00.000Z" },
    });
    expect(event?.payload).not.toHaveProperty("started");
  });

  it("changeOnly rules hear a verdict only when it differs from the previous one", async () => {
    const changeOnly: NotifyRuleSpec[] = [
      { to: ["ops"], on: ["unsatisfied", "satisfied"], changeOnly: true },
    ];
    const quiet = { ...UNSATISFIED, decision: { ...UNSATISFIED.decision, acts: false }, fix: null };
    await complete(quiet, changeOnly); // first verdict: a change from none
    await complete(quiet, changeOnly); // the same again: quiet
    await complete({ ...SATISFIED, decision: { ...SATISFIED.decision, closes: false } }, changeOnly);
    expect((await events()).map((event) => event.type)).toEqual(["check.unsatisfied", "check.satisfied"]);
  });

  it("writes no notification without rules for its kind, a notice, or an event", async () => {
    await complete(SATISFIED, [{ to: ["ops"], on: ["failure"], changeOnly: false }]);
    await complete(SATISFIED, null);
    await complete({ ...UNSATISFIED, decision: { event: null, closes: false, acts: false } }, [
      { to: ["ops"], on: ["unsatisfied"], changeOnly: false },
    ]);
    expect(await events()).toEqual([]);
    expect((await run(runId)).verdict).toBe("unsatisfied");
  });

  it("a rolled-back completion leaves none of it behind", async () => {
    await routineRow(ctx.store, "restart", { now: NOW });
    await expect(
      ctx.store.writeTransaction(async (trx) => {
        await completeWatch(
          trx,
          { id: runId, routineId: watchId, routineName: "pr-merged", attempt: 1, now: NOW },
          UNSATISFIED,
          notice([{ to: ["ops"], on: ["unsatisfied"], changeOnly: false }]),
        );
        throw new Error("the completion failed after the watch was written");
      }),
    ).rejects.toThrow("the completion failed");
    expect((await run(runId)).verdict).toBeNull();
    expect(await routine()).toEqual({ last_verdict: null, next_due_at: NOW + 60_000 });
    expect(await ctx.store.db.selectFrom("runs").select("id").execute()).toHaveLength(1);
    expect(await events()).toEqual([]);
  });
});
