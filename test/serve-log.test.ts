/**
 * What `loopd serve` prints (its human log, not --json) agrees with `run --wait` and `runs`:
 * a watch whose check is unmet is "unsatisfied" in every one of them, never "succeeded"; a run
 * handed back at shutdown says so ("↩ … returned to the queue"), not "canceled".
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOOPD_BIN, runCli } from "./helpers/cli.js";
import { waitUntil } from "./helpers/wait.js";

describe("loopd serve's log, run --wait and runs use one word per outcome", () => {
  let cwd: string;
  let env: Record<string, string>;
  let serve: ChildProcess;
  let log = "";
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
  afterAll(() => {
    if (serve.exitCode === null) serve.kill("SIGKILL");
    rmSync(cwd, { recursive: true, force: true });
  });

  it("an unmet check is 'unsatisfied' in the serve log, run --wait and runs", async () => {
    const waited = await loopd("run", "gate", "--wait");
    expect(waited.code).toBe(1);
    const runId = Number(/gate #(\d+) unsatisfied/.exec(waited.stdout)?.[1]);
    expect(runId).toBeGreaterThan(0);
    expect(waited.stdout).toContain("── attempt 1 unsatisfied");
    expect(waited.stdout).not.toContain("succeeded");

    await waitUntil(() => log.includes(`gate #${runId} `), "the serve log line of the run");
    expect(log).toMatch(new RegExp(`✗ gate #${runId} unsatisfied in `));
    expect(log).not.toContain(`gate #${runId} succeeded`);

    const runs = await loopd("runs", "gate");
    expect(runs.stdout).toMatch(new RegExp(`${runId}\\s.*unsatisfied`));
    expect(runs.stdout).not.toContain("succeeded");
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
});
