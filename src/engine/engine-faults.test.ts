/**
 * The engine when things break, against both stores, with real processes: a store that stops
 * answering (a plugin makes every query fail like a dropped connection) fences the runs whose
 * leases it cannot renew — their processes are dead before the lease runs out — while a short
 * outage costs nothing; a run recovered from a dead worker keeps its place ahead of newer
 * occurrences; a dead worker of this host is recovered at once, its leftovers killed first.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KyselyPlugin } from "kysely";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { addRoutine, FakeClock } from "../../test/helpers/routines.js";
import { openTestStore, type TestStore, testDialects } from "../../test/helpers/stores.js";
import { waitUntil } from "../../test/helpers/wait.js";
import { shellHarness } from "../harness/shell.js";
import { hostKey, processAlive, processStart } from "../lib/local-host.js";
import { findRoutineByName } from "../store/routines.js";
import { insertRun, listRuns } from "../store/runs.js";
import { claimRuns } from "../store/sql/claim-runs.js";
import type { Store } from "../store/store.js";
import { listWorkers, registerWorker } from "../store/workers.js";
import { Engine, type EngineEvent, type EngineOptions } from "./engine.js";

const T0 = Date.parse("2026-11-28T08:00:00Z");
const harnesses = new Map([["shell", shellHarness]]);

/** The store, and a switch that makes every query and transaction fail like a lost connection. */
/** A store that can go down; `refusedWrites` counts write transactions refused meanwhile. */
function faultyStore(store: Store): { store: Store; down(value: boolean): void; refusedWrites(): number } {
  let isDown = false;
  let refused = 0;
  const fault = () => Object.assign(new Error("Connection terminated unexpectedly"), { code: "ECONNRESET" });
  const plugin: KyselyPlugin = {
    transformQuery(args) {
      if (isDown) throw fault();
      return args.node;
    },
    transformResult: async (args) => args.result,
  };
  return {
    store: {
      ...store,
      db: store.db.withPlugin(plugin),
      writeTransaction: (fn) => {
        if (!isDown) return store.writeTransaction(fn);
        refused++;
        return Promise.reject(fault());
      },
    },
    down(value) {
      isDown = value;
    },
    refusedWrites: () => refused,
  };
}

const alive = (pid: number) => processAlive(pid, null);

