/**
 * Issue #23, "Idle": a whole `loopd serve` process (src/daemon/daemon.ts: engine, delivery
 * worker, worker presence, HTTP API) with nothing due makes one query per backstop period in
 * all — the engine's wake-up read, which is also the worker's heartbeat and the delivery
 * worker's plan — on both stores. The backstop is shortened to keep the test quick (the
 * mechanism does not depend on its length); the defaults are checked to be a minute. And an
 * outbox row written by another process is still delivered at once (the wake path), a retry
 * at its time without a backstop of the worker's own.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LogEvent } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { type Daemon, type DaemonEvent, startDaemon } from "../src/daemon/daemon.js";
import { DEFAULT_BACKSTOP_MS, Engine, MISFIRE_SWEEP_MS } from "../src/engine/engine.js";
import { shellHarness } from "../src/harness/shell.js";
import { enqueueEvent } from "../src/store/outbox.js";
import { CONFIG_SETTING, putSetting } from "../src/store/settings.js";
import { openStore, type Store, type StoreOptions } from "../src/store/store.js";
import { WORKER_SEEN_EVERY_MS, WORKER_SEEN_WITHIN_MS } from "../src/store/workers.js";
import { addRoutine, FakeClock } from "./helpers/routines.js";
import { dropSchema, openTestStore, TEST_POSTGRES_URL, testDialects } from "./helpers/stores.js";
import { waitUntil } from "./helpers/wait.js";

const BACKSTOP_MS = 1_000;

describe("idle defaults", () => {
  it("look once a minute, and count a worker alive for its refresh period plus a margin", () => {
    expect(DEFAULT_BACKSTOP_MS).toBe(60_000);
    expect(WORKER_SEEN_EVERY_MS).toBe(60_000);
    expect(WORKER_SEEN_WITHIN_MS).toBeGreaterThanOrEqual(WORKER_SEEN_EVERY_MS + 30_000);
  });
});

describe.each(await testDialects())("%s: an idle daemon", (dialect) => {
  let daemon: Daemon | undefined;
  let store: Store | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await daemon?.stop(0);
    await store?.close();
    await cleanup?.();
    daemon = store = cleanup = undefined;
  });

  async function start(onQuery: (event: LogEvent) => void, onEvent: (event: DaemonEvent) => void) {
    const home = mkdtempSync(join(tmpdir(), "loopd-idle-"));
    const schema = `loopd_test_${randomBytes(6).toString("hex")}`;
    const options: StoreOptions =
      dialect === "sqlite"
        ? { kind: "sqlite", file: join(home, "loopd.db"), onQuery }
        : { kind: "postgres", url: TEST_POSTGRES_URL, schema, onQuery };
    store = await openStore(options);
    cleanup = async () => {
      if (dialect === "postgres") await dropSchema(schema);
      rmSync(home, { recursive: true, force: true });
    };
    const now = Date.now();
    await addRoutine(
      store,
      { name: "daily", command: "true", every: "1d" },
      { repo: home, nextDueAt: now + 86_400_000, now },
    );
    daemon = await startDaemon({
      home,
      store,
      storeOptions: options,
      version: "test",
      mode: "serve",
      host: "127.0.0.1",
      port: 0,
      concurrency: 4,
      leaseMs: 30_000,
      backstopMs: BACKSTOP_MS,
      onEvent,
    });
    return store;
  }

  it("makes one query per backstop period: the wake-up read that is also the heartbeat", async () => {
    let counting = false;
    const statements: string[] = [];
    let idlePasses = 0;
    const deliveriesIdle: Array<number | null> = [];
    const opened = await start(
      (event) => {
        if (counting) statements.push(event.query.sql);
      },
      (event) => {
        if (event.type === "idle") idlePasses++;
        if (event.type === "deliveries-idle") deliveriesIdle.push(event.inMs);
      },
    );
    await waitUntil(() => idlePasses >= 2, "the daemon settled into its backstop passes");
    const seenBefore = await seenAt(opened);
    const from = idlePasses;
    const started = performance.now();
    counting = true;
    await waitUntil(() => idlePasses >= from + 4, "four more backstop passes", { timeoutMs: 20_000 });
    counting = false;
    const elapsed = performance.now() - started;
    // Four passes are four backstop periods apart, and each made exactly one statement.
    expect(elapsed).toBeGreaterThanOrEqual(3 * BACKSTOP_MS);
    expect(statements.length).toBeLessThanOrEqual(4);
    expect(statements.length).toBeGreaterThanOrEqual(3);
    for (const sql of statements) expect(sql).toMatch(/update workers set seen_at/);
    // The heartbeat rode on them; the delivery worker slept without a timer of its own.
    expect(await seenAt(opened)).toBeGreaterThan(seenBefore);
    expect(deliveriesIdle.at(-1)).toBeNull();
  });

  it("still delivers a row another process wrote at once, and a retry at its time", async () => {
    const received: number[] = [];
    const { createServer } = await import("node:http");
    let failFirst = true;
    const server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        received.push(Date.now());
        const status = failFirst ? 503 : 200;
        failFirst = false;
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
    try {
      const events: DaemonEvent[] = [];
      const opened = await start(
        () => {},
        (event) => events.push(event),
      );
      await putSetting(
        opened.db,
        CONFIG_SETTING,
        { channels: { hook: { type: "webhook", url } } },
        Date.now(),
      );
      await waitUntil(() => events.some((event) => event.type === "deliveries-idle"), "deliveries started");
      // Written by "another process" (straight into the store), then the wake a CLI would send.
      await enqueueEvent(opened.db, {
        type: "run.failed",
        kind: ["failure"],
        routineId: null,
        runId: null,
        payload: { routine: "daily" },
        notify: [{ on: ["failure"], to: ["hook"], changeOnly: false }],
        now: Date.now(),
      });
      const woke = Date.now();
      const wake = await fetch(`${daemon!.url}/wake`, { method: "POST" });
      expect(wake.status).toBe(204);
      await waitUntil(() => received.length >= 1, "the first attempt");
      expect(received[0]! - woke).toBeLessThan(BACKSTOP_MS);
      await waitUntil(() => events.some((event) => event.type === "retry"), "a retry planned");
      const planned = events.find((event) => event.type === "retry") as { at: number };
      // The retry (5–10 s out) comes from the worker's own timer, not a minute's backstop.
      await waitUntil(() => events.some((event) => event.type === "delivered"), "the retry delivered", {
        timeoutMs: 20_000,
      });
      expect(received[1]!).toBeGreaterThanOrEqual(planned.at - 50);
      expect(received[1]! - planned.at).toBeLessThan(2_000);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }, 30_000);
});

describe.each(await testDialects())("%s: the engine's periodic sweeps", (dialect) => {
  it("cost no query on an idle store, and still run when the wake-up read says there is work", async () => {
    const statements: string[] = [];
    const ctx = await openTestStore(dialect, { onQuery: (event) => statements.push(event.query.sql) });
    const clock = new FakeClock(Date.now());
    const engine = new Engine({
      store: ctx.store,
      harnesses: new Map([["shell", shellHarness]]),
      roles: { schedule: true, work: true },
      clock,
    });
    const sweeps = () =>
      statements.filter((sql) => /misfire_notified_at|update "budget_reservations"/.test(sql)).length;
    try {
      const now = clock.now();
      await addRoutine(
        ctx.store,
        { name: "daily", command: "true", every: "1d" },
        { repo: "/tmp", nextDueAt: now + 86_400_000, now },
      );
      await engine.pass(); // a process's first pass
      clock.advance(MISFIRE_SWEEP_MS + 60_000); // both sweeps' periods are over
      statements.length = 0;
      await engine.pass();
      expect(sweeps()).toBe(0);
      // A reservation whose attempt is gone, older than the sweep's age: the read lets it run.
      await ctx.store.db
        .insertInto("budget_reservations")
        .values({
          run_id: 999,
          attempt: 1,
          routine_id: null,
          amount_usd: 1,
          created_at: clock.now() - MISFIRE_SWEEP_MS - 1,
          settled_at: null,
        })
        .execute();
      clock.advance(MISFIRE_SWEEP_MS + 60_000);
      await engine.pass();
      const open = await ctx.store.db
        .selectFrom("budget_reservations")
        .select("settled_at")
        .executeTakeFirstOrThrow();
      expect(open.settled_at).not.toBeNull();
    } finally {
      await engine.stop(0);
      await ctx.dispose();
    }
  });
});

async function seenAt(store: Store): Promise<number> {
  const row = await store.db.selectFrom("workers").select("seen_at").executeTakeFirstOrThrow();
  return Number(row.seen_at);
}
