/**
 * Claim on both stores: the rows it writes for what the claim policy (domain/claim-policy.ts,
 * table-tested there) decided — leased, skipped, waiting, canceled, left queued — and its
 * locking: concurrent workers never take the same run, and a global cap holds across them.
 */
import type { Insertable } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { routineRow, runRow } from "../../../test/helpers/store-rows.js";
import { openTestStore, type TestStore, testDialects } from "../../../test/helpers/stores.js";
import type { RoutineSpec } from "../../domain/routine-spec.js";
import type { RunsTable } from "../schema.js";
import { type ClaimOptions, claimRuns } from "./claim-runs.js";

const NOW = Date.parse("2026-12-04T12:00:00Z");
const LEASE_MS = 30_000;

describe.each(await testDialects())("%s: claim-runs", (dialect) => {
  let ctx: TestStore;
  let due = NOW - 600_000;
  beforeEach(async () => {
    ctx = await openTestStore(dialect);
  });
  afterEach(async () => {
    await ctx?.dispose();
  });

  const routine = async (
    name: string,
    spec: Partial<RoutineSpec> = {},
    state: "active" | "paused" = "active",
  ) => (await routineRow(ctx.store, name, { spec, state, now: NOW - 600_000 })).id;
  const queued = (routineId: number, fields: Partial<Insertable<RunsTable>> = {}) => {
    due += 1000;
    return runRow(ctx.store, { routine_id: routineId, due_at: due, ...fields });
  };
  const claim = (options: Partial<ClaimOptions> = {}) =>
    claimRuns(ctx.store, { workerId: "w1", now: NOW, limit: 10, leaseMs: LEASE_MS, ...options });
  const row = (id: number) =>
    ctx.store.db
      .selectFrom("runs")
      .select([
        "status",
        "reason",
        "attempt",
        "worker_id",
        "lease_until",
        "started_at",
        "finished_at",
        "not_before",
      ])
      .where("id", "=", id)
      .executeTakeFirstOrThrow();

  it("leases a ready run to this worker and tells routines that asked about starts", async () => {
    const routineId = await routine("go", { notify: [{ to: ["ops"], on: ["start"], changeOnly: false }] });
    const ready = await queued(routineId, { reason: "released: worker shut down", input: "hello" });
    const later = await queued(routineId, { not_before: NOW + 1 });

    const result = await claim();

    expect(result).toMatchObject({ canceled: [], saturated: false, unsuitable: 0 });
    expect(result.claimed).toEqual([
      expect.objectContaining({
        id: ready,
        routineId,
        routineName: "go",
        attempt: 1,
        trigger: "schedule",
        input: "hello",
        leaseUntil: NOW + LEASE_MS,
        workerId: "w1",
      }),
    ]);
    expect(await row(ready)).toMatchObject({
      status: "running",
      reason: null,
      attempt: 1,
      worker_id: "w1",
      lease_until: NOW + LEASE_MS,
      started_at: NOW,
    });
    expect(await row(later)).toMatchObject({ status: "queued", attempt: 0, worker_id: null });
    const events = await ctx.store.db.selectFrom("outbox").select(["type", "run_id", "channel"]).execute();
    expect(events).toEqual([{ type: "run.started", run_id: ready, channel: "ops" }]);
  });

  it("writes the policy's other answers: skipped when paused, waiting behind a blocker, left for other labels", async () => {
    const paused = await queued(await routine("paused", {}, "paused"));
    const busy = await routine("busy", { overlap: "queue" });
    await queued(busy, {
      status: "running",
      attempt: 1,
      worker_id: "w2",
      lease_until: NOW + 9_000,
      started_at: NOW,
    });
    const waiting = await queued(busy);
    const gpu = await queued(await routine("gpu", { requires: ["gpu"] }));

    const result = await claim({ labels: ["shell"] });

    expect(result).toMatchObject({ claimed: [], canceled: [], saturated: false, unsuitable: 1 });
    expect(await row(paused)).toMatchObject({
      status: "skipped",
      reason: "routine paused",
      finished_at: NOW,
    });
    expect(await row(waiting)).toMatchObject({
      status: "queued",
      not_before: NOW + 9_000,
      reason: expect.stringMatching(/^overlap queue: waiting for run \d+$/),
    });
    expect(await row(gpu)).toMatchObject({ status: "queued", reason: null, finished_at: null });
  });

  it("cancel-previous ends the run going elsewhere and reports it for its worker to stop", async () => {
    const routineId = await routine("latest", { overlap: "cancel-previous" });
    const previous = await queued(routineId, {
      status: "running",
      attempt: 1,
      worker_id: "w2",
      lease_until: NOW + 9_000,
      started_at: NOW,
    });
    const next = await queued(routineId);

    const result = await claim();

    expect(result.claimed.map((run) => run.id)).toEqual([next]);
    expect(result.canceled).toEqual([previous]);
    expect(await row(previous)).toMatchObject({
      status: "canceled",
      reason: `overlap cancel-previous: superseded by run ${next}`,
      worker_id: null,
      lease_until: null,
      finished_at: NOW,
    });
  });

  it("a repo at its cap keeps the run waiting until the lease horizon", async () => {
    const a = await routine("a", { repo: "/shared" });
    const b = await routine("b", { repo: "/shared" });
    await queued(a, {
      status: "running",
      attempt: 1,
      worker_id: "w2",
      lease_until: NOW + 9_000,
      started_at: NOW,
    });
    const blocked = await queued(b);
    expect((await claim({ perRepo: 1 })).claimed).toEqual([]);
    expect(await row(blocked)).toMatchObject({
      status: "queued",
      not_before: NOW + LEASE_MS,
      reason: "concurrency: 1 run(s) already in /shared",
    });
  });

  it("a global cap reached starts nothing and says so; below it, only what is left starts", async () => {
    const routineId = await routine("many", { overlap: "allow" });
    await queued(routineId, {
      status: "running",
      attempt: 1,
      worker_id: "w2",
      lease_until: NOW + 9_000,
      started_at: NOW,
    });
    const runs = [await queued(routineId), await queued(routineId), await queued(routineId)];
    expect(await claim({ globalConcurrency: 1 })).toEqual({
      claimed: [],
      canceled: [],
      saturated: true,
      unsuitable: 0,
    });
    expect((await claim({ globalConcurrency: 3 })).claimed.map((run) => run.id)).toEqual(runs.slice(0, 2));
  });

  it("claims only the run asked for (`loopd run` in-process)", async () => {
    const routineId = await routine("one", { overlap: "allow" });
    await queued(routineId);
    const wanted = await queued(routineId);
    expect((await claim({ runId: wanted })).claimed.map((run) => run.id)).toEqual([wanted]);
  });

  it("concurrent workers never take the same run, and together respect the global cap", async () => {
    const routineId = await routine("crowd", { overlap: "allow" });
    for (let i = 0; i < 12; i++) await queued(routineId);
    const results = await Promise.all(
      ["w1", "w2", "w3", "w4"].map((workerId) => claim({ workerId, limit: 3, globalConcurrency: 8 })),
    );
    const claimed = results.flatMap((result) => result.claimed.map((run) => run.id));
    expect(new Set(claimed).size).toBe(claimed.length);
    expect(claimed.length).toBe(8);
    const running = await ctx.store.db
      .selectFrom("runs")
      .select("worker_id")
      .where("status", "=", "running")
      .execute();
    expect(running).toHaveLength(8);
  });
});
