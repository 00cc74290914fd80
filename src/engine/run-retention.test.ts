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
  let queries = 0;
  /** A sweep every second of the test's clock, reporting what it deleted. */
  const sweeper = (now: () => number, onPruned: (pruned: Pruned) => void = () => undefined) =>
    new RunRetention({
      store: ctx.store,
      now,
      intervalMs: 1000,
      onPruned,
      onError: (error) => {
        throw error;
      },
    });
  beforeEach(async () => {
    queries = 0;
    ctx = await openTestStore(dialect, { onQuery: () => queries++ });
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
    const retention = sweeper(
      () => now,
      (pruned) => reports.push(pruned),
    );
    const sweeps = () => retention.sweepsDone;
    retention.maybeSweep(); // not due yet: the first sweep waits one interval after start
    now += 1000;
    retention.maybeSweep();
    retention.maybeSweep(); // one sweep at a time
    await vi.waitFor(() =>
      expect(reports).toEqual([{ runs: 3, deliveries: 0, reservations: 0, testResults: 0, inbound: 0 }]),
    );
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

  it("skips a due sweep without a query when the wake-up read's oldest rows are younger than keepFor", async () => {
    await putSetting(ctx.store.db, CONFIG_SETTING, { runs: { keepFor: "1h", keepPerRoutine: 1 } }, NOW);
    const routineId = (await routineRow(ctx.store, "r", { now: NOW })).id;
    for (let index = 0; index < 3; index++) {
      const at = NOW - 3 * HOUR + index;
      await runRow(ctx.store, { routine_id: routineId, due_at: at, status: "succeeded", finished_at: at });
    }
    let now = NOW + 1000;
    const reports: Pruned[] = [];
    const retention = sweeper(
      () => now,
      (pruned) => reports.push(pruned),
    );
    // The engine's claims read the settings: the gate knows the policy without a query.
    retention.observeSettings({ runs: { keepFor: "1h", keepPerRoutine: 1 } });
    now += 1000; // the first sweep is due one interval after start
    queries = 0;
    retention.maybeSweep({ oldestRunQueuedAt: NOW - 30 * 60_000, oldestFinishedDeliveryAt: null });
    await retention.stop();
    expect(queries).toBe(0);
    expect(retention.sweepsDone).toBe(0);

    // Old rows in the read: the sweep runs and deletes.
    const open = sweeper(
      () => now,
      (pruned) => reports.push(pruned),
    );
    now += 1000;
    open.maybeSweep({ oldestRunQueuedAt: NOW - 3 * HOUR, oldestFinishedDeliveryAt: null });
    await vi.waitFor(() => expect(open.sweepsDone).toBe(1));
    expect(reports).toEqual([{ runs: 2, deliveries: 0, reservations: 0, testResults: 0, inbound: 0 }]);
    await open.stop();
  });

  it("reads the policy itself (one query) when no claim told it, then gates on it", async () => {
    await putSetting(ctx.store.db, CONFIG_SETTING, { runs: { keepFor: "1h" } }, NOW);
    let now = NOW + 1000;
    const retention = sweeper(() => now);
    now += 1000; // the first sweep is due one interval after start
    queries = 0;
    retention.maybeSweep({
      oldestRunQueuedAt: NOW - 30 * 60_000,
      oldestFinishedDeliveryAt: NOW - 10 * 60_000,
    });
    await vi.waitFor(() => expect(queries).toBe(1));
    now += 1000;
    retention.maybeSweep({ oldestRunQueuedAt: NOW - 30 * 60_000, oldestFinishedDeliveryAt: null });
    await retention.stop();
    expect(queries).toBe(1); // the gate knew the policy the second time: no query
    expect(retention.sweepsDone).toBe(0);

    // A wake-up that is not the timer's (an apply, another process) forgets it: read again.
    const woken = sweeper(() => now);
    woken.observeSettings({ runs: { keepFor: "1h" } });
    woken.forgetPolicy();
    now += 1000;
    woken.maybeSweep({ oldestRunQueuedAt: NOW - 30 * 60_000, oldestFinishedDeliveryAt: null });
    await woken.stop();
    expect(queries).toBe(2);
  });
});
