/**
 * The misfire sweep: a routine nothing has scheduled for more than two periods gets one
 * `routine.misfired` event (not one per sweep, not one per process), marked in
 * `misfire_notified_at`; a later misfire, after the scheduler caught up, is news again.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { shellSpec } from "../../test/helpers/specs.js";
import { openTestStore, type TestStore, testDialects } from "../../test/helpers/stores.js";
import { findRoutineByName, insertRoutine } from "./routines.js";
import { sweepMisfires } from "./sql/sweep-misfires.js";

const NOW = Date.parse("2026-11-28T12:00:00Z");
const MIN = 60_000;
const every10m = { kind: "every" as const, every: "10m", everyMs: 10 * MIN };

describe.each(await testDialects())("%s: misfire sweep", (dialect) => {
  let ctx: TestStore;
  beforeEach(async () => {
    ctx = await openTestStore(dialect);
  });
  afterEach(async () => {
    await ctx?.dispose();
  });

  async function routine(name: string, nextDueAt: number, state: "active" | "paused" = "active") {
    return insertRoutine(ctx.store.db, {
      name,
      source: null,
      spec: shellSpec(name, {
        trigger: every10m,
        notify: [{ to: ["ops"], on: ["failure"], changeOnly: false }],
      }),
      specHash: "h",
      state,
      pausedReason: null,
      nextDueAt,
      now: NOW - 60 * MIN,
    });
  }
  const events = () =>
    ctx.store.db.selectFrom("outbox").selectAll().where("type", "=", "routine.misfired").execute();

  it("notifies a misfire once, however many sweeps (or processes) look", async () => {
    await routine("stuck", NOW - 30 * MIN);
    await routine("late-but-fine", NOW - 15 * MIN);
    await routine("paused", NOW - 60 * MIN, "paused");

    expect(await sweepMisfires(ctx.store, NOW)).toEqual([{ routine: "stuck", dueAt: NOW - 30 * MIN }]);
    expect(await sweepMisfires(ctx.store, NOW + 6 * MIN)).toEqual([
      { routine: "late-but-fine", dueAt: NOW - 15 * MIN },
    ]);
    const [first, second] = await Promise.all([
      sweepMisfires(ctx.store, NOW + 10 * MIN),
      sweepMisfires(ctx.store, NOW + 10 * MIN),
    ]);
    expect([...first!, ...second!]).toEqual([]);

    const rows = await events();
    expect(rows.map((row) => [row.channel, JSON.parse(row.payload).routine]).sort()).toEqual([
      ["ops", "late-but-fine"],
      ["ops", "stuck"],
    ]);
    expect(JSON.parse(rows.find((row) => row.payload.includes('"stuck"'))!.payload)).toMatchObject({
      type: "routine.misfired",
      code: "LOOPD_ROUTINE_MISFIRE",
      dueAt: new Date(NOW - 30 * MIN).toISOString(),
      lateByMs: 30 * MIN,
      hint: expect.stringContaining("loopd serve"),
    });
    expect((await findRoutineByName(ctx.store.db, "stuck"))?.misfireNotifiedAt).toBe(NOW);
  });

  it("a new misfire after the scheduler caught up is notified again", async () => {
    const stuck = await routine("stuck", NOW - 30 * MIN);
    expect(await sweepMisfires(ctx.store, NOW)).toHaveLength(1);
    // The scheduler runs it and moves on; later nothing schedules it again.
    await ctx.store.db
      .updateTable("routines")
      .set({ next_due_at: NOW + 10 * MIN })
      .where("id", "=", stuck.id)
      .execute();
    expect(await sweepMisfires(ctx.store, NOW + 20 * MIN)).toEqual([]);
    expect(await sweepMisfires(ctx.store, NOW + 40 * MIN)).toEqual([
      { routine: "stuck", dueAt: NOW + 10 * MIN },
    ]);
    expect(await events()).toHaveLength(2);
  });
});
