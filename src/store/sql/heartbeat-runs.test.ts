/**
 * Heartbeat on both stores: a worker renews the leases of its own running runs and learns,
 * by their absence from the answer, which runs are no longer its (recovered by another
 * process, canceled, fenced onto another worker) so it stops them.
 */
import type { Insertable } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { routineRow, runRow } from "../../../test/helpers/store-rows.js";
import { openTestStore, type TestStore, testDialects } from "../../../test/helpers/stores.js";
import type { RunsTable } from "../schema.js";
import { heartbeatRuns } from "./heartbeat-runs.js";

const NOW = Date.parse("2026-12-04T12:00:00Z");
const LEASE_MS = 30_000;

describe.each(await testDialects())("%s: heartbeat-runs", (dialect) => {
  let ctx: TestStore;
  let routineId: number;
  let due = NOW;
  beforeEach(async () => {
    ctx = await openTestStore(dialect);
    routineId = (await routineRow(ctx.store, "beat", { now: NOW })).id;
  });
  afterEach(async () => {
    await ctx?.dispose();
  });

  async function run(fields: Partial<Insertable<RunsTable>>): Promise<number> {
    due += 1000;
    return runRow(ctx.store, {
      routine_id: routineId,
      due_at: due,
      status: "running",
      attempt: 1,
      worker_id: "w1",
      lease_until: NOW + 5_000,
      started_at: NOW,
      ...fields,
    });
  }
  const leases = async () =>
    Object.fromEntries(
      (await ctx.store.db.selectFrom("runs").select(["id", "lease_until"]).execute()).map((row) => [
        row.id,
        row.lease_until,
      ]),
    );

  it("renews this worker's running leases and leaves every other run as it was", async () => {
    const mine = await run({});
    const alsoMine = await run({ lease_until: NOW + 1_000 });
    const fenced = await run({ worker_id: "w2" }); // recovered and claimed again elsewhere
    const requeued = await run({ status: "queued", worker_id: null, lease_until: null });
    const canceled = await run({ status: "canceled", worker_id: null, lease_until: null, finished_at: NOW });

    const held = await heartbeatRuns(ctx.store.db, {
      workerId: "w1",
      runIds: [mine, alsoMine, fenced, requeued, canceled],
      now: NOW,
      leaseMs: LEASE_MS,
    });

    expect([...held].sort((a, b) => a - b)).toEqual([mine, alsoMine]);
    expect(await leases()).toEqual({
      [mine]: NOW + LEASE_MS,
      [alsoMine]: NOW + LEASE_MS,
      [fenced]: NOW + 5_000,
      [requeued]: null,
      [canceled]: null,
    });
  });

  it("still renews a lease that lapsed while nobody recovered the run; not once it was recovered", async () => {
    const lapsed = await run({ lease_until: NOW - 1_000 });
    expect(
      await heartbeatRuns(ctx.store.db, { workerId: "w1", runIds: [lapsed], now: NOW, leaseMs: LEASE_MS }),
    ).toEqual(new Set([lapsed]));

    // Recovery (recover-expired-leases.ts) hands it back to the queue: the worker must stop it.
    await ctx.store.db
      .updateTable("runs")
      .set({ status: "queued", worker_id: null, lease_until: null })
      .where("id", "=", lapsed)
      .execute();
    expect(
      await heartbeatRuns(ctx.store.db, { workerId: "w1", runIds: [lapsed], now: NOW, leaseMs: LEASE_MS }),
    ).toEqual(new Set());
    expect((await leases())[lapsed]).toBeNull();
  });

  it("holds nothing for no runs", async () => {
    expect(
      await heartbeatRuns(ctx.store.db, { workerId: "w1", runIds: [], now: NOW, leaseMs: LEASE_MS }),
    ).toEqual(new Set());
  });
});
