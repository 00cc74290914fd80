/**
 * The engine against both stores, with a fake clock for time and real processes for work:
 * catch-up after sleep, clock going backwards, overlap policies, retries with backoff,
 * timeouts that kill the process tree, lease recovery and fenced completion.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { addRoutine, FakeClock } from "../../test/helpers/routines.js";
import { openTestStore, type TestStore, testDialects } from "../../test/helpers/stores.js";
import { waitUntil } from "../../test/helpers/wait.js";
import { RETRY_BASE_MS } from "../domain/backoff.js";
import { shellHarness } from "../harness/shell.js";
import { findRoutineByName } from "../store/routines.js";
import { listRunEvents } from "../store/run-events.js";
import { insertRun, listRuns } from "../store/runs.js";
import { CONFIG_SETTING, putSetting } from "../store/settings.js";
import { claimRuns } from "../store/sql/claim-runs.js";
import { completeRun } from "../store/sql/complete-run.js";
import { recoverExpiredLeases } from "../store/sql/recover-expired-leases.js";
import { DEFAULT_BACKSTOP_MS, Engine, type EngineOptions } from "./engine.js";

const T0 = Date.parse("2026-11-28T08:00:00Z");
const HOUR = 3_600_000;
const harnesses = new Map([["shell", shellHarness]]);

describe.each(await testDialects())("%s: engine", (dialect) => {
  let ctx: TestStore;
  let repo: string;
  let clock: FakeClock;
  const engines: Engine[] = [];

  // A fresh store and repo folder per test: runs left by one test must not feed the next.
  beforeEach(async () => {
    ctx = await openTestStore(dialect);
    repo = mkdtempSync(join(tmpdir(), "loopd-engine-"));
  });
  afterEach(async () => {
    await Promise.all(engines.splice(0).map((engine) => engine.stop(0)));
    await ctx?.dispose();
    rmSync(repo, { recursive: true, force: true });
  });

  function engine(options: Partial<EngineOptions> = {}): Engine {
    const created = new Engine({
      store: ctx.store,
      harnesses,
      roles: { schedule: true, work: true },
      clock,
      ...options,
    });
    engines.push(created);
    return created;
  }

  const runsOf = async (name: string) => {
    const routine = await findRoutineByName(ctx.store.db, name);
    return (await listRuns(ctx.store.db, { routineId: routine!.id, limit: 1000 })).reverse();
  };

  it("runs a due shell routine with its run context in the environment", async () => {
    clock = new FakeClock(T0);
    await addRoutine(
      ctx.store,
      {
        name: "ctx",
        command: 'echo "$LOOPD_ROUTINE $LOOPD_RUN_ID $LOOPD_ATTEMPT $LOOPD_DUE_AT" >> ctx.log; echo done',
      },
      { repo, nextDueAt: T0, now: T0 },
    );
    const e = engine();
    await e.pass();
    await e.idle();
    const [run] = await runsOf("ctx");
    expect(run).toMatchObject({
      status: "succeeded",
      attempt: 1,
      exitCode: 0,
      summary: "done",
      trigger: "schedule",
    });
    expect(readFileSync(join(repo, "ctx.log"), "utf8")).toBe(`ctx ${run!.id} 1 2026-11-28T08:00:00.000Z\n`);
    const events = await listRunEvents(ctx.store.db, run!.id);
    expect(events.filter((event) => event.type === "log").map((event) => event.data)).toEqual(["done"]);
    expect(await findRoutineByName(ctx.store.db, "ctx")).toMatchObject({
      nextDueAt: null,
      lastOutcome: "succeeded",
      consecutiveFailures: 0,
      lastSuccessAt: T0,
    });
  });

  it.each([
    ["latest", { catchUp: "latest" }, 1],
    ["all (bounded by maxCatchup)", { catchUp: "all", maxCatchup: 3 }, 3],
    ["none", { catchUp: "none" }, 0],
  ])(
    "after 8 h of sleep, catch-up %s starts the right number of runs and records the skipped ones",
    async (label, policy, expected) => {
      clock = new FakeClock(T0);
      const name = `sleep-${label.split(" ")[0]}`;
      await addRoutine(
        ctx.store,
        { name, command: "true", every: "30m", ...policy },
        { repo, nextDueAt: T0 + 1000, now: T0 },
      );
      clock.advance(8 * HOUR);
      await engine({ roles: { schedule: true, work: false } }).pass();

      // The next occurrence, 1 s away, is materialised ahead (materialise-ahead.test.ts): not
      // one of the sixteen this test accounts for.
      const runs = (await runsOf(name)).filter((run) => run.dueAt <= clock.now());
      const queued = runs.filter((run) => run.status === "queued");
      const skipped = runs.filter((run) => run.status === "skipped");
      expect(queued).toHaveLength(expected);
      expect(queued.every((run) => run.trigger === "catch-up")).toBe(true);
      expect(queued.length + skipped.length).toBe(16); // every occurrence is accounted for
      expect(skipped.every((run) => run.reason?.startsWith(`catch-up ${policy.catchUp}`))).toBe(true);
      if (expected > 0) expect(queued.at(-1)!.dueAt).toBe(T0 + 1000 + 15 * 30 * 60_000); // the newest
      const routine = await findRoutineByName(ctx.store.db, name);
      expect(routine!.nextDueAt).toBe(T0 + 1000 + 16 * 30 * 60_000);
    },
  );

  it("does not schedule twice when the clock goes backwards", async () => {
    clock = new FakeClock(T0);
    await addRoutine(
      ctx.store,
      { name: "backwards", command: "true", every: "10m" },
      { repo, nextDueAt: T0, now: T0 },
    );
    const e = engine({ roles: { schedule: true, work: false } });
    await e.pass();
    clock.advance(-HOUR);
    await e.pass();
    clock.advance(HOUR);
    await e.pass();
    expect((await runsOf("backwards")).map((run) => run.dueAt)).toEqual([T0]);
  });

  it("overlap skip: a run due while the previous one runs is skipped", async () => {
    clock = new FakeClock(T0);
    const routine = await addRoutine(
      ctx.store,
      { name: "ov-skip", command: "sleep 0.5", overlap: "skip" },
      { repo, nextDueAt: null, now: T0 },
    );
    await queue(routine.id, T0);
    await queue(routine.id, T0 + 1);
    clock.advance(1000);
    const e = engine();
    await e.pass();
    await e.idle();
    const runs = await runsOf("ov-skip");
    expect(runs.map((run) => run.status)).toEqual(["succeeded", "skipped"]);
    expect(runs[1]!.reason).toBe(`overlap skip: run ${runs[0]!.id} still running`);
  });

  it("overlap queue: the next run waits for the previous one, then runs", async () => {
    clock = new FakeClock(T0);
    const routine = await addRoutine(
      ctx.store,
      {
        name: "ov-queue",
        command: 'echo "start $LOOPD_RUN_ID" >> queue.log; sleep 0.3; echo "end $LOOPD_RUN_ID" >> queue.log',
        overlap: "queue",
      },
      { repo, nextDueAt: null, now: T0 },
    );
    const first = await queue(routine.id, T0);
    const second = await queue(routine.id, T0 + 1);
    clock.advance(1000);
    const e = engine();
    await e.pass();
    expect((await runsOf("ov-queue")).map((run) => run.status)).toEqual(["running", "queued"]);
    await e.idle(); // the first finishing makes the second claimable
    await e.pass();
    await e.idle();
    expect((await runsOf("ov-queue")).map((run) => run.status)).toEqual(["succeeded", "succeeded"]);
    expect(readFileSync(join(repo, "queue.log"), "utf8")).toBe(
      `start ${first}\nend ${first}\nstart ${second}\nend ${second}\n`,
    );
  });

  it("overlap cancel-previous: a new run stops the one still going", async () => {
    clock = new FakeClock(T0);
    const routine = await addRoutine(
      ctx.store,
      { name: "ov-cancel", command: "sleep 30", overlap: "cancel-previous" },
      { repo, nextDueAt: null, now: T0 },
    );
    await queue(routine.id, T0);
    const e = engine();
    await e.pass();
    await queue(routine.id, T0 + 1);
    clock.advance(1000);
    await e.pass();
    const runs = await runsOf("ov-cancel");
    expect(runs.map((run) => run.status)).toEqual(["canceled", "running"]);
    expect(runs[0]!.reason).toBe(`overlap cancel-previous: superseded by run ${runs[1]!.id}`);
    await e.stop(0); // the second one is released, not failed
    expect((await runsOf("ov-cancel"))[1]).toMatchObject({ status: "queued", attempt: 0 });
  });

  it("retries a failed run with exponential backoff, then records the failure", async () => {
    clock = new FakeClock(T0);
    const routine = await addRoutine(
      ctx.store,
      { name: "retry", command: "echo oops >&2; exit 3", retries: 2 },
      { repo, nextDueAt: null, now: T0 },
    );
    const id = await queue(routine.id, T0);
    const e = engine();
    const notBefore: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      await e.pass();
      await e.idle();
      const [run] = await runsOf("retry");
      expect(run!.attempt).toBe(attempt);
      if (attempt < 3) {
        expect(run).toMatchObject({ status: "queued", reason: `retry ${attempt + 1}/3 after failed` });
        notBefore.push(run!.notBefore - clock.now());
        await e.pass(); // too early: nothing happens
        expect((await runsOf("retry"))[0]!.status).toBe("queued");
        clock.time = run!.notBefore;
      }
    }
    const [run] = await runsOf("retry");
    expect(run).toMatchObject({ id, status: "failed", exitCode: 3, errorCode: "LOOPD_RUN_FAILED" });
    expect(run!.errorMessage).toBe("command exited with 3: oops");
    // Equal jitter: attempt n waits between base·2^(n-1)/2 and base·2^(n-1).
    expect(notBefore[0]).toBeGreaterThanOrEqual(RETRY_BASE_MS / 2);
    expect(notBefore[0]).toBeLessThanOrEqual(RETRY_BASE_MS);
    expect(notBefore[1]).toBeGreaterThanOrEqual(RETRY_BASE_MS);
    expect(notBefore[1]).toBeLessThanOrEqual(2 * RETRY_BASE_MS);
    expect(await findRoutineByName(ctx.store.db, "retry")).toMatchObject({
      lastOutcome: "failed",
      // One failed run (its three attempts are one run to the failure circuit breaker).
      consecutiveFailures: 1,
      lastErrorCode: "LOOPD_RUN_FAILED",
    });
  });

  it("a timeout kills the whole process tree", async () => {
    clock = new FakeClock(T0);
    const routine = await addRoutine(
      ctx.store,
      { name: "slow", command: "sleep 60 & echo $! > child.pid; wait", timeout: "1s" },
      { repo, nextDueAt: null, now: T0 },
    );
    await queue(routine.id, T0);
    const e = engine();
    await e.pass();
    await e.idle();
    const [run] = await runsOf("slow");
    expect(run).toMatchObject({ status: "timed_out", errorCode: "LOOPD_RUN_TIMEOUT" });
    const child = Number(readFileSync(join(repo, "child.pid"), "utf8"));
    await expect.poll(() => isAlive(child), { timeout: 5000 }).toBe(false);
  });

  it("recovers a run whose worker stopped heartbeating and rejects the stale completion", async () => {
    clock = new FakeClock(T0);
    const routine = await addRoutine(
      ctx.store,
      { name: "lease", command: "true", retries: 1 },
      { repo, nextDueAt: null, now: T0 },
    );
    const id = await queue(routine.id, T0);
    const a = await claimRuns(ctx.store, { workerId: "a", now: T0, limit: 10, leaseMs: 1000 });
    expect(a.claimed.map((run) => [run.id, run.attempt])).toEqual([[id, 1]]);

    expect(await recoverExpiredLeases(ctx.store, T0 + 500)).toEqual({ requeued: [], failed: [] });
    expect(await recoverExpiredLeases(ctx.store, T0 + 1001)).toEqual({ requeued: [id], failed: [] });
    const b = await claimRuns(ctx.store, { workerId: "b", now: T0 + 1002, limit: 10, leaseMs: 1000 });
    expect(b.claimed.map((run) => [run.id, run.attempt])).toEqual([[id, 2]]);

    const stale = {
      runId: id,
      attempt: 1,
      workerId: "a",
      now: T0 + 1003,
      exitCode: 0,
      summary: "late",
      error: null,
    };
    expect(await completeRun(ctx.store, { ...stale, outcome: "succeeded" })).toEqual({ accepted: false });
    expect(
      await completeRun(ctx.store, {
        ...stale,
        attempt: 2,
        workerId: "b",
        summary: "fresh",
        outcome: "succeeded",
      }),
    ).toEqual({ accepted: true, final: true, releasedRuns: 0 });
    expect((await runsOf("lease"))[0]).toMatchObject({ status: "succeeded", attempt: 2, summary: "fresh" });

    // With its attempts spent, an expired lease fails the run.
    const id2 = await queue(routine.id, T0 + 5);
    await claimRuns(ctx.store, { workerId: "a", now: T0 + 10, limit: 10, leaseMs: 1000 });
    await recoverExpiredLeases(ctx.store, T0 + 1011);
    await claimRuns(ctx.store, { workerId: "a", now: T0 + 1012, limit: 10, leaseMs: 1000 });
    expect(await recoverExpiredLeases(ctx.store, T0 + 2013)).toEqual({ requeued: [], failed: [id2] });
    expect((await runsOf("lease"))[1]).toMatchObject({ status: "failed", errorCode: "LOOPD_LEASE_EXPIRED" });
  });

  it("skips queued scheduled runs of a paused routine but runs manual ones", async () => {
    clock = new FakeClock(T0);
    const routine = await addRoutine(
      ctx.store,
      { name: "paused", command: "true" },
      { repo, nextDueAt: null, now: T0, paused: true },
    );
    await queue(routine.id, T0);
    await insertRun(ctx.store.db, {
      routineId: routine.id,
      dueAt: T0 + 1,
      trigger: "manual",
      status: "queued",
      maxAttempts: 1,
      now: T0,
    });
    clock.advance(1000);
    const e = engine();
    await e.pass();
    await e.idle();
    expect((await runsOf("paused")).map((run) => [run.trigger, run.status])).toEqual([
      ["schedule", "skipped"],
      ["manual", "succeeded"],
    ]);
  });

  it("stops after `until: { runs }`", async () => {
    clock = new FakeClock(T0);
    await addRoutine(
      ctx.store,
      { name: "twice", command: "true", every: "1m", until: { runs: 2 } },
      { repo, nextDueAt: T0, now: T0 },
    );
    const e = engine({ roles: { schedule: true, work: false } });
    for (let minute = 0; minute < 4; minute++) {
      await e.pass();
      clock.advance(60_000);
    }
    expect((await runsOf("twice")).map((run) => run.dueAt)).toEqual([T0, T0 + 60_000]);
    expect((await findRoutineByName(ctx.store.db, "twice"))!.nextDueAt).toBeNull();
  });

  it("caps running runs per repo and across workers with `limits`", async () => {
    clock = new FakeClock(T0);
    const other = mkdtempSync(join(tmpdir(), "loopd-engine-other-"));
    const a = await addRoutine(
      ctx.store,
      { name: "cap-a", command: "sleep 0.3" },
      { repo, nextDueAt: null, now: T0 },
    );
    const b = await addRoutine(
      ctx.store,
      { name: "cap-b", command: "sleep 0.3" },
      { repo, nextDueAt: null, now: T0 },
    );
    const c = await addRoutine(
      ctx.store,
      { name: "cap-c", command: "sleep 0.3" },
      { repo: other, nextDueAt: null, now: T0 },
    );
    await putSetting(ctx.store.db, CONFIG_SETTING, { limits: { perRepo: 1 } }, T0);
    for (const routine of [a, b, c]) await queue(routine.id, T0);
    clock.advance(1000);
    const e = engine();
    await e.pass();
    const status = async () =>
      Object.fromEntries(
        await Promise.all(
          ["cap-a", "cap-b", "cap-c"].map(async (name) => [name, (await runsOf(name))[0]!.status]),
        ),
      );
    expect(await status()).toEqual({ "cap-a": "running", "cap-b": "queued", "cap-c": "running" });
    expect((await runsOf("cap-b"))[0]!.reason).toBe(`concurrency: 1 run(s) already in ${repo}`);
    await e.idle();
    await e.pass();
    await e.idle();
    expect(await status()).toEqual({ "cap-a": "succeeded", "cap-b": "succeeded", "cap-c": "succeeded" });

    await putSetting(ctx.store.db, CONFIG_SETTING, { limits: { concurrency: 1 } }, T0);
    for (const routine of [a, c]) await queue(routine.id, T0 + 5);
    clock.advance(1000);
    await e.pass();
    expect(e.activeRunIds()).toHaveLength(1);
    rmSync(other, { recursive: true, force: true });
  });

  it("a timer that fires hours late (sleep) applies catch-up", async () => {
    clock = new FakeClock(T0);
    await addRoutine(
      ctx.store,
      { name: "asleep", command: "true", every: "30m" },
      { repo, nextDueAt: T0 + 1000, now: T0 },
    );
    const lateBy: number[] = [];
    let idle = 0;
    const e = engine({
      roles: { schedule: true, work: false },
      backstopMs: 100,
      onEvent: (event) => {
        if (event.type === "woke-late") lateBy.push(event.lateByMs);
        if (event.type === "idle") idle++;
      },
    });
    await e.start();
    await waitUntil(() => idle > 0, "the first pass armed its timer");
    clock.advance(8 * HOUR); // the machine sleeps while the timer is pending
    await expect.poll(() => lateBy.length, { timeout: 5000 }).toBeGreaterThan(0);
    expect(lateBy[0]).toBeGreaterThan(7 * HOUR);
    await expect
      .poll(
        async () =>
          // Due by now: the next occurrence, 1 s away, is materialised ahead on top.
          (await runsOf("asleep")).filter((run) => run.status === "queued" && run.dueAt <= clock.now())
            .length,
      )
      .toBe(1);
    expect((await runsOf("asleep")).filter((run) => run.status === "skipped")).toHaveLength(15);
  });

  it("leaves runs that require labels it lacks to other workers, without spinning", async () => {
    const counted = await openTestStore(dialect);
    try {
      const now = Date.now();
      const routine = await addRoutine(
        counted.store,
        { name: "gpu-job", command: "true", requires: ["gpu"] },
        { repo, nextDueAt: null, now },
      );
      await insertRun(counted.store.db, {
        routineId: routine.id,
        dueAt: now,
        trigger: "manual",
        status: "queued",
        maxAttempts: 1,
        now,
      });
      const sleeps: number[] = [];
      const plain = new Engine({
        store: counted.store,
        harnesses,
        roles: { schedule: true, work: true },
        onEvent: (event) => {
          if (event.type === "idle") sleeps.push(event.inMs);
        },
      });
      engines.push(plain);
      await plain.start();
      await waitUntil(() => sleeps.length > 0, "the first pass went idle");
      // No busy loop over the run it cannot take: it sleeps until the backstop, not the run's start.
      expect(sleeps).toEqual([DEFAULT_BACKSTOP_MS]);
      expect((await listRuns(counted.store.db, {}))[0]!.status).toBe("queued");

      const gpu = new Engine({
        store: counted.store,
        harnesses,
        roles: { schedule: false, work: true },
        labels: ["gpu"],
      });
      engines.push(gpu);
      await gpu.pass();
      await gpu.idle();
      expect((await listRuns(counted.store.db, {}))[0]!.status).toBe("succeeded");
    } finally {
      await Promise.all(engines.splice(0).map((engine) => engine.stop(0)));
      await counted.dispose();
    }
  });

  it("an idle engine issues no queries between due times", async () => {
    let queries = 0;
    const counted = await openTestStore(dialect, { onQuery: () => queries++ });
    try {
      const now = Date.now();
      await addRoutine(
        counted.store,
        { name: "later", command: "true", every: "1h" },
        { repo, nextDueAt: now + HOUR, now },
      );
      const sleeps: number[] = [];
      const e = new Engine({
        store: counted.store,
        harnesses,
        roles: { schedule: true, work: true },
        onEvent: (event) => {
          if (event.type === "idle") sleeps.push(event.inMs);
        },
      });
      engines.push(e);
      await e.start();
      await waitUntil(() => sleeps.length > 0, "the first pass went idle");
      expect(queries).toBeGreaterThan(0); // it did look
      // One pass, then a sleep to the backstop (the due time is an hour away): no polling.
      expect(sleeps).toEqual([DEFAULT_BACKSTOP_MS]);
    } finally {
      await Promise.all(engines.splice(0).map((engine) => engine.stop(0)));
      await counted.dispose();
    }
  });

  async function queue(routineId: number, dueAt: number): Promise<number> {
    const id = await insertRun(ctx.store.db, {
      routineId,
      dueAt,
      trigger: "schedule",
      status: "queued",
      maxAttempts: 3,
      now: dueAt,
    });
    // Use the routine's retries for attempts, as materialise would.
    const spec = (
      await ctx.store.db
        .selectFrom("routines")
        .select("spec")
        .where("id", "=", routineId)
        .executeTakeFirstOrThrow()
    ).spec;
    await ctx.store.db
      .updateTable("runs")
      .set({ max_attempts: (JSON.parse(spec) as { retries: number }).retries + 1 })
      .where("id", "=", id!)
      .execute();
    return id!;
  }
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");
  } catch {
    return false;
  }
}