describe.each(await testDialects())("%s: engine under faults", (dialect) => {
  let ctx: TestStore;
  let repo: string;
  const engines: Engine[] = [];
  const leftovers: number[] = [];

  beforeEach(async () => {
    ctx = await openTestStore(dialect);
    repo = mkdtempSync(join(tmpdir(), "loopd-faults-"));
  });
  afterEach(async () => {
    await Promise.all(engines.splice(0).map((engine) => engine.stop(0)));
    for (const pid of leftovers.splice(0)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone, as it should be
      }
    }
    await ctx?.dispose();
    rmSync(repo, { recursive: true, force: true });
  });

  function engine(options: Partial<EngineOptions> & { store?: Store }, events: EngineEvent[] = []): Engine {
    const created = new Engine({
      store: ctx.store,
      harnesses,
      roles: { schedule: false, work: true },
      onEvent: (event) => events.push(event),
      ...options,
    });
    engines.push(created);
    return created;
  }

  async function queue(routineId: number, dueAt: number, maxAttempts = 3): Promise<number> {
    return (await insertRun(ctx.store.db, {
      routineId,
      dueAt,
      trigger: "schedule",
      status: "queued",
      maxAttempts,
      now: dueAt,
    }))!;
  }

  const runsOf = async (name: string) => {
    const routine = await findRoutineByName(ctx.store.db, name);
    return (await listRuns(ctx.store.db, { routineId: routine!.id, limit: 100 })).reverse();
  };

  it("fences a run whose lease it cannot renew: the process is dead before the lease ends", async () => {
    const routine = await addRoutine(
      ctx.store,
      {
        name: "fenced",
        command: 'if [ "$LOOPD_ATTEMPT" = 1 ]; then echo $$ > pid; sleep 30; fi; echo done',
        retries: 1,
      },
      { repo, nextDueAt: null, now: Date.now() },
    );
    const id = await queue(routine.id, Date.now());
    const faulty = faultyStore(ctx.store);
    const events: EngineEvent[] = [];
    // A 4 s lease: the fence (a quarter lease early) has a second of slack on a loaded machine,
    // and the assertion below, not the wait's timeout, says whether it came in time.
    const e = engine({ store: faulty.store, leaseMs: 4000 }, events);
    await e.pass();
    await vi.waitFor(() => expect(existsSync(join(repo, "pid"))).toBe(true));
    const pid = Number(readFileSync(join(repo, "pid"), "utf8"));
    faulty.down(true);
    const { lease_until: leaseUntil } = await ctx.store.db
      .selectFrom("runs")
      .select("lease_until")
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    await vi.waitFor(() => expect(alive(pid)).toBe(false), { timeout: 10_000, interval: 10 });
    // Dead before anyone could recover the run: the lease the store holds had not run out.
    expect(Date.now()).toBeLessThan(leaseUntil!);
    await e.idle();
    expect(events.find((event) => event.type === "store-down")).toBeDefined();
    expect(events.find((event) => event.type === "run-finished")).toMatchObject({ accepted: false });

    // The store comes back; after the lease expires the run is recovered and runs again.
    faulty.down(false);
    await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(leaseUntil! + 600), { timeout: 8000 });
    await e.pass();
    await e.idle();
    expect((await runsOf("fenced"))[0]).toMatchObject({ status: "succeeded", attempt: 2, summary: "done" });
  });

  it("keeps the lease and records the completion through a short outage: nothing runs twice", async () => {
    const routine = await addRoutine(
      ctx.store,
      { name: "outage", command: 'echo "$LOOPD_ATTEMPT" >> attempts; sleep 0.2; echo ok' },
      { repo, nextDueAt: null, now: Date.now() },
    );
    await queue(routine.id, Date.now());
    const faulty = faultyStore(ctx.store);
    const events: EngineEvent[] = [];
    const e = engine({ store: faulty.store, leaseMs: 1500 }, events);
    await e.pass();
    faulty.down(true); // the command finishes during the outage: its completion must wait
    // The completion (the only write here) was tried and refused at least once.
    await waitUntil(() => faulty.refusedWrites() > 0, "the run's completion refused by the outage");
    expect(e.health()).toMatchObject({
      store: "degraded",
      error: expect.stringContaining("did not answer: Connection terminated unexpectedly"),
      errorCode: "LOOPD_STORE_UNAVAILABLE",
    });
    faulty.down(false);
    await e.idle();
    expect((await runsOf("outage"))[0]).toMatchObject({ status: "succeeded", attempt: 1, summary: "ok" });
    expect(readFileSync(join(repo, "attempts"), "utf8")).toBe("1\n");
    expect(events.map((event) => event.type)).toEqual(
      expect.arrayContaining(["store-down", "store-up", "run-finished"]),
    );
    expect(e.health()).toMatchObject({ store: "ok", downSince: null });
  });

  it("a wake-up read that fails after a good pass is an outage (reported, retried soon), not a minute's sleep", async () => {
    // The routine is due, so the pass writes (materialises) and the timer is armed from a fresh
    // wake-up read; that read is the one the store fails (the server went away in between).
    await addRoutine(
      ctx.store,
      { name: "due", command: "true", every: "1h" },
      {
        repo,
        nextDueAt: Date.now() - 1000,
        now: Date.now(),
      },
    );
    let wakeupReads = 0;
    const failSecondRead: KyselyPlugin = {
      transformQuery(args) {
        // The wake-up read is raw SQL whose columns are a nested fragment: look through it all.
        if (args.node.kind === "RawNode" && JSON.stringify(args.node).includes("min(next_due_at)")) {
          wakeupReads++;
          if (wakeupReads === 2)
            throw Object.assign(new Error("Connection terminated unexpectedly"), { code: "ECONNRESET" });
        }
        return args.node;
      },
      transformResult: async (args) => args.result,
    };
    const events: EngineEvent[] = [];
    const e = engine(
      {
        store: { ...ctx.store, db: ctx.store.db.withPlugin(failSecondRead) },
        roles: { schedule: true, work: false },
      },
      events,
    );
    await e.start();
    await waitUntil(
      () => events.some((event) => event.type === "store-up"),
      "the store back after one retry",
      { state: () => ({ wakeupReads, events: events.map((event) => event.type) }) },
    );
    const types = events.map((event) => event.type);
    expect(types.indexOf("store-down")).toBeGreaterThanOrEqual(0);
    expect(types.indexOf("store-down")).toBeLessThan(types.indexOf("store-up"));
    expect(types).not.toContain("error");
    expect(wakeupReads).toBeGreaterThanOrEqual(3);
  });

  it.each([
    [
      "skip",
      (a: number) => `overlap skip: run ${a} (a catch-up run or retry) goes first`,
      ["succeeded", "skipped"],
    ],
    ["queue", () => null, ["succeeded", "succeeded"]],
  ] as const)(
    "overlap %s: a run recovered from a dead worker goes before the newer occurrence",
    async (overlap, reason, statuses) => {
      const clock = new FakeClock(T0);
      const routine = await addRoutine(
        ctx.store,
        { name: "place", command: 'echo "$LOOPD_RUN_ID $LOOPD_ATTEMPT" >> order', overlap, retries: 2 },
        { repo, nextDueAt: null, now: T0 },
      );
      const older = await queue(routine.id, T0);
      await claimRuns(ctx.store, { workerId: "gone-elsewhere", now: T0, limit: 1, leaseMs: 1000 });
      const newer = await queue(routine.id, T0 + 500);
      clock.advance(2000); // the lease expired; the newer occurrence is due too
      const e = engine({ clock, roles: { schedule: true, work: true } });
      for (let i = 0; i < 3; i++) {
        await e.pass();
        await e.idle();
      }
      const runs = await runsOf("place");
      expect(runs.map((run) => run.status)).toEqual(statuses);
      expect(runs[0]).toMatchObject({ id: older, attempt: 2 });
      if (overlap === "skip") expect(runs[1]!.reason).toBe(reason(older));
      const order = readFileSync(join(repo, "order"), "utf8");
      expect(order.startsWith(`${older} 2\n`)).toBe(true); // never closed as an overlap with itself
      if (overlap === "queue") expect(order).toBe(`${older} 2\n${newer} 1\n`);
    },
  );

  it("recovers a dead worker of this host at start, killing what it left running first", async () => {
    // A worker that died: its pid is gone. Its run's lease is still good for a minute.
    const ghost = spawn("sleep", ["60"]);
    const ghostPid = ghost.pid!;
    const ghostStart = processStart(ghostPid);
    ghost.kill("SIGKILL");
    await new Promise((resolve) => ghost.once("exit", resolve));
    const now = Date.now();
    await registerWorker(ctx.store.db, {
      id: "ghost-worker",
      host: "here",
      hostKey: hostKey(),
      pid: ghostPid,
      pidStart: ghostStart,
      labels: [],
      startedAt: now,
      seenAt: now,
    });
    const routine = await addRoutine(
      ctx.store,
      { name: "orphaned", command: 'echo "attempt $LOOPD_ATTEMPT"', retries: 1 },
      { repo, nextDueAt: null, now },
    );
    const id = await queue(routine.id, now);
    await claimRuns(ctx.store, { workerId: "ghost-worker", now, limit: 1, leaseMs: 60_000 });
    // What its attempt left: a process in a session of its own, carrying the worker's mark.
    const leftover = spawn("sleep", ["60"], {
      env: { ...process.env, LOOPD_WORKER: "ghost-worker" },
      detached: true,
      stdio: "ignore",
    });
    leftovers.push(leftover.pid!);

    const events: EngineEvent[] = [];
    const e = engine({}, events);
    await e.start();
    await vi.waitFor(async () => expect((await runsOf("orphaned"))[0]?.status).toBe("succeeded"), {
      timeout: 10_000,
    });
    expect(alive(leftover.pid!)).toBe(false);
    expect((await runsOf("orphaned"))[0]).toMatchObject({ id, attempt: 2, summary: "attempt 2" });
    expect(events.find((event) => event.type === "recovered")).toMatchObject({ requeued: [id] });
    expect((await listWorkers(ctx.store.db)).map((worker) => worker.id)).toEqual([e.workerId]);
  });
});
