/**
 * The scheduler's retention sweep: it reads the applied `runs:` section, prunes in the
 * background at most once per interval, and reports what it deleted.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { routineRow, runRow } from "../../test/helpers/store-rows.js";
import { openTestStore, type TestStore, testDialects } from "../../test/helpers/stores.js";
import { CONFIG_SETTING, putSetting } from "../store/settings.js";
import { type Pruned, RunRetention } from "./run-retention.js";

const HOUR = 60 * 60_000;
const NOW = Date.parse("2026-12-04T12:00:00Z");

describe.each(await testDialects())("%s: run retention sweep", (dialect) => {
  let ctx: TestStore;
  beforeEach(async () => {
    ctx = await openTestStore(dialect);
  });
  afterEach(async () => {
    await ctx?.dispose();
  });

  it("sweeps once per interval with the applied policy, in the background", async () => {
    await putSetting(ctx.store.db, CONFIG_SETTING, { runs: { keepFor: "1h", keepPerRoutine: 1 } }, NOW);
    const routineId = (await routineRow(ctx.store, "r", { now: NOW })).id;
    for (let index = 0; index < 4; index++) {
      const at = NOW - 3 * HOUR + index;
      await runRow(ctx.store, { routine_id: routineId, due_at: at, status: "succeeded", finished_at: at });
    }
    let now = NOW;
    const reports: Pruned[] = [];
    const retention = new RunRetention({
      store: ctx.store,
      now: () => now,
      intervalMs: 1000,
      onPruned: (pruned) => reports.push(pruned),
      onError: (error) => {
        throw error;
      },
    });
    const sweeps = () => retention.sweepsDone;
    retention.maybeSweep(); // not due yet: the first sweep waits one interval after start
    now += 1000;
    retention.maybeSweep();
    retention.maybeSweep(); // one sweep at a time
    await vi.waitFor(() => expect(reports).toEqual([{ runs: 3, deliveries: 0 }]));
    await vi.waitFor(() => expect(sweeps()).toBe(1));
    // Nothing left: the next sweep finds nothing, and the one after waits two intervals.
    now += 1000;
    retention.maybeSweep();
    await vi.waitFor(() => expect(sweeps()).toBe(2));
    now += 1000;
    retention.maybeSweep();
    expect(sweeps()).toBe(2);
    now += 1000;
    retention.maybeSweep();
    await vi.waitFor(() => expect(sweeps()).toBe(3));
    await retention.stop();
    expect(reports).toHaveLength(1);
    const left = await ctx.store.db.selectFrom("runs").select("due_at").execute();
    expect(left.map((row) => Number(row.due_at))).toEqual([NOW - 3 * HOUR + 3]);
  });
});
