/**
 * PostgreSQL restarted in the middle of a load, on a server of this file's own (the shared one
 * serves the other files running in parallel): `loopd serve` + two `loopd worker`s, routines
 * due every second (`catchUp: all`, so every occurrence is owed a run, none may be dropped),
 * and the server stopped and started twice — a clean `pg_ctl stop -m fast` and a crash
 * (`-m immediate`) — while runs are going. Then:
 *   - every process is still up; serve reported the outage once (store-down) and its end (store-up);
 *   - every LISTEN connection is back (pg_stat_activity), /healthz says ok and listening;
 *   - a routine applied from another process that only a worker can run (label gpu) is claimed
 *     by a worker within seconds of the apply, every timer idle at the 60 s backstop;
 *   - no run was lost or doubled: every occurrence of every routine from its first to its last
 *     has exactly one run, succeeded on attempt 1, and its command started and ended once.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, type Store } from "../src/store/store.js";
import { runCli } from "./helpers/cli.js";
import {
  type PrivatePostgres,
  privatePostgresSuiteEnabled,
  startPrivatePostgres,
} from "./helpers/private-postgres.js";
import { type LoopdProcess, spawnLoopd } from "./helpers/process.js";
import { waitFor, waitUntil } from "./helpers/wait.js";

const ROUTINES = 4;
/** Longer than an outage here (≈ 1–3 s): runs keep their leases through it and finish once. */
const LEASE_S = 15;
const SCHEMA = "loopd_restart";

