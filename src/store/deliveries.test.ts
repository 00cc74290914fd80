/**
 * The outbox delivery contract on both stores: claiming (order, limit, leases, concurrent
 * claimers), fenced finishes, and the list/retry queries behind `loopd deliveries`.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { openTestStore, type TestStore, testDialects } from "../../test/helpers/stores.js";
import { countDeliveriesByStatus, findDelivery, listDeliveries, retryDelivery } from "./deliveries.js";
import { enqueueEvent } from "./outbox.js";
import { type ClaimedDelivery, claimDeliveries, nextDeliveryAt } from "./sql/claim-deliveries.js";
import { finishDelivery } from "./sql/finish-delivery.js";
import { openStore, type Store } from "./store.js";

const NOW = Date.parse("2026-11-28T12:00:00Z");
const LEASE = 60_000;

describe.each(await testDialects())("%s: outbox deliveries", (dialect) => {
  let ctx: TestStore;
  let store: Store;
  beforeAll(async () => {
    ctx = await openTestStore(dialect);
    store = ctx.store;
  });
  afterAll(async () => {
    await ctx?.dispose();
  });
  beforeEach(async () => {
    await store.db.deleteFrom("outbox").execute();
  });

  let sequence = 0;
  async function addRow(fields: { channel?: string; dueAt?: number; createdAt?: number; routine?: string }) {
    const id = `evt_${String(++sequence).padStart(8, "0")}-test`;
    await store.db
      .insertInto("outbox")
      .values({
        id,
        type: "run.failed",
        channel: fields.channel ?? "hook",
        routine_id: null,
        run_id: 7,
        payload: JSON.stringify({ type: "run.failed", routine: fields.routine ?? "nightly" }),
        status: "pending",
        next_attempt_at: fields.dueAt ?? NOW,
        created_at: fields.createdAt ?? fields.dueAt ?? NOW,
      })
      .execute();
    return id;
  }
  const claim = (now = NOW, limit = 10, on: Store = store) =>
    claimDeliveries(on, { now, limit, leaseMs: LEASE });
  const row = (id: string) =>
    store.db.selectFrom("outbox").selectAll().where("id", "=", id).executeTakeFirstOrThrow();

  it("claims due rows longest-due first, up to the limit, and leaves future ones", async () => {
    const late = await addRow({ dueAt: NOW - 1000 });
    const early = await addRow({ dueAt: NOW - 5000 });
    const third = await addRow({ dueAt: NOW });
    await addRow({ dueAt: NOW + 1 });
    const { claimed } = await claim(NOW, 2);
    expect(claimed.map((delivery) => delivery.id)).toEqual([early, late]);
    expect((await claim(NOW, 10)).claimed.map((delivery) => delivery.id)).toEqual([third]);
  });

  it("spends an attempt and leases the row until the lease runs out", async () => {
    const id = await addRow({});
    const [first] = (await claim()).claimed;
    expect(first).toMatchObject({ id, attempt: 1, leaseUntil: NOW + LEASE, channel: "hook", run_id: 7 });
    expect(await row(id)).toMatchObject({ attempts: 1, next_attempt_at: NOW + LEASE, status: "pending" });
    expect((await claim(NOW + LEASE - 1)).claimed).toEqual([]);
    // The sender died: the row is due again when its lease ends, as attempt 2.
    const [again] = (await claim(NOW + LEASE)).claimed;
    expect(again).toMatchObject({ id, attempt: 2 });
  });

  it("marks rows without a channel delivered instead of handing them out", async () => {
    const silent = await addRow({ channel: "" });
    const loud = await addRow({});
    const result = await claim();
    expect(result.settled).toBe(1);
    expect(result.claimed.map((delivery) => delivery.id)).toEqual([loud]);
    expect(await row(silent)).toMatchObject({ status: "delivered", delivered_at: NOW, attempts: 0 });
  });

  it("hands every row to exactly one of several concurrent claimers", async () => {
    for (let i = 0; i < 30; i++) await addRow({ createdAt: NOW + i });
    // PostgreSQL: a second pool on the same schema races for real (SKIP LOCKED). SQLite: two
    // handles in one process would deadlock on the write lock, so the claims share one handle
    // and its connection serialises them, as BEGIN IMMEDIATE does between processes.
    const other =
      dialect === "postgres"
        ? await openStore({
            kind: "postgres",
            url: ctx.env.LOOPD_DATABASE_URL!,
            schema: ctx.env.LOOPD_DATABASE_SCHEMA!,
          })
        : store;
    try {
      const seen: ClaimedDelivery[] = [];
      for (;;) {
        const results = await Promise.all([
          claim(NOW, 4),
          claim(NOW, 4, other),
          claim(NOW, 4),
          claim(NOW, 4, other),
        ]);
        const batch = results.flatMap((result) => result.claimed);
        if (batch.length === 0) break;
        seen.push(...batch);
      }
      const ids = seen.map((delivery) => delivery.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toHaveLength(30);
      expect(seen.every((delivery) => delivery.attempt === 1)).toBe(true);
    } finally {
      if (other !== store) await other.close();
    }
  });

  it("fences a finish on its attempt, so a sender whose lease expired cannot clobber", async () => {
    const id = await addRow({});
    const [stale] = (await claim()).claimed;
    const [current] = (await claim(NOW + LEASE)).claimed;
    const late = await finishDelivery(store, {
      id,
      attempt: stale!.attempt,
      now: NOW + LEASE + 5,
      outcome: { kind: "dead", error: "late" },
    });
    expect(late).toBe(false);
    expect(await row(id)).toMatchObject({ status: "pending", attempts: 2, last_error: null });
    const accepted = await finishDelivery(store, {
      id,
      attempt: current!.attempt,
      now: NOW + LEASE + 10,
      outcome: { kind: "delivered" },
    });
    expect(accepted).toBe(true);
    expect(await row(id)).toMatchObject({ status: "delivered", delivered_at: NOW + LEASE + 10 });
    // A settled row takes no further finish, whatever the attempt.
    expect(
      await finishDelivery(store, {
        id,
        attempt: 2,
        now: NOW + LEASE + 20,
        outcome: { kind: "dead", error: "x" },
      }),
    ).toBe(false);
  });

  it("schedules a retry or ends a row dead", async () => {
    const retried = await addRow({});
    const killed = await addRow({});
    await claim();
    await finishDelivery(store, {
      id: retried,
      attempt: 1,
      now: NOW,
      outcome: { kind: "retry", at: NOW + 10_000, error: "HTTP 503" },
    });
    await finishDelivery(store, {
      id: killed,
      attempt: 1,
      now: NOW,
      outcome: { kind: "dead", error: "HTTP 400" },
    });
    expect(await row(retried)).toMatchObject({
      status: "pending",
      next_attempt_at: NOW + 10_000,
      last_error: "HTTP 503",
    });
    expect(await row(killed)).toMatchObject({ status: "dead", last_error: "HTTP 400", delivered_at: null });
    expect(await nextDeliveryAt(store)).toBe(NOW + 10_000);
    expect((await claim(NOW + 9_999)).claimed).toEqual([]);
    expect((await claim(NOW + 10_000)).claimed.map((delivery) => [delivery.id, delivery.attempt])).toEqual([
      [retried, 2],
    ]);
  });

  it("lists newest first, filtered by status or by failure, and counts by status", async () => {
    const delivered = await addRow({ createdAt: NOW + 1 });
    const dead = await addRow({ createdAt: NOW + 2 });
    const retrying = await addRow({ createdAt: NOW + 3 });
    const fresh = await addRow({ createdAt: NOW + 4, dueAt: NOW + 60_000 });
    await claim(NOW + 3);
    await finishDelivery(store, { id: delivered, attempt: 1, now: NOW, outcome: { kind: "delivered" } });
    await finishDelivery(store, {
      id: dead,
      attempt: 1,
      now: NOW,
      outcome: { kind: "dead", error: "HTTP 404" },
    });
    await finishDelivery(store, {
      id: retrying,
      attempt: 1,
      now: NOW,
      outcome: { kind: "retry", at: NOW + 5, error: "HTTP 500" },
    });
    const ids = async (filter: Parameters<typeof listDeliveries>[1]) =>
      (await listDeliveries(store.db, filter)).map((delivery) => delivery.id);
    expect(await ids({})).toEqual([fresh, retrying, dead, delivered]);
    expect(await ids({ limit: 2 })).toEqual([fresh, retrying]);
    expect(await ids({ status: "pending" })).toEqual([fresh, retrying]);
    expect(await ids({ failedOnly: true })).toEqual([retrying, dead]);
    const [listed] = await listDeliveries(store.db, { status: "dead" });
    expect(listed).toMatchObject({ routineName: "nightly", runId: 7, attempts: 1, lastError: "HTTP 404" });
    expect(await countDeliveriesByStatus(store.db)).toEqual({
      pending: 2,
      delivered: 1,
      dead: 1,
      held: 0,
      digested: 0,
    });
  });

  it("retries a dead row with a fresh schedule and keeps its history in last_error", async () => {
    const id = await addRow({});
    await claim();
    await finishDelivery(store, { id, attempt: 1, now: NOW, outcome: { kind: "dead", error: "HTTP 410" } });
    const retried = await retryDelivery(store.db, id, NOW + 1000);
    expect(retried).toMatchObject({ status: "pending", attempts: 0, nextAttemptAt: NOW + 1000 });
    expect(retried!.lastError).toBe("retried by hand after 1 attempt(s); last error: HTTP 410");
    expect((await claim(NOW + 1000)).claimed.map((delivery) => delivery.attempt)).toEqual([1]);
  });

  it("makes a pending row due now but keeps its attempt count for the fence", async () => {
    const id = await addRow({});
    await claim();
    await finishDelivery(store, {
      id,
      attempt: 1,
      now: NOW,
      outcome: { kind: "retry", at: NOW + 600_000, error: "HTTP 502" },
    });
    expect(await retryDelivery(store.db, id, NOW + 5)).toMatchObject({
      status: "pending",
      attempts: 1,
      nextAttemptAt: NOW + 5,
    });
    expect((await claim(NOW + 5)).claimed.map((delivery) => delivery.attempt)).toEqual([2]);
  });

  it("leaves a delivered row alone and reports an unknown id as undefined", async () => {
    const id = await addRow({ channel: "" });
    await claim();
    expect(await retryDelivery(store.db, id, NOW + 5)).toMatchObject({
      status: "delivered",
      deliveredAt: NOW,
    });
    expect(await retryDelivery(store.db, "evt_nope", NOW)).toBeUndefined();
  });

  it("finds a row by its full id or a unique prefix, with or without evt_", async () => {
    await enqueueEvent(store.db, {
      type: "run.failed",
      kind: "failure",
      routineId: null,
      runId: null,
      payload: { routine: "nightly" },
      notify: [{ to: ["a", "b"], on: ["failure"], changeOnly: false }],
      now: NOW,
    });
    const [a, b] = (await listDeliveries(store.db)).map((delivery) => delivery.id).sort();
    expect((await findDelivery(store.db, a!)).delivery?.id).toBe(a);
    expect((await findDelivery(store.db, a!.slice(4, 20))).delivery?.id).toBe(a);
    expect((await findDelivery(store.db, b!.slice(0, 20))).delivery?.id).toBe(b);
    expect(await findDelivery(store.db, "evt_")).toEqual({ delivery: undefined, ambiguous: [a, b] });
    expect(await findDelivery(store.db, "zzz")).toEqual({ delivery: undefined, ambiguous: [] });
  });
});
