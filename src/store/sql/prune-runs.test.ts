/**
 * Run retention on both stores: finished runs past the cut-off go with their events and
 * artifacts; recent, queued and running runs and each routine's newest finished ones stay;
 * the ledger keeps its rows; a second sweep finds nothing; batches are bounded.
 */
import type { Insertable } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { routineRow, runRow } from "../../../test/helpers/store-rows.js";
import { openTestStore, type TestStore, testDialects } from "../../../test/helpers/stores.js";
import { pruneFinished, retentionPolicy } from "../../engine/run-retention.js";
import { recordLedger } from "../ledger.js";
import { saveRunArtifacts } from "../run-artifacts.js";
import { appendRunEvents } from "../run-events.js";
import type { RunsTable } from "../schema.js";
import { pruneDeliveriesBatch, pruneRunsChunk } from "./prune-runs.js";

const DAY = 24 * 60 * 60_000;
const NOW = Date.parse("2026-12-04T12:00:00Z");

describe.each(await testDialects())("%s: prune-runs", (dialect) => {
  let ctx: TestStore;
  let due = NOW - 100 * DAY;
  beforeEach(async () => {
    ctx = await openTestStore(dialect);
  });
  afterEach(async () => {
    await ctx?.dispose();
  });

  /** A run that finished `ageDays` ago (or is still `status`), with one event, artifact and ledger row. */
  async function run(routineId: number, ageDays: number, fields: Partial<Insertable<RunsTable>> = {}) {
    due += 1000;
    const at = NOW - ageDays * DAY;
    const id = await runRow(ctx.store, {
      routine_id: routineId,
      due_at: due,
      not_before: at - 1000,
      status: "succeeded",
      started_at: at - 500,
      finished_at: at,
      ...fields,
    });
    await appendRunEvents(ctx.store.db, [
      { runId: id, attempt: 1, at, type: "log", stream: "stdout", data: "hello" },
    ]);
    await saveRunArtifacts(ctx.store.db, [
      { runId: id, attempt: 1, kind: "final-message", content: "x", createdAt: at },
    ]);
    await recordLedger(ctx.store.db, [
      {
        at,
        routineId,
        routineName: "r",
        runId: id,
        attempt: 1,
        harness: "shell",
        model: "none",
        tier: null,
        usage: { tokensIn: 1, tokensOut: 1, tokensCached: 0, tokensReasoning: 0 },
        costUsd: 0.01,
        costSource: "reported",
      },
    ]);
    return id;
  }

  async function ids(table: "runs" | "run_events" | "run_artifacts" | "ledger"): Promise<number[]> {
    const column = table === "runs" ? "id" : "run_id";
    const rows = await ctx.store.db.selectFrom(table).select(column).orderBy(column).execute();
    return rows.map((row) => Number((row as Record<string, unknown>)[column]));
  }

  it("deletes old finished runs with their events and artifacts; keeps recent, unfinished, the newest per routine and the ledger", async () => {
    const busy = (await routineRow(ctx.store, "busy", { now: NOW })).id;
    const quiet = (await routineRow(ctx.store, "quiet", { now: NOW })).id;
    const old1 = await run(busy, 60);
    const old2 = await run(busy, 50, { status: "failed" });
    const oldSkipped = await run(busy, 45, { status: "skipped" });
    const stuckQueued = await run(busy, 40, { status: "queued", started_at: null, finished_at: null });
    const oldRunning = await run(busy, 40, { status: "running", finished_at: null, lease_until: NOW + 1 });
    const kept1 = await run(busy, 35); // old, but one of busy's 2 newest finished runs
    const recent = await run(busy, 1);
    const quietOnly = await run(quiet, 90); // a routine's last run stays whatever its age
    const allIds = [old1, old2, oldSkipped, stuckQueued, oldRunning, kept1, recent, quietOnly];
    const ledgerBefore = await ids("ledger");

    const policy = { keepForMs: 30 * DAY, keepPerRoutine: 2 };
    expect(await pruneFinished(ctx.store, policy, NOW)).toEqual({
      runs: 3,
      deliveries: 0,
      reservations: 0,
      testResults: 0,
      inbound: 0,
      more: false,
    });

    const left = [stuckQueued, oldRunning, kept1, recent, quietOnly];
    expect(await ids("runs")).toEqual(left);
    expect(await ids("run_events")).toEqual(left);
    expect(await ids("run_artifacts")).toEqual(left);
    expect(await ids("ledger")).toEqual(ledgerBefore);
    expect(ledgerBefore).toEqual(allIds);

    // Idempotent: the next sweep has nothing to do.
    expect(await pruneFinished(ctx.store, policy, NOW)).toEqual({
      runs: 0,
      deliveries: 0,
      reservations: 0,
      testResults: 0,
      inbound: 0,
      more: false,
    });
    expect(await ids("runs")).toEqual(left);
  });

  it("looks at most `limit` runs per statement, oldest first, and stops at the first young one, and a sweep stops at its batch budget with `more`", async () => {
    const routine = (await routineRow(ctx.store, "many", { now: NOW })).id;
    for (let index = 0; index < 7; index++) await run(routine, 40);
    await run(routine, 0);
    const options = { cutoff: NOW - 30 * DAY, keepPerRoutine: 1, limit: 3 };
    // Chunks of 3 runs by id: 3 + 3 + the last old one and the young one, then nothing after it.
    const first = await pruneRunsChunk(ctx.store, { ...options, afterId: 0 });
    expect(first.deleted).toBe(3);
    const second = await pruneRunsChunk(ctx.store, { ...options, afterId: first.next! });
    expect(second.deleted).toBe(3);
    const third = await pruneRunsChunk(ctx.store, { ...options, afterId: second.next! });
    expect(third).toEqual({ deleted: 1, next: null });
    expect((await ids("runs")).length).toBe(1);

    for (let index = 0; index < 3; index++) await run(routine, 40);
    expect(
      await pruneFinished(ctx.store, { keepForMs: 30 * DAY, keepPerRoutine: 1 }, NOW, { maxBatches: 0 }),
    ).toEqual({ runs: 0, deliveries: 0, reservations: 0, testResults: 0, inbound: 0, more: true });
  });

  it("deletes finished notifications past retention, never pending ones", async () => {
    const notify = async (id: string, status: "pending" | "delivered" | "dead", ageDays: number) => {
      const at = NOW - ageDays * DAY;
      await ctx.store.db
        .insertInto("outbox")
        .values({
          id,
          type: "run.failed",
          channel: "log",
          routine_id: null,
          run_id: null,
          payload: "{}",
          status,
          next_attempt_at: at,
          created_at: at,
          delivered_at: status === "delivered" ? at : null,
          digest_until: null,
        })
        .execute();
    };
    await notify("old-delivered", "delivered", 40);
    await notify("old-dead", "dead", 40);
    await notify("old-pending", "pending", 40);
    await notify("new-delivered", "delivered", 1);
    expect(await pruneDeliveriesBatch(ctx.store, { cutoff: NOW - 30 * DAY, limit: 100 })).toBe(2);
    const left = await ctx.store.db.selectFrom("outbox").select("status").orderBy("status").execute();
    expect(left.map((row) => row.status)).toEqual(["delivered", "pending"]);
  });

  it("reads its policy from the applied `runs:` section, with defaults", () => {
    expect(retentionPolicy({})).toEqual({ keepForMs: 30 * DAY, keepPerRoutine: 10 });
    expect(retentionPolicy({ runs: { keepFor: "7d", keepPerRoutine: 3 } })).toEqual({
      keepForMs: 7 * DAY,
      keepPerRoutine: 3,
    });
  });
});
