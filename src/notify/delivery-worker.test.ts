/**
 * The delivery worker against real HTTP receivers (node:http) and both stores: retries with
 * backoff until a flaky receiver accepts, one effect at a deduping receiver although the
 * sender retried after a timeout, a refusal ends the row at once, and an idle worker sleeps.
 * Time is an injected clock moved past each backoff; the sends themselves are real.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { openTestStore, type TestStore, testDialects } from "../../test/helpers/stores.js";
import { waitUntil } from "../../test/helpers/wait.js";
import { CONFIG_SETTING, putSetting } from "../store/settings.js";
import type { Store } from "../store/store.js";
import {
  DELIVERY_RETRY_SCHEDULE_MS,
  DeliveryWorker,
  type DeliveryWorkerEvent,
  type DeliveryWorkerOptions,
  deliveryRetryDelayMs,
} from "./delivery-worker.js";

const T0 = Date.parse("2026-11-28T12:00:00Z");

interface Receiver {
  url: string;
  requests: Array<{ id: string; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

async function receiver(
  respond: (req: IncomingMessage, res: ServerResponse, index: number) => void,
): Promise<Receiver> {
  const requests: Receiver["requests"] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      requests.push({ id: String(req.headers["webhook-id"]), body: JSON.parse(body) });
      respond(req, res, requests.length - 1);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const reply = (res: ServerResponse, status: number) =>
  res.writeHead(status).end(status >= 400 ? "nope" : "ok");

describe("deliveryRetryDelayMs", () => {
  it("follows the schedule with equal jitter and repeats its last step", () => {
    expect(deliveryRetryDelayMs(1, 0)).toBe(5_000);
    expect(deliveryRetryDelayMs(1, 0.999_999)).toBe(10_000);
    expect(deliveryRetryDelayMs(3, 0)).toBe(60_000);
    const last = DELIVERY_RETRY_SCHEDULE_MS.at(-1)!;
    expect(deliveryRetryDelayMs(20, 0)).toBe(last / 2);
  });
});

describe.each(await testDialects())("%s: delivery worker", (dialect) => {
  let ctx: TestStore;
  let store: Store;
  let now: number;
  let worker: DeliveryWorker | undefined;
  let server: Receiver | undefined;
  beforeAll(async () => {
    ctx = await openTestStore(dialect);
    store = ctx.store;
  });
  afterAll(async () => {
    await ctx?.dispose();
  });
  beforeEach(async () => {
    now = T0;
    await store.db.deleteFrom("outbox").execute();
  });
  afterEach(async () => {
    await worker?.stop();
    await server?.close();
    worker = server = undefined;
  });

  async function setup(
    respond: (req: IncomingMessage, res: ServerResponse, index: number) => void,
    options: Partial<DeliveryWorkerOptions> = {},
    dueAt = T0,
  ): Promise<{ id: string; row: () => Promise<Record<string, unknown>> }> {
    server = await receiver(respond);
    await putSetting(
      store.db,
      CONFIG_SETTING,
      { channels: { hook: { type: "webhook", url: server.url } } },
      T0,
    );
    const id = await addRow("hook", dueAt);
    worker = new DeliveryWorker({ store, now: () => now, ...options });
    return {
      id,
      row: () => store.db.selectFrom("outbox").selectAll().where("id", "=", id).executeTakeFirstOrThrow(),
    };
  }

  let sequence = 0;
  async function addRow(channel: string, dueAt = T0): Promise<string> {
    const id = `evt_${dialect}-${++sequence}`;
    await store.db
      .insertInto("outbox")
      .values({
        id,
        type: "run.failed",
        channel,
        routine_id: null,
        run_id: 42,
        payload: JSON.stringify({ type: "run.failed", at: new Date(T0).toISOString(), routine: "nightly" }),
        status: "pending",
        next_attempt_at: dueAt,
        created_at: T0,
      })
      .execute();
    return id;
  }

  it("retries a failing receiver with backoff until it accepts", async () => {
    const failures = 2;
    const { id, row } = await setup((_req, res, index) => reply(res, index < failures ? 500 : 200));
    await worker!.start();
    let previous = T0;
    for (let attempt = 1; attempt <= failures; attempt++) {
      const pending = await row();
      expect(pending).toMatchObject({ status: "pending", attempts: attempt });
      expect(pending.last_error).toMatch(/^HTTP 500/);
      // Backoff: half the scheduled step fixed, half jitter.
      const step = DELIVERY_RETRY_SCHEDULE_MS[attempt - 1]!;
      const due = Number(pending.next_attempt_at);
      expect(due - previous).toBeGreaterThanOrEqual(step / 2);
      expect(due - previous).toBeLessThanOrEqual(step);
      // Not before it is due, then once it is.
      now = due - 1;
      await worker!.wake();
      expect(server!.requests).toHaveLength(attempt);
      now = previous = due;
      await worker!.wake();
    }
    expect(await row()).toMatchObject({
      status: "delivered",
      attempts: failures + 1,
      delivered_at: previous,
    });
    expect(server!.requests.map((request) => request.id)).toEqual([id, id, id]);
    expect(server!.requests[0]!.body).toMatchObject({
      id,
      type: "run.failed",
      routine: "nightly",
      runId: 42,
    });
  });

  it("gives a deduping receiver one effect although the sender retried after a timeout", async () => {
    const effects: string[] = [];
    const seen = new Set<string>();
    const { id, row } = await setup(
      (req, res) => {
        const eventId = String(req.headers["webhook-id"]);
        if (seen.has(eventId)) return reply(res, 200);
        seen.add(eventId);
        effects.push(eventId);
        // Applied, but the answer comes after the sender stopped waiting.
        setTimeout(() => reply(res, 200), 400);
      },
      { deliverOptions: { timeoutMs: 100 } },
    );
    await worker!.start();
    expect(await row()).toMatchObject({
      status: "pending",
      attempts: 1,
      last_error: "no response within 100ms",
    });
    now = Number((await row()).next_attempt_at);
    await worker!.wake();
    expect(await row()).toMatchObject({ status: "delivered", attempts: 2 });
    expect(server!.requests.map((request) => request.id)).toEqual([id, id]);
    expect(effects).toEqual([id]);
  });

  it("ends a row dead at once when the receiver refuses it (400)", async () => {
    const { row } = await setup((_req, res) => reply(res, 400));
    await worker!.start();
    expect(await row()).toMatchObject({ status: "dead", attempts: 1, last_error: "HTTP 400: nope" });
    now += 24 * 3_600_000;
    await worker!.wake();
    expect(server!.requests).toHaveLength(1);
  });

  it("gives up after maxAttempts retryable failures", async () => {
    const { row } = await setup((_req, res) => reply(res, 503), { maxAttempts: 2 });
    await worker!.start();
    now = Number((await row()).next_attempt_at);
    await worker!.wake();
    expect(await row()).toMatchObject({
      status: "dead",
      attempts: 2,
      last_error: "gave up after 2 attempts: HTTP 503: nope",
    });
  });

  it("ends a row for a channel removed from the config dead, sending nothing", async () => {
    await setup((_req, res) => reply(res, 200));
    const orphan = await addRow("gone");
    await worker!.start();
    const row = await store.db
      .selectFrom("outbox")
      .selectAll()
      .where("id", "=", orphan)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: "dead", attempts: 1 });
    expect(row.last_error).toBe('channel "gone" is not in the config any more (removed from loopd.yaml?)');
    // Only the row for the configured channel reached the receiver.
    expect(server!.requests).toHaveLength(1);
  });

  it("sleeps until the next row is due, then sends it without a wake-up", async () => {
    const { row } = await setup((_req, res) => reply(res, 200), { now: Date.now }, Date.now() + 200);
    await worker!.start();
    expect(server!.requests).toHaveLength(0);
    await expect.poll(async () => (await row()).status, { timeout: 3_000 }).toBe("delivered");
    expect(server!.requests).toHaveLength(1);
  });
});

// The query count is the same on both stores; SQLite alone keeps the test quick.
describe("an idle delivery worker", () => {
  it("runs one pass and then sleeps until its backstop", async () => {
    let queries = 0;
    const ctx = await openTestStore("sqlite", { onQuery: () => queries++ });
    const events: DeliveryWorkerEvent[] = [];
    const worker = new DeliveryWorker({
      store: ctx.store,
      backstopMs: 60_000,
      onEvent: (event) => events.push(event),
    });
    try {
      await worker.start();
      expect(queries).toBeGreaterThan(0);
      // The worker's own word that nothing is due: its next look is the backstop's.
      expect(events).toEqual([{ type: "deliveries-idle", inMs: 60_000 }]);
    } finally {
      await worker.stop();
      await ctx.dispose();
    }
  });

  it("without a backstop of its own, sleeps until handed a time, and a handed time only brings it forward", async () => {
    let queries = 0;
    const ctx = await openTestStore("sqlite", { onQuery: () => queries++ });
    const passes: Array<number | null> = [];
    const worker = new DeliveryWorker({
      store: ctx.store,
      backstopMs: null,
      onEvent: (event) => {
        if (event.type === "deliveries-idle") passes.push(event.inMs);
      },
    });
    try {
      await worker.start();
      // Nothing due and no backstop: no timer at all (the daemon's engine read plans for it).
      expect(passes).toEqual([null]);
      worker.dueAt(null);
      worker.dueAt(Date.now() - 1); // come already: a pass at once
      await waitUntil(() => passes.length === 2, "a pass for a time that has come");
      const before = queries;
      worker.dueAt(Date.now() + 150);
      worker.dueAt(Date.now() + 3_600_000); // later than the armed timer: ignored
      expect(queries).toBe(before); // arming a timer costs no query
      const armed = Date.now();
      await waitUntil(() => passes.length === 3, "a pass at the handed time");
      expect(Date.now() - armed).toBeGreaterThanOrEqual(140);
      expect(passes.at(-1)).toBeNull();
    } finally {
      await worker.stop();
      await ctx.dispose();
    }
  });
});
