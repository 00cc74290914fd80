/**
 * The one read that sets a process's timer, on both stores: the earliest active routine's due
 * time, queued start (and the earliest still in the future), and running lease expiry.
 * Paused routines and finished runs never wake anyone.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { routineRow, runRow } from "../../../test/helpers/store-rows.js";
import { openTestStore, type TestStore, testDialects } from "../../../test/helpers/stores.js";
import type { Store } from "../store.js";
import { registerWorker } from "../workers.js";
import { nextWakeups } from "./next-wakeup.js";

const NOW = Date.parse("2026-12-04T12:00:00Z");

function outboxRow(store: Store, id: string, row: { status: "pending" | "held" | "delivered"; at: number }) {
  return store.db
    .insertInto("outbox")
    .values({
      id,
      type: "run.failed",
      channel: "hook",
      routine_id: null,
      run_id: null,
      payload: "{}",
      status: row.status,
      next_attempt_at: row.at,
      created_at: NOW - 60_000,
      digest_until: row.status === "held" ? row.at : null,
    })
    .execute();
}

describe.each(await testDialects())("%s: next-wakeup", (dialect) => {
  let ctx: TestStore;
  let queries = 0;
  beforeEach(async () => {
    queries = 0;
    ctx = await openTestStore(dialect, { onQuery: () => queries++ });
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
      nextDeliveryAt: null,
      oldestOpenReservationAt: null,
      oldestRunQueuedAt: null,
      oldestFinishedDeliveryAt: null,
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
      nextDeliveryAt: null,
      oldestOpenReservationAt: null,
      // The first run inserted (lowest id), whatever its status: the retention sweep's gate.
      oldestRunQueuedAt: NOW - 2_000,
      oldestFinishedDeliveryAt: null,
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

  it("answers the delivery worker's next time and the oldest open reservation", async () => {
    await outboxRow(ctx.store, "a", { status: "pending", at: NOW + 8_000 }); // a retry
    await outboxRow(ctx.store, "b", { status: "held", at: NOW + 4_000 }); // a digest window's end
    await outboxRow(ctx.store, "c", { status: "delivered", at: NOW - 9_000 });
    await ctx.store.db
      .insertInto("budget_reservations")
      .values([
        { run_id: 1, attempt: 1, routine_id: null, amount_usd: 1, created_at: NOW - 5_000, settled_at: null },
        { run_id: 2, attempt: 1, routine_id: null, amount_usd: 1, created_at: NOW - 9_000, settled_at: NOW },
      ])
      .execute();
    expect(await nextWakeups(ctx.store.db, NOW)).toMatchObject({
      nextDeliveryAt: NOW + 4_000,
      oldestOpenReservationAt: NOW - 5_000,
      oldestFinishedDeliveryAt: NOW - 9_000, // only a finished row counts
    });
    await ctx.store.db.deleteFrom("outbox").where("id", "=", "b").execute();
    expect((await nextWakeups(ctx.store.db, NOW)).nextDeliveryAt).toBe(NOW + 8_000);
  });

  it("refreshes the worker's seen_at in the same single statement", async () => {
    await registerWorker(ctx.store.db, {
      id: "w1",
      host: "h",
      hostKey: "k",
      pid: 1,
      pidStart: null,
      labels: [],
      startedAt: NOW - 60_000,
      seenAt: NOW - 60_000,
    });
    await routineRow(ctx.store, "a", { nextDueAt: NOW + 5_000, now: NOW });
    queries = 0;
    const touchWorker = { id: "w1", seenAt: NOW, dialect };
    expect(await nextWakeups(ctx.store.db, NOW, { touchWorker })).toMatchObject({ nextDueAt: NOW + 5_000 });
    expect(queries).toBe(1);
    const seen = await ctx.store.db.selectFrom("workers").select("seen_at").executeTakeFirstOrThrow();
    expect(Number(seen.seen_at)).toBe(NOW);
    // A worker row that is gone (removed by hand) still gets its answer.
    await ctx.store.db.deleteFrom("workers").execute();
    const missing = { id: "w1", seenAt: NOW + 1, dialect };
    expect(await nextWakeups(ctx.store.db, NOW, { touchWorker: missing })).toMatchObject({
      nextDueAt: NOW + 5_000,
    });
  });
});
