/**
 * Materialise ahead on both stores (issue #23, on-time bursts): an occurrence due within the
 * horizon becomes a queued run that no claim takes before its due time; at most one per
 * routine; what a due-time materialise could decide differently is left to it; and whatever
 * changes the routine in between (pause, a new trigger, a sleep) puts the run back, as if it
 * had never been materialised.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { shellSpec } from "../../../test/helpers/specs.js";
import { routineRow, runRow } from "../../../test/helpers/store-rows.js";
import { openTestStore, type TestStore, testDialects } from "../../../test/helpers/stores.js";
import type { RoutineSpec } from "../../domain/routine-spec.js";
import { findRoutineByName, setRoutineState, updateRoutineSpec } from "../routines.js";
import { claimRuns } from "./claim-runs.js";
import { materialiseAhead, rewindAhead } from "./materialise-ahead.js";
import { materialiseDue } from "./materialise-due.js";

const NOW = Date.parse("2026-12-04T12:00:00Z");
const MIN = 60_000;
const every10m = { kind: "every" as const, every: "10m", everyMs: 10 * MIN };
const HORIZON = { horizonMs: 1_000 };

describe.each(await testDialects())("%s: materialise-ahead", (dialect) => {
  let ctx: TestStore;
  beforeEach(async () => {
    ctx = await openTestStore(dialect);
  });
  afterEach(async () => {
    await ctx?.dispose();
  });

  const routine = (name: string, nextDueAt: number | null, spec: Partial<RoutineSpec> = {}) =>
    routineRow(ctx.store, name, { spec: { trigger: every10m, ...spec }, nextDueAt, now: NOW - 60 * MIN });
  const runsOf = (routineId: number) =>
    ctx.store.db
      .selectFrom("runs")
      .select(["id", "due_at", "trigger", "status", "reason", "not_before", "queued_at"])
      .where("routine_id", "=", routineId)
      .orderBy("due_at")
      .execute();
  const schedule = (routineId: number) =>
    ctx.store.db
      .selectFrom("routines")
      .select(["next_due_at", "scheduled_runs"])
      .where("id", "=", routineId)
      .executeTakeFirstOrThrow();
  const claim = (now: number) =>
    claimRuns(ctx.store, { workerId: "w1", now, limit: 10, leaseMs: 30_000, labels: ["shell"] });

  it("queues the occurrence due within the horizon, claimable at its due time and not before", async () => {
    const soon = await routine("soon", NOW + 500);
    const later = await routine("later", NOW + 5_000);

    expect(await materialiseAhead(ctx.store, NOW, HORIZON)).toEqual({ routines: 1, queued: 1 });
    expect(await runsOf(soon.id)).toEqual([
      expect.objectContaining({
        due_at: NOW + 500,
        trigger: "schedule",
        status: "queued",
        reason: null,
        not_before: NOW + 500,
        queued_at: NOW,
      }),
    ]);
    expect(await schedule(soon.id)).toEqual({ next_due_at: NOW + 500 + 10 * MIN, scheduled_runs: 1 });
    expect(await runsOf(later.id)).toEqual([]);
    // Users see the occurrence ahead as the next due time, not the one after it.
    expect((await findRoutineByName(ctx.store.db, "soon"))!.nextDueAt).toBe(NOW + 500);
    // Nothing is due at the due instant: the scheduler only claims.
    expect(await materialiseDue(ctx.store, NOW + 500)).toEqual({ routines: 0, queued: 0, skipped: 0 });

    expect((await claim(NOW + 499)).claimed).toEqual([]);
    const { claimed } = await claim(NOW + 500);
    expect(claimed).toEqual([
      expect.objectContaining({ routineId: soon.id, dueAt: NOW + 500, trigger: "schedule" }),
    ]);
  });

  it("keeps at most one run ahead per routine, and racing schedulers make it once", async () => {
    const fast = await routine("fast", NOW + 100, {
      trigger: { kind: "every", every: "1s", everyMs: 1_000 },
    });
    await Promise.all([
      materialiseAhead(ctx.store, NOW, { horizonMs: 5_000 }),
      materialiseAhead(ctx.store, NOW, { horizonMs: 5_000 }),
    ]);
    await materialiseAhead(ctx.store, NOW + 50, { horizonMs: 5_000 });
    expect((await runsOf(fast.id)).map((run) => run.due_at)).toEqual([NOW + 100]);
    expect(await schedule(fast.id)).toEqual({ next_due_at: NOW + 1_100, scheduled_runs: 1 });
    // Once that run is due, the next occurrence may go ahead.
    await materialiseAhead(ctx.store, NOW + 100, { horizonMs: 5_000 });
    expect((await runsOf(fast.id)).map((run) => run.due_at)).toEqual([NOW + 100, NOW + 1_100]);
  });

  it("leaves to the due time what it could decide differently: watches, a queue with a run waiting, paused", async () => {
    const queue = await routine("queue", NOW + 500, { overlap: "queue" });
    const waiting = await runRow(ctx.store, { routine_id: queue.id, due_at: NOW - 10 * MIN + 500 });
    await ctx.store.db
      .updateTable("runs")
      .set({ reason: "overlap queue: waiting for run 1" })
      .where("id", "=", waiting)
      .execute();
    const paused = await routineRow(ctx.store, "paused", {
      spec: { trigger: every10m },
      nextDueAt: NOW + 500,
      state: "paused",
      now: NOW,
    });
    const watch = await routine("watch", NOW + 500, {
      check: { kind: "command", command: "true" },
    });

    expect(await materialiseAhead(ctx.store, NOW, HORIZON)).toMatchObject({ queued: 0 });
    for (const id of [paused.id, watch.id]) expect(await runsOf(id)).toEqual([]);
    expect((await runsOf(queue.id)).map((run) => run.id)).toEqual([waiting]);
    // At the due time, the due-time path decides as it always did: one on-time run waits.
    expect(await materialiseDue(ctx.store, NOW + 500)).toMatchObject({ queued: 1, skipped: 1 });
    expect((await runsOf(queue.id)).at(-1)).toMatchObject({
      due_at: NOW + 500,
      status: "skipped",
      reason: "overlap queue: a run is already waiting",
    });
  });

  it("meets the overlap policy at the due time: skip while a run is going", async () => {
    const busy = await routine("busy", NOW + 500, { overlap: "skip" });
    const going = await runRow(ctx.store, {
      routine_id: busy.id,
      due_at: NOW - 10 * MIN + 500,
      status: "running",
      attempt: 1,
      worker_id: "w2",
      lease_until: NOW + 30_000,
      started_at: NOW - 10 * MIN + 500,
    });
    await materialiseAhead(ctx.store, NOW, HORIZON);
    expect(await claim(NOW + 500)).toMatchObject({ claimed: [] });
    expect((await runsOf(busy.id)).at(-1)).toMatchObject({
      due_at: NOW + 500,
      status: "skipped",
      reason: `overlap skip: run ${going} still running`,
    });
  });

  it("a pause between materialising and the due time puts the run back; resumed, it is planned afresh", async () => {
    const napping = await routine("napping", NOW + 500);
    await materialiseAhead(ctx.store, NOW, HORIZON);
    const seen = (await findRoutineByName(ctx.store.db, "napping"))!;
    await setRoutineState(ctx.store.db, napping.id, {
      state: "paused",
      pausedReason: "paused by hand",
      pausedCode: "user",
      nextDueAt: seen.nextDueAt,
      now: NOW + 100,
    });
    expect(await runsOf(napping.id)).toEqual([]);
    expect(await schedule(napping.id)).toEqual({ next_due_at: NOW + 500, scheduled_runs: 0 });
    expect((await claim(NOW + 500)).claimed).toEqual([]);

    await setRoutineState(ctx.store.db, napping.id, {
      state: "active",
      pausedReason: null,
      nextDueAt: NOW + 500,
      now: NOW + 400,
    });
    expect(await materialiseDue(ctx.store, NOW + 500)).toMatchObject({ queued: 1 });
    expect((await claim(NOW + 500)).claimed).toHaveLength(1);
  });

  it("a new trigger applied between materialising and the due time: the old occurrence never runs", async () => {
    const moved = await routine("moved", NOW + 500);
    await materialiseAhead(ctx.store, NOW, HORIZON);
    await updateRoutineSpec(ctx.store.db, moved.id, {
      spec: shellSpec("moved", { trigger: { kind: "every", every: "1h", everyMs: 60 * MIN } }),
      specHash: "h2",
      source: null,
      nextDueAt: NOW + 60 * MIN,
      now: NOW + 100,
    });
    expect(await runsOf(moved.id)).toEqual([]);
    expect(await schedule(moved.id)).toEqual({ next_due_at: NOW + 60 * MIN, scheduled_runs: 0 });
    expect((await claim(NOW + 500)).claimed).toEqual([]);
  });

  it("after a sleep, runs ahead long past due are put back so catch-up decides", async () => {
    const sleepy = await routine("sleepy", NOW + 500, { catchUp: "none" });
    const other = await routine("other", NOW + 900);
    await materialiseAhead(ctx.store, NOW, HORIZON);
    const waking = NOW + 3 * 60 * MIN;
    expect(
      await ctx.store.writeTransaction((trx) => rewindAhead(trx, { dueBefore: waking - MIN, now: waking })),
    ).toEqual(expect.arrayContaining([sleepy.id, other.id]));
    expect(await schedule(sleepy.id)).toEqual({ next_due_at: NOW + 500, scheduled_runs: 0 });
    await materialiseDue(ctx.store, waking);
    const runs = await runsOf(sleepy.id);
    expect(runs.filter((run) => run.status === "queued")).toEqual([]);
    expect(runs.every((run) => run.reason?.startsWith("catch-up none"))).toBe(true);
  });
});
