/**
 * `loopd serve` and `loopd worker` as real processes: health, scheduling, run-now from
 * another process, config hot-reload, clean shutdown, and cross-process wake-ups.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json, runCli } from "./helpers/cli.js";
import { type LoopdProcess, spawnLoopd } from "./helpers/process.js";
import { openTestStore, postgresSuiteEnabled, type TestStore } from "./helpers/stores.js";

describe("loopd serve on SQLite", () => {
  let cwd: string;
  let env: Record<string, string>;
  let daemon: LoopdProcess;
  let url: string;

  beforeAll(async () => {
    cwd = mkdtempSync(join(tmpdir(), "loopd-serve-"));
    env = { LOOPD_HOME: join(cwd, "home") };
    writeFileSync(
      join(cwd, "loopd.yaml"),
      [
        "routines:",
        "  - name: beat",
        '    command: echo "beat $LOOPD_RUN_ID" >> beats.log',
        "    every: 1s",
        "  - name: hello",
        '    command: echo "hello $LOOPD_INPUT from $LOOPD_ROUTINE"',
        "",
      ].join("\n"),
    );
    daemon = spawnLoopd(["serve", "--port", "0", "-f", "loopd.yaml"], { env, cwd });
    url = String((await daemon.waitFor((event) => event.type === "ready")).url);
  });
  afterAll(async () => {
    await daemon?.stop();
    rmSync(cwd, { recursive: true, force: true });
  });

  it("answers /healthz and schedules routines", async () => {
    const health = (await (await fetch(`${url}/healthz`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ ok: true, store: join(cwd, "home", "loopd.db") });
    await daemon.waitFor(
      (event) => event.type === "run-finished" && event.routine === "beat" && event.outcome === "succeeded",
    );
    expect(readFileSync(join(cwd, "beats.log"), "utf8")).toMatch(/^beat \d+\n/);
  });

  it("runs `loopd run --wait` from another process on the daemon", async () => {
    const result = await runCli(["run", "hello", "--wait", "--text", "world"], { env, cwd });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("hello world from hello");
    const runId = Number(/#(\d+) succeeded/.exec(result.stdout)![1]);
    // The daemon, not the CLI process, executed it.
    await daemon.waitFor((event) => event.type === "run-finished" && event.runId === runId);
  });

  it("refuses a second daemon on the same data dir", async () => {
    const second = await runCli(["serve", "--port", "0", "--json"], { env, cwd });
    expect(second.code).toBe(2);
    expect(json<{ error: { code: string } }>(second).error.code).toBe("LOOPD_DAEMON_RUNNING");
  });

  it("re-applies loopd.yaml when it changes and keeps running on a bad edit", async () => {
    const file = join(cwd, "loopd.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace("every: 1s", "every: 2s"));
    await daemon.waitFor(
      (event) =>
        event.type === "applied" &&
        JSON.stringify(event).includes('"action":"update"') &&
        JSON.stringify(event).includes('"name":"beat"'),
    );
    writeFileSync(file, readFileSync(file, "utf8").replace("every: 2s", "every: -2s"));
    const failed = await daemon.waitFor((event) => event.type === "apply-failed");
    expect(failed.error).toMatchObject({ code: "LOOPD_CONFIG_INVALID" });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it("stops cleanly on SIGTERM and releases runs that outlive the grace period", async () => {
    const local = mkdtempSync(join(tmpdir(), "loopd-grace-"));
    const localEnv = { LOOPD_HOME: join(local, "home") };
    writeFileSync(join(local, "loopd.yaml"), "routines:\n  - name: long\n    command: sleep 30\n");
    const proc = spawnLoopd(["serve", "--port", "0", "-f", "loopd.yaml", "--grace", "1"], {
      env: localEnv,
      cwd: local,
    });
    await proc.waitFor((event) => event.type === "ready");
    expect((await runCli(["run", "long"], { env: localEnv, cwd: local })).code).toBe(0);
    await proc.waitFor((event) => event.type === "run-started");
    expect(await proc.stop("SIGTERM")).toBe(0);
    expect(existsSync(join(local, "home", "daemon.json"))).toBe(false);
    const [run] = json<Array<{ status: string; attempt: number; reason: string }>>(
      await runCli(["runs", "long", "--json"], { env: localEnv, cwd: local }),
    );
    expect(run).toMatchObject({ status: "queued", attempt: 0, reason: "released: worker shut down" });
    rmSync(local, { recursive: true, force: true });
  });
});

describe.runIf(await postgresSuiteEnabled("the serve + worker tests"))(
  "loopd serve and workers on PostgreSQL",
  () => {
    let target: TestStore;
    let cwd: string;
    const procs: LoopdProcess[] = [];

    beforeAll(async () => {
      target = await openTestStore("postgres");
      cwd = mkdtempSync(join(tmpdir(), "loopd-pg-"));
    });
    afterAll(async () => {
      await Promise.all(procs.map((proc) => proc.stop()));
      await target?.dispose();
      rmSync(cwd, { recursive: true, force: true });
    });

    it("refuses `loopd worker` on SQLite", async () => {
      const result = await runCli(["worker"], { env: { LOOPD_HOME: join(cwd, "sqlite-home") }, cwd });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("error[LOOPD_WORKER_NEEDS_POSTGRES]");
    });

    it("wakes a worker through LISTEN/NOTIFY when a run is fired elsewhere", async () => {
      const env = { ...target.env, LOOPD_HOME: join(cwd, "home") };
      writeFileSync(join(cwd, "loopd.yaml"), "routines:\n  - name: ping\n    command: echo pong\n");
      expect((await runCli(["apply"], { env, cwd })).code).toBe(0);
      const worker = spawnLoopd(["worker"], { env, cwd });
      procs.push(worker);
      await worker.waitFor((event) => event.type === "ready");
      // The worker's first pass found nothing and it sleeps until the 60 s backstop: from now on
      // only a wake-up can start the run in time.
      const idle = await worker.waitFor((event) => event.type === "idle");
      expect(idle.inMs).toBe(60_000);
      const started = Date.now();
      const result = await runCli(["run", "ping", "--wait"], { env, cwd });
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("pong");
      expect(Date.now() - started).toBeLessThan(10_000); // far below the backstop
      await worker.waitFor((event) => event.type === "run-finished" && event.routine === "ping");
    });
  },
);
