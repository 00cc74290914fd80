/**
 * The one read that sets a process's timer, on both stores: the earliest active routine's due
 * time, queued start (and the earliest still in the future), and running lease expiry.
 * Paused routines and finished runs never wake anyone.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { routineRow, runRow } from "../../../test/helpers/store-rows.js";
import { openTestStore, type TestStore, testDialects } from "../../../test/helpers/stores.js";
import { nextWakeups } from "./next-wakeup.js";

const NOW = Date.parse("2026-12-04T12:00:00Z");

describe.each(await testDialects())("%s: next-wakeup", (dialect) => {
  let ctx: TestStore;
  beforeEach(async () => {
    ctx = await openTestStore(dialect);
  });
  afterEach(async () => {
    await ctx?.dispose();
  });

  it("answers nothing for an empty store", async () => {
    expect(await nextWakeups(ctx.store.db, NOW)).toEqual({
      nextDueAt: null,
      nextQueuedAt: null,
      nextFutureQueuedAt: null,
      nextLeaseExpiry: null,
    });
  });

  it("takes the earliest of each, ignoring paused routines and finished runs", async () => {
    const { id } = await routineRow(ctx.store, "a", { nextDueAt: NOW + 9_000, now: NOW });
    await routineRow(ctx.store, "b", { nextDueAt: NOW + 5_000, now: NOW });
    await routineRow(ctx.store, "paused", { nextDueAt: NOW - 60_000, state: "paused", now: NOW });
    await routineRow(ctx.store, "done", { nextDueAt: null, now: NOW });

    await runRow(ctx.store, { routine_id: id, due_at: NOW - 2_000 }); // ready now
    await runRow(ctx.store, { routine_id: id, due_at: NOW - 1_000, not_before: NOW + 7_000 }); // backoff
    await runRow(ctx.store, { routine_id: id, due_at: NOW - 500, not_before: NOW + 3_000 });
    await runRow(ctx.store, {
      routine_id: id,
      due_at: NOW - 3_000,
      status: "running",
      worker_id: "w1",
      lease_until: NOW + 20_000,
    });
    await runRow(ctx.store, {
      routine_id: id,
      due_at: NOW - 4_000,
      status: "running",
      worker_id: "w2",
      lease_until: NOW - 1_000, // expired: recovery is due
    });
    for (const [offset, status] of [
      [10_000, "succeeded"],
      [11_000, "skipped"],
      [12_000, "canceled"],
    ] as const) {
      await runRow(ctx.store, {
        routine_id: id,
        due_at: NOW - offset,
        status,
        not_before: NOW - 20_000,
        lease_until: NOW - 20_000,
        finished_at: NOW - offset,
      });
    }

    expect(await nextWakeups(ctx.store.db, NOW)).toEqual({
      nextDueAt: NOW + 5_000,
      nextQueuedAt: NOW - 2_000,
      nextFutureQueuedAt: NOW + 3_000,
      nextLeaseExpiry: NOW - 1_000,
    });
    // Later on, the start that was in the future is ready; nothing queued is in the future.
    expect(await nextWakeups(ctx.store.db, NOW + 7_000)).toMatchObject({
      nextQueuedAt: NOW - 2_000,
      nextFutureQueuedAt: null,
    });
  });

  it("answers numbers, not driver strings (PostgreSQL returns bigint aggregates as text)", async () => {
    const { id } = await routineRow(ctx.store, "a", { nextDueAt: NOW, now: NOW });
    await runRow(ctx.store, { routine_id: id, due_at: NOW });
    const wakeups = await nextWakeups(ctx.store.db, NOW - 1);
    expect(typeof wakeups.nextDueAt).toBe("number");
    expect(typeof wakeups.nextQueuedAt).toBe("number");
    expect(wakeups.nextFutureQueuedAt).toBe(NOW);
  });
});
