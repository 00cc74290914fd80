/**
 * What `loopd serve` prints (its human log, not --json) agrees with `run --wait` and `runs`:
 * a watch whose check is unmet is "unsatisfied" in every one of them, never "succeeded"; a run
 * handed back at shutdown says so ("↩ … returned to the queue"), not "canceled".
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json, LOOPD_BIN, runCli } from "./helpers/cli.js";
import { waitUntil } from "./helpers/wait.js";

describe("loopd serve's log, run --wait and runs use one word per outcome", () => {
  let cwd: string;
  let env: Record<string, string>;
  let serve: ChildProcess;
  let log = "";
  let gateRun = 0;
  let logsViaDaemon: unknown;
  const loopd = (...args: string[]) => runCli(args, { cwd, env });

  beforeAll(async () => {
    cwd = mkdtempSync(join(tmpdir(), "loopd-serve-log-"));
    env = { LOOPD_HOME: join(cwd, "home") };
    writeFileSync(
      join(cwd, "loopd.yaml"),
      [
        "routines:",
        "  - name: gate",
        '    check: { command: "exit 1" }',
        "  - name: slow",
        "    command: sleep 30",
        "",
      ].join("\n"),
    );
    serve = spawn(process.execPath, [LOOPD_BIN, "serve", "--port", "0", "-f", "loopd.yaml", "--grace", "1"], {
      cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    serve.stdout!.on("data", (chunk: Buffer) => {
      log += chunk.toString();
    });
    serve.stderr!.on("data", (chunk: Buffer) => {
      log += chunk.toString();
    });
    await waitUntil(() => log.includes("dashboard:"), "serve to be ready", { timeoutMs: 20_000 });
  });

  it("the terminal gets the dashboard link with its token; the log file in the home does not", () => {
    expect(log).toMatch(/dashboard: http:\/\/127\.0\.0\.1:\d+\/#token=\S+/);
    const file = readFileSync(join(cwd, "home", "logs", "serve.log"), "utf8");
    expect(file).toMatch(/dashboard: http:\/\/127\.0\.0\.1:\d+\/\n/);
    expect(file).not.toContain("token=");
  });
  afterAll(() => {
    if (serve.exitCode === null) serve.kill("SIGKILL");
    rmSync(cwd, { recursive: true, force: true });
  });

  it("an unmet check is 'unsatisfied' in the serve log, run --wait and runs", async () => {
    const waited = await loopd("run", "gate", "--wait");
    expect(waited.code).toBe(1);
    const runId = Number(/gate #(\d+) unsatisfied/.exec(waited.stdout)?.[1]);
    expect(runId).toBeGreaterThan(0);
    gateRun = runId;
    expect(waited.stdout).toContain("── attempt 1 unsatisfied");
    expect(waited.stdout).not.toContain("succeeded");

    await waitUntil(() => log.includes(`gate #${runId} `), "the serve log line of the run");
    expect(log).toMatch(new RegExp(`✗ gate #${runId} unsatisfied in `));
    expect(log).not.toContain(`gate #${runId} succeeded`);

    const runs = await loopd("runs", "gate");
    expect(runs.stdout).toMatch(new RegExp(`${runId}\\s.*unsatisfied`));
    expect(runs.stdout).not.toContain("succeeded");
  });

  it("logs --json gives ISO times and structured data (through the daemon's API)", async () => {
    const result = await loopd("logs", String(gateRun), "--json");
    expect(result.code).toBe(0);
    const events = json<Array<{ at: unknown; type: string; data: unknown }>>(result);
    expect(events.length).toBeGreaterThan(0);
    for (const event of events) {
      expect(event.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      if (event.type === "log") expect(typeof event.data).toBe("string");
      else expect(typeof event.data).toBe("object");
    }
    expect(
      events.find(
        (event) => event.type === "status" && (event.data as { event?: string }).event === "finished",
      )?.data,
    ).toMatchObject({ outcome: "succeeded", verdict: "unsatisfied" });
    logsViaDaemon = events;
  });

  it("logs of an unknown run, with a daemon running, hints the CLI's way to find run ids", async () => {
    const result = await loopd("logs", "999");
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("error[LOOPD_NOT_FOUND]: no run 999");
    expect(result.stderr).toContain("hint: Run `loopd runs` to see run ids.");
    expect(result.stderr).not.toContain("/api/v1");
  });

  it("a run handed back at shutdown is 'returned to the queue', not canceled", async () => {
    expect((await loopd("run", "slow")).code).toBe(0);
    await waitUntil(() => /▶ slow #\d+ started/.test(log), "slow to start");
    const runId = Number(/▶ slow #(\d+) started/.exec(log)![1]);
    const exited = new Promise((resolve) => serve.once("exit", resolve));
    serve.kill("SIGTERM");
    await exited;
    expect(log).toContain(`↩ slow #${runId} returned to the queue (shutdown)`);
    expect(log).not.toMatch(/slow #\d+ canceled/);
    expect(log).not.toContain("not recorded");
  });

  it("logs --json from the store (no daemon) has the same shape as through the daemon", async () => {
    const result = await loopd("logs", String(gateRun), "--json");
    expect(json(result)).toEqual(logsViaDaemon);
  });
});
