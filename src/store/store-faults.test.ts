/**
 * PostgreSQL connections die (server restart, failover, pg_terminate_backend): the store's
 * pool must not take the process down with an unhandled 'error' event, and the next query
 * works on a fresh connection. The LISTEN connection of the wake bus comes back by itself
 * and then asks for a catch-up pass (notifications sent meanwhile were lost).
 */
import { type AddressInfo, createServer } from "node:net";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  openTestStore,
  postgresSuiteEnabled,
  TEST_POSTGRES_URL,
  type TestStore,
} from "../../test/helpers/stores.js";
import { waitUntil } from "../../test/helpers/wait.js";
import { PostgresWakeBus, wakeChannel } from "../engine/wake.js";
import { isConnectionFault } from "./faults.js";

/** Terminates every backend whose application_name starts with `prefix` (this test's only). */
async function terminate(prefix: string): Promise<number> {
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await admin.connect();
  try {
    const { rows } = await admin.query(
      "select pg_terminate_backend(pid) as gone from pg_stat_activity where application_name like $1 and pid <> pg_backend_pid()",
      [`${prefix}%`],
    );
    return rows.length;
  } finally {
    await admin.end();
  }
}

/** How many backends whose application_name starts with `prefix` the server still has. */
async function backends(prefix: string): Promise<number> {
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await admin.connect();
  try {
    const { rows } = await admin.query(
      "select count(*)::int as n from pg_stat_activity where application_name like $1",
      [`${prefix}%`],
    );
    return (rows[0] as { n: number }).n;
  } finally {
    await admin.end();
  }
}

describe.runIf(await postgresSuiteEnabled("the PostgreSQL fault tests"))(
  "PostgreSQL connection faults",
  () => {
    let target: TestStore;
    let schema: string;

    beforeAll(async () => {
      target = await openTestStore("postgres");
      schema = target.env.LOOPD_DATABASE_SCHEMA!;
    });
    afterAll(async () => {
      await target?.dispose();
    });

    it("survives its connections being terminated, idle or checked out, and reconnects", async () => {
      const { db } = target.store;
      // Several connections in the pool, one of them held in a transaction between queries.
      await Promise.all(Array.from({ length: 4 }, () => db.selectFrom("routines").select("id").execute()));
      const inTransaction = db.transaction().execute(async (trx) => {
        await trx.selectFrom("routines").select("id").execute();
        expect(await terminate(`loopd:${schema}`)).toBeGreaterThanOrEqual(4);
        // Once the server has ended them, their sockets close: the pool's idle clients and this
        // checked-out one get their 'error' events, which must not take the process down.
        await vi.waitFor(async () => expect(await backends(`loopd:${schema}`)).toBe(0), { interval: 20 });
        await trx.selectFrom("routines").select("id").execute();
      });
      const failure = await inTransaction.then(
        () => null,
        (error: unknown) => error,
      );
      expect(isConnectionFault(failure)).toBe(true);
      // Still alive (no unhandled 'error' event), and the pool opens fresh connections.
      await vi.waitFor(async () => {
        expect(await db.selectFrom("routines").select("id").execute()).toEqual([]);
      });
      await Promise.all(Array.from({ length: 4 }, () => db.selectFrom("routines").select("id").execute()));
    });

    it("re-establishes LISTEN after its connection is terminated, with a catch-up wake-up", async () => {
      const channel = wakeChannel(schema);
      const errors: unknown[] = [];
      const bus = new PostgresWakeBus(target.store, TEST_POSTGRES_URL, channel, (error) =>
        errors.push(error),
      );
      let wakes = 0;
      await bus.listen(() => wakes++);
      try {
        expect(bus.listening()).toBe(true);
        await bus.notify();
        await vi.waitFor(() => expect(wakes).toBe(1));

        expect(await terminate(`loopd-listen:${channel}`)).toBe(1);
        // Lost, reported, back with a wake-up of its own for the notifications it missed.
        await vi.waitFor(() => expect(errors.length).toBeGreaterThan(0));
        await vi.waitFor(() => expect(wakes).toBe(2), { timeout: 5000 });
        expect(bus.listening()).toBe(true);

        // And it hears the next NOTIFY within milliseconds again.
        const sent = performance.now();
        await bus.notify();
        await vi.waitFor(() => expect(wakes).toBe(3), { timeout: 1000, interval: 5 });
        expect(performance.now() - sent).toBeLessThan(500);
      } finally {
        await bus.close();
      }
    });

    it("reports a LISTEN outage once, with a code, however many reconnects fail", async () => {
      // A server that takes every connection and drops it at once: a database going down and
      // staying down, as the LISTEN client sees it.
      let attempts = 0;
      const server = createServer((socket) => {
        attempts++;
        socket.destroy();
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const { port } = server.address() as AddressInfo;
      const errors: unknown[] = [];
      const bus = new PostgresWakeBus(
        target.store,
        `postgres://x@127.0.0.1:${port}/x`,
        "loopd_wake_down",
        (error) => errors.push(error),
      );
      try {
        await bus.listen(() => {});
        expect(bus.listening()).toBe(false);
        // 250 ms, 500 ms, 1 s, … between attempts.
        await waitUntil(() => attempts >= 4, "four connection attempts", { timeoutMs: 10_000 });
        expect(errors).toHaveLength(1);
        expect(errors[0]).toMatchObject({
          code: "LOOPD_STORE_UNAVAILABLE",
          message: expect.stringContaining("lost the LISTEN connection"),
        });
      } finally {
        await bus.close();
        server.close();
      }
    });
  },
);
