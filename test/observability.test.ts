/**
 * What an operator reads (#22): `loopd serve --json` writes one pino record per line (level,
 * time, msg, the run's and routine's ids) to stdout and to its rotating log file; `loopd
 * status` summarises the daemon the same way through the store and through LOOPD_URL alone,
 * and is a coded error with neither; `loopd worker --metrics-port` exposes the worker's own
 * counters.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json, runCli } from "./helpers/cli.js";
import { type LoopdProcess, spawnLoopd } from "./helpers/process.js";
import { openTestStore, postgresSuiteEnabled, type TestStore } from "./helpers/stores.js";

interface StatusJson {
  version: string;
  store: { kind: string; location: string; schemaVersion: number; latestSchemaVersion: number };
  daemon: { url: string | null; pid: number } | null;
  workers: Array<{ id: string; pid: number }>;
  runs: { queued: number; running: number };
  next: { routine: string; dueAt: string } | null;
  failing: Array<{ routine: string; consecutiveFailures: number; lastError: { code: string | null } | null }>;
  paused: Array<{ routine: string; code: string | null }>;
  spendToday: { day: string; costUsd: number };
}

const CONFIG = [
  "routines:",
  "  - name: ok",
  "    command: echo fine",
  "  - name: bad",
  "    command: exit 3",
  "  - name: later",
  "    command: echo later",
  "    every: 1h",
  "  - name: held",
  "    command: echo held",
  "",
].join("\n");

describe("loopd serve --json and loopd status", () => {
  let cwd: string;
  let home: string;
  let env: Record<string, string>;
  let serve: LoopdProcess;
  let url: string;
  const loopd = (...args: string[]) => runCli(args, { env, cwd });

  beforeAll(async () => {
    cwd = mkdtempSync(join(tmpdir(), "loopd-observe-"));
    home = join(cwd, "home");
    env = { LOOPD_HOME: home };
    writeFileSync(join(cwd, "loopd.yaml"), CONFIG);
    serve = spawnLoopd(["serve", "--port", "0", "-f", "loopd.yaml", "--grace", "1"], { env, cwd });
    url = String((await serve.waitFor((event) => event.type === "ready", 30_000)).url);
  }, 60_000);
  afterAll(async () => {
    await serve?.stop("SIGKILL");
    rmSync(cwd, { recursive: true, force: true });
  });

  it("writes every line as a JSON record with level, time and msg, runs with their ids", async () => {
    expect((await loopd("run", "ok", "--wait")).code).toBe(0);
    expect((await loopd("run", "bad", "--wait")).code).toBe(1);
    const finished = await serve.waitFor(
      (event) => event.type === "run-finished" && event.routine === "bad",
      20_000,
    );
    // The helper keeps a line that is not JSON as { type: "text" }: there must be none.
    expect(serve.events.filter((event) => event.type === "text")).toEqual([]);
    for (const event of serve.events) {
      expect(["debug", "info", "warn", "error"]).toContain(event.level);
      expect(Number.isNaN(Date.parse(String(event.time)))).toBe(false);
      expect(typeof event.msg).toBe("string");
      expect(event).toMatchObject({ mode: "serve", pid: serve.child.pid });
    }
    const ok = serve.events.find((event) => event.type === "run-finished" && event.routine === "ok")!;
    const started = serve.events.find((event) => event.type === "run-started" && event.runId === ok.runId)!;
    expect(started).toMatchObject({ level: "info", routine: "ok", attempt: 1 });
    expect(started.routineId).toEqual(ok.routineId);
    expect(started.msg).toBe(`▶ ok #${ok.runId} started`);
    expect(ok).toMatchObject({ level: "info", outcome: "succeeded", accepted: true });
    expect(String(ok.msg)).toMatch(new RegExp(`^✓ ok #${ok.runId} succeeded in `));
    expect(finished).toMatchObject({ level: "warn", outcome: "failed" });
    expect(typeof finished.routineId).toBe("number");

    // The rotating log file gets the same records, one per line.
    const logged = readFileSync(join(home, "logs", "serve.log"), "utf8")
      .trim()
      .split("\n");
    const records = logged.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.find((record) => record.type === "run-finished" && record.runId === ok.runId)).toEqual(ok);
  });

  it("status through LOOPD_URL alone: the daemon's view of its store", async () => {
    expect((await loopd("pause", "held", "--reason", "on hold")).code).toBe(0);
    const token = readFileSync(join(home, "api-token"), "utf8").trim();
    const empty = mkdtempSync(join(tmpdir(), "loopd-observe-remote-"));
    try {
      const remote = await runCli(["--json", "status"], {
        env: { LOOPD_HOME: empty, LOOPD_URL: url, LOOPD_TOKEN: token },
        cwd: empty,
      });
      const view = json<StatusJson>(remote);
      expect(view.store).toMatchObject({ kind: "sqlite", location: join(home, "loopd.db") });
      expect(view.store.schemaVersion).toBe(view.store.latestSchemaVersion);
      expect(view.daemon).toMatchObject({ url, pid: serve.child.pid });
      expect(view.workers.map((worker) => worker.pid)).toEqual([serve.child.pid]);
      expect(view.next?.routine).toBe("later");
      expect(view.failing).toEqual([expect.objectContaining({ routine: "bad", consecutiveFailures: 1 })]);
      expect(view.paused).toEqual([expect.objectContaining({ routine: "held" })]);
      expect(view.spendToday).toEqual({ day: new Date().toISOString().slice(0, 10), costUsd: 0 });
      const human = await runCli(["status"], {
        env: { LOOPD_HOME: empty, LOOPD_URL: url, LOOPD_TOKEN: token },
        cwd: empty,
      });
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(/^store: {4}sqlite /m);
      expect(human.stdout).toMatch(/^next due: later in /m);
      expect(human.stdout).toContain("✗ bad 1 in a row");
      expect(human.stdout).toContain("‖ held");
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it("status from the store once the daemon is gone, and a coded error with no store", async () => {
    const stopped = serve.stop("SIGTERM");
    expect(await stopped).toBe(0);
    expect(serve.events.at(-1)).toMatchObject({ type: "stopped", level: "info", msg: "stopped" });
    const view = json<StatusJson>(await loopd("--json", "status"));
    expect(view.daemon).toBeNull();
    expect(view.workers).toEqual([]);
    expect(view.failing.map((entry) => entry.routine)).toEqual(["bad"]);
    expect(view.store.location).toBe(join(home, "loopd.db"));

    const nowhere = join(cwd, "nowhere");
    mkdirSync(nowhere);
    const missing = await runCli(["status"], { env: { LOOPD_HOME: nowhere }, cwd });
    expect(missing.code).toBe(10);
    expect(missing.stderr).toContain("error[LOOPD_STORE_UNAVAILABLE]");
    expect(missing.stderr).toContain(`no daemon and no store at ${join(nowhere, "loopd.db")}`);
    const unreachable = await runCli(["status"], {
      env: { LOOPD_HOME: nowhere, LOOPD_URL: "http://127.0.0.1:9", LOOPD_TOKEN: "x" },
      cwd,
    });
    expect(unreachable.stderr).toContain("error[LOOPD_DAEMON_UNREACHABLE]");
  });
});

describe.runIf(await postgresSuiteEnabled("the worker metrics test"))("loopd worker --metrics-port", () => {
  let target: TestStore;
  let cwd: string;
  let worker: LoopdProcess | undefined;

  beforeAll(async () => {
    target = await openTestStore("postgres");
    cwd = mkdtempSync(join(tmpdir(), "loopd-worker-metrics-"));
  });
  afterAll(async () => {
    await worker?.stop();
    await target?.dispose();
    rmSync(cwd, { recursive: true, force: true });
  });

  it("serves the worker's run counters, durations and JSON log lines", async () => {
    const env = { ...target.env, LOOPD_HOME: join(cwd, "home") };
    writeFileSync(join(cwd, "loopd.yaml"), "routines:\n  - name: ping\n    command: echo pong\n");
    expect((await runCli(["apply"], { env, cwd })).code).toBe(0);
    worker = spawnLoopd(["worker", "--metrics-port", "0"], { env, cwd });
    const ready = await worker.waitFor((event) => event.type === "ready", 30_000);
    expect(ready).toMatchObject({ level: "info", mode: "worker" });
    const metricsUrl = String(ready.metricsUrl);
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);

    expect((await runCli(["run", "ping", "--wait"], { env, cwd })).code).toBe(0);
    const finished = await worker.waitFor((event) => event.type === "run-finished");
    expect(finished).toMatchObject({ level: "info", routine: "ping", outcome: "succeeded" });
    const response = await fetch(metricsUrl);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/plain");
    const text = await response.text();
    expect(text).toMatch(/^loopd_runs_finished_total\{outcome="succeeded",harness="shell"\} 1$/m);
    expect(text).toMatch(/^loopd_run_duration_seconds_count\{harness="shell"\} 1$/m);
    expect(text).toContain("# TYPE loopd_leases_recovered_total counter");
    expect((await fetch(metricsUrl.replace(/\/metrics$/, "/other"))).status).toBe(404);
  });
});