describe.runIf(privatePostgresSuiteEnabled("the PostgreSQL restart test"))(
  "PostgreSQL restarted under load",
  () => {
    let server: PrivatePostgres;
    let store: Store;
    let cwd: string;
    let env: Record<string, string>;
    let log: string;
    let serve: LoopdProcess;
    const workers: LoopdProcess[] = [];

    beforeAll(async () => {
      server = await startPrivatePostgres();
      cwd = mkdtempSync(join(tmpdir(), "loopd-pg-restart-"));
      env = { LOOPD_DATABASE_URL: server.url, LOOPD_DATABASE_SCHEMA: SCHEMA, LOOPD_HOME: join(cwd, "home") };
      log = join(cwd, "commands.log");
      const routines = Array.from({ length: ROUTINES }, (_, i) => [
        `  - name: tick-${i}`,
        "    every: 1s",
        "    catchUp: all",
        "    maxCatchup: 100",
        "    overlap: allow",
        `    command: 'echo "start $LOOPD_RUN_ID $LOOPD_ATTEMPT" >> ${log}; sleep 0.3; echo "end $LOOPD_RUN_ID $LOOPD_ATTEMPT" >> ${log}'`,
      ]);
      writeFileSync(join(cwd, "loopd.yaml"), ["routines:", ...routines.flat(), ""].join("\n"));
      serve = spawnLoopd(
        ["serve", "--port", "0", "-f", "loopd.yaml", "--lease", String(LEASE_S), "--no-log-file"],
        { env, cwd },
      );
      await serve.waitFor((event) => event.type === "ready", 60_000);
      for (let i = 0; i < 2; i++)
        workers.push(
          spawnLoopd(["worker", "--lease", String(LEASE_S), "--labels", "gpu", "--no-log-file"], {
            env,
            cwd,
          }),
        );
      await Promise.all(workers.map((worker) => worker.waitFor((event) => event.type === "ready", 60_000)));
      store = await openStore({ kind: "postgres", url: server.url, schema: SCHEMA });
    }, 150_000);

    afterAll(async () => {
      await Promise.all([serve, ...workers].map((proc) => proc?.stop("SIGKILL")));
      await store?.close();
      server?.dispose();
      if (cwd) rmSync(cwd, { recursive: true, force: true });
    });

    it("reconnects, hears NOTIFY again and neither loses nor doubles a run", async () => {
      const processes = [serve, ...workers];
      const succeeded = () =>
        processes
          .flatMap((proc) => proc.events)
          .filter((e) => e.type === "run-finished" && e.outcome === "succeeded").length;
      await waitUntil(() => succeeded() >= 8, "runs succeeding before the restart", { timeoutMs: 20_000 });

      for (const mode of ["fast", "immediate"] as const) {
        const seen = processes.map((proc) => proc.events.length);
        server.stop(mode);
        // serve notices at once (it materialises every second); workers when they next touch the store.
        await waitFor(
          () => serve.events.slice(seen[0]).find((e) => e.type === "store-down"),
          `serve reports the store down (pg_ctl stop -m ${mode})`,
          { timeoutMs: 15_000, state: () => serve.events.slice(-3) },
        );
        server.start();
        await waitFor(
          () => serve.events.slice(seen[0]).find((e) => e.type === "store-up"),
          `serve reports the store back (after -m ${mode})`,
          { timeoutMs: 20_000, state: () => serve.events.slice(-3) },
        );
        // Work goes on after the restart.
        const before = succeeded();
        await waitUntil(() => succeeded() >= before + 4, `runs succeeding after -m ${mode}`, {
          timeoutMs: 20_000,
        });
      }
      for (const proc of processes) expect(proc.child.exitCode, proc.stderr()).toBeNull();

      // The LISTEN connections are back: one per process, seen by the server itself.
      const admin = new pg.Client({ connectionString: server.url });
      await admin.connect();
      try {
        await waitUntil(
          async () => {
            const { rows } = await admin.query(
              "select count(*)::int as n from pg_stat_activity where application_name like 'loopd-listen:%'",
            );
            return rows[0].n === processes.length;
          },
          "a LISTEN connection per process",
          { timeoutMs: 15_000, everyMs: 100 },
        );
      } finally {
        await admin.end();
      }
      const url = String(serve.events.find((e) => e.type === "ready")!.url);
      const health = (await (await fetch(`${url}/healthz`)).json()) as Record<string, unknown>;
      expect(health).toMatchObject({ ok: true, listening: true });

      // Quiet: the ticks paused, nothing open, every process idle — only a wake-up moves them now.
      const { db } = store;
      await db.updateTable("routines").set({ state: "paused" }).where("name", "like", "tick-%").execute();
      const open = async () =>
        Number(
          (
            await db
              .selectFrom("runs")
              .select((eb) => eb.fn.countAll<number>().as("n"))
              .where("status", "in", ["queued", "running"])
              .executeTakeFirstOrThrow()
          ).n,
        );
      await waitUntil(async () => (await open()) === 0, "every run finished", { timeoutMs: 20_000 });
      const quiet = processes.map((proc) => proc.events.length);
      await waitUntil(
        () =>
          processes.every(
            (proc, i) =>
              proc.events.slice(quiet[i]).some((e) => e.type === "idle") ||
              proc.events.at(-1)?.type === "idle",
          ),
        "every process idle",
      );

      // Applied from another process; only a worker can run it. serve must hear the apply
      // (LISTEN), materialise and NOTIFY; a worker must hear that (LISTEN) and claim.
      writeFileSync(
        join(cwd, "ping.yaml"),
        `routines:\n  - name: ping\n    at: "${new Date().toISOString()}"\n    requires: [gpu]\n    command: echo pong\n`,
      );
      const seen = workers.map((worker) => worker.events.length);
      expect((await runCli(["apply", "-f", "ping.yaml"], { env, cwd })).code).toBe(0);
      const started = await waitFor(
        () =>
          workers
            .flatMap((worker, i) => worker.events.slice(seen[i]))
            .find((e) => e.type === "run-started" && e.routine === "ping"),
        "ping claimed by a worker",
        { timeoutMs: 10_000, everyMs: 5 },
      );
      const ping = await db
        .selectFrom("runs")
        .innerJoin("routines", "routines.id", "runs.routine_id")
        .select(["runs.started_at", "routines.created_at"])
        .where("runs.id", "=", Number(started.runId))
        .executeTakeFirstOrThrow();
      const pickedUpMs = ping.started_at! - ping.created_at;
      expect(pickedUpMs).toBeLessThan(3000);

      // Nothing lost, nothing doubled.
      const runs = await db
        .selectFrom("runs")
        .innerJoin("routines", "routines.id", "runs.routine_id")
        .select(["runs.id", "runs.status", "runs.attempt", "runs.due_at", "runs.reason", "routines.name"])
        .where("routines.name", "like", "tick-%")
        .orderBy("runs.due_at")
        .execute();
      const lines = readFileSync(log, "utf8").trim().split("\n");
      const count = (what: string, id: number) => lines.filter((line) => line === `${what} ${id} 1`).length;
      expect(lines.filter((line) => !line.endsWith(" 1"))).toEqual([]); // no second attempt anywhere
      let occurrences = 0;
      let pausedSkips = 0;
      for (let i = 0; i < ROUTINES; i++) {
        const mine = runs.filter((run) => run.name === `tick-${i}`);
        const dues = mine.map((run) => run.due_at!);
        // One run per occurrence, every second from the first to the last: none missing, none twice.
        expect(
          dues.slice(1).map((due, k) => due - dues[k]!),
          `tick-${i}'s occurrences`,
        ).toEqual(dues.slice(1).map(() => 1000));
        // Queued when the routines were paused above, never started: the pause's doing, not a loss.
        const pausedAt = mine.findIndex((run) => run.status === "skipped");
        const ran = pausedAt === -1 ? mine : mine.slice(0, pausedAt);
        expect(
          mine
            .slice(ran.length)
            .map((run) => ({ status: run.status, reason: run.reason, attempt: run.attempt })),
        ).toEqual(
          mine.slice(ran.length).map(() => ({ status: "skipped", reason: "routine paused", attempt: 0 })),
        );
        for (const run of ran) {
          expect({ run: run.id, status: run.status, attempt: run.attempt }).toEqual({
            run: run.id,
            status: "succeeded",
            attempt: 1,
          });
          expect({ run: run.id, starts: count("start", run.id), ends: count("end", run.id) }).toEqual({
            run: run.id,
            starts: 1,
            ends: 1,
          });
        }
        occurrences += ran.length;
        pausedSkips += mine.length - ran.length;
      }
      const downFor = serve.events.filter((e) => e.type === "store-up").map((e) => Number(e.downForMs));
      console.log(
        `postgres-restart: 2 restarts (fast, immediate) under load; serve saw the store down for ${downFor.join(" and ")} ms; ` +
          `${occurrences} occurrences of ${ROUTINES} routines, each exactly one run succeeded on attempt 1 ` +
          `(${pausedSkips} queued at the pause skipped); ` +
          `applied from another process → claimed by a worker in ${pickedUpMs} ms`,
      );
    }, 120_000);
  },
);
