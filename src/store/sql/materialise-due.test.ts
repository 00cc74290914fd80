/**
 * Materialise on both stores: due occurrences of active routines become runs (queued, or
 * skipped with the catch-up or overlap reason), each routine's `next_due_at` and
 * `scheduled_runs` advance in the same transaction, and racing schedulers never make a run
 * twice. Which occurrences run is domain/occurrences.ts's decision (table-tested there).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { routineRow, runRow } from "../../../test/helpers/store-rows.js";
import { openTestStore, type TestStore, testDialects } from "../../../test/helpers/stores.js";
import type { RoutineSpec } from "../../domain/routine-spec.js";
import { materialiseDue } from "./materialise-due.js";

const NOW = Date.parse("2026-12-04T12:00:00Z");
const MIN = 60_000;
const every10m = { kind: "every" as const, every: "10m", everyMs: 10 * MIN };

describe.each(await testDialects())("%s: materialise-due", (dialect) => {
  let ctx: TestStore;
  beforeEach(async () => {
    ctx = await openTestStore(dialect);
  });
  afterEach(async () => {
    await ctx?.dispose();
  });

  const routine = (
    name: string,
    nextDueAt: number | null,
    spec: Partial<RoutineSpec> = {},
    state: "active" | "paused" = "active",
  ) =>
    routineRow(ctx.store, name, {
      spec: { trigger: every10m, ...spec },
      nextDueAt,
      state,
      now: NOW - 60 * MIN,
    });
  const runsOf = (routineId: number) =>
    ctx.store.db
      .selectFrom("runs")
      .select([
        "due_at",
        "trigger",
        "status",
        "reason",
        "not_before",
        "max_attempts",
        "queued_at",
        "finished_at",
      ])
      .where("routine_id", "=", routineId)
      .orderBy("due_at")
      .execute();
  const schedule = (routineId: number) =>
    ctx.store.db
      .selectFrom("routines")
      .select(["next_due_at", "scheduled_runs", "updated_at"])
      .where("id", "=", routineId)
      .executeTakeFirstOrThrow();

  it("queues the occurrence that came due and moves the routine to its next one", async () => {
    const due = await routine("due", NOW - 10_000, { retries: 2 });
    const later = await routine("later", NOW + 5 * MIN);
    const paused = await routine("paused", NOW - 10_000, {}, "paused");
    const over = await routine("over", null);

    expect(await materialiseDue(ctx.store, NOW)).toEqual({ routines: 1, queued: 1, skipped: 0 });

    expect(await runsOf(due.id)).toEqual([
      {
        due_at: NOW - 10_000,
        trigger: "schedule",
        status: "queued",
        reason: null,
        not_before: NOW - 10_000, // no jitter asked for
        max_attempts: 3,
        queued_at: NOW,
        finished_at: null,
      },
    ]);
    expect(await schedule(due.id)).toEqual({
      next_due_at: NOW - 10_000 + 10 * MIN,
      scheduled_runs: 1,
      updated_at: NOW,
    });
    for (const untouched of [later, paused, over]) expect(await runsOf(untouched.id)).toEqual([]);
    expect((await schedule(paused.id)).next_due_at).toBe(NOW - 10_000);
    expect(await materialiseDue(ctx.store, NOW + 1_000)).toEqual({ routines: 0, queued: 0, skipped: 0 });
  });

  it("after a sleep, records the missed occurrences it skips and queues the catch-up run, notifying skips", async () => {
    const slept = await routine("slept", NOW - 35 * MIN, {
      catchUp: "latest",
      notify: [{ to: ["ops"], on: ["skipped"], changeOnly: false }],
    });

    expect(await materialiseDue(ctx.store, NOW)).toEqual({ routines: 1, queued: 1, skipped: 3 });

    const skipped = { trigger: "schedule", status: "skipped", finished_at: NOW };
    const reason = "catch-up latest: a newer missed occurrence runs";
    expect(await runsOf(slept.id)).toMatchObject([
      { ...skipped, due_at: NOW - 35 * MIN, reason },
      { ...skipped, due_at: NOW - 25 * MIN, reason },
      { ...skipped, due_at: NOW - 15 * MIN, reason },
      { due_at: NOW - 5 * MIN, trigger: "catch-up", status: "queued", reason: null, finished_at: null },
    ]);
    expect(await schedule(slept.id)).toMatchObject({ next_due_at: NOW + 5 * MIN, scheduled_runs: 1 });

    const events = await ctx.store.db.selectFrom("outbox").selectAll().orderBy("created_at").execute();
    expect(events.map((event) => [event.type, event.channel, event.routine_id, event.run_id])).toEqual([
      ["run.skipped", "ops", slept.id, null],
      ["run.skipped", "ops", slept.id, null],
      ["run.skipped", "ops", slept.id, null],
    ]);
    expect(events.map((event) => JSON.parse(event.payload).dueAt).sort()).toEqual(
      [35, 25, 15].map((ago) => new Date(NOW - ago * MIN).toISOString()),
    );
  });

  it("overlap queue keeps one on-time run waiting: the next occurrence is skipped while it waits", async () => {
    const queue = await routine("queue", NOW - 10_000, { overlap: "queue" });
    await runRow(ctx.store, { routine_id: queue.id, due_at: NOW - 10 * MIN - 10_000 }); // waiting still

    expect(await materialiseDue(ctx.store, NOW)).toEqual({ routines: 1, queued: 0, skipped: 1 });
    expect((await runsOf(queue.id))[1]).toMatchObject({
      due_at: NOW - 10_000,
      status: "skipped",
      reason: "overlap queue: a run is already waiting",
    });

    // A catch-up run or a retry waiting does not count: they are in line, not on time.
    const other = await routine("other", NOW - 10_000, { overlap: "queue" });
    await runRow(ctx.store, { routine_id: other.id, due_at: NOW - 20 * MIN, trigger: "catch-up" });
    await runRow(ctx.store, { routine_id: other.id, due_at: NOW - 30 * MIN, started_at: NOW - 30 * MIN });
    expect(await materialiseDue(ctx.store, NOW)).toEqual({ routines: 1, queued: 1, skipped: 0 });
  });

  it("jitter delays the start, never the occurrence", async () => {
    const jittered = await routine("jittered", NOW - 10_000, { trigger: { ...every10m, jitterMs: 30_000 } });
    await materialiseDue(ctx.store, NOW);
    const [run] = await runsOf(jittered.id);
    expect(run!.due_at).toBe(NOW - 10_000);
    expect(run!.not_before).toBeGreaterThanOrEqual(NOW - 10_000);
    expect(run!.not_before).toBeLessThan(NOW - 10_000 + 30_000);
  });

  it("stops scheduling at `until: { runs }`", async () => {
    const once = await routine("once", NOW - 10_000, { until: { runs: 1 } });
    await materialiseDue(ctx.store, NOW);
    expect(await schedule(once.id)).toMatchObject({ next_due_at: null, scheduled_runs: 1 });
  });

  it("racing schedulers make each run once", async () => {
    const routines = await Promise.all(
      Array.from({ length: 5 }, (_, index) => routine(`race-${index}`, NOW - 10_000)),
    );
    const results = await Promise.all(Array.from({ length: 4 }, () => materialiseDue(ctx.store, NOW)));
    expect(results.reduce((sum, result) => sum + result.queued, 0)).toBe(5);
    for (const { id } of routines) expect(await runsOf(id)).toHaveLength(1);
  });

  it("a run already made for an occurrence is kept, not duplicated", async () => {
    const fired = await routine("fired", NOW - 10_000);
    await runRow(ctx.store, {
      routine_id: fired.id,
      due_at: NOW - 10_000,
      trigger: "manual",
      input: "by hand",
    });
    await materialiseDue(ctx.store, NOW);
    expect(await runsOf(fired.id)).toMatchObject([{ due_at: NOW - 10_000, trigger: "manual" }]);
    expect(await schedule(fired.id)).toMatchObject({ next_due_at: NOW - 10_000 + 10 * MIN });
  });
});
