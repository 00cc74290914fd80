/**
 * `/metrics` on a real `loopd serve`: behind the API token like /api/v1, Prometheus text, and
 * its figures follow what happens — shell runs that succeed and fail are counted by outcome
 * and harness with their durations and start lateness, and a run going shows in the store's
 * running gauge while it runs. Also serve's copy of its output in <home>/logs (issue 22 item 1).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOOPD_BIN, runCli } from "./helpers/cli.js";
import { waitFor, waitUntil } from "./helpers/wait.js";

/** The value of one sample line, e.g. `loopd_runs_finished_total{outcome="failed",harness="shell"}`; 0 when absent. */
function sample(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe("/metrics on loopd serve", () => {
  let cwd: string;
  let env: Record<string, string>;
  let serve: ChildProcess;
  let out = "";
  let url = "";
  let token = "";
  const loopd = (...args: string[]) => runCli(args, { cwd, env });
  const scrape = async (): Promise<string> => {
    const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    return response.text();
  };

  beforeAll(async () => {
    cwd = mkdtempSync(join(tmpdir(), "loopd-metrics-"));
    env = { LOOPD_HOME: join(cwd, "home") };
    writeFileSync(
      join(cwd, "loopd.yaml"),
      [
        "routines:",
        "  - name: ok",
        "    command: echo fine",
        "  - name: bad",
        "    command: exit 3",
        "  - name: slow",
        "    command: sleep 30",
        "",
      ].join("\n"),
    );
    serve = spawn(
      process.execPath,
      [LOOPD_BIN, "--json", "serve", "--port", "0", "-f", "loopd.yaml", "--grace", "1"],
      {
        cwd,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: "1", ...env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    serve.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    serve.stderr!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    url = await waitFor(() => /"type":"ready","url":"([^"]+)"/.exec(out)?.[1], "serve to be ready", {
      timeoutMs: 30_000,
    });
    token = readFileSync(join(cwd, "home", "api-token"), "utf8").trim();
  });
  afterAll(() => {
    if (serve.exitCode === null) serve.kill("SIGKILL");
    rmSync(cwd, { recursive: true, force: true });
  });

  it("needs the API token", async () => {
    const response = await fetch(`${url}/metrics`);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toContain("Bearer");
  });

  it("counts runs by outcome and harness, their durations and lateness, and the running gauge", async () => {
    const before = await scrape();
    expect(before).toContain("# TYPE loopd_runs_finished_total counter");
    expect(before).toContain("# TYPE loopd_run_duration_seconds histogram");
    expect(before).toContain("# TYPE loopd_cost_usd_today gauge");
    expect(sample(before, 'loopd_runs{state="queued"}')).toBe(0);
    expect(sample(before, 'loopd_runs_finished_total{outcome="succeeded",harness="shell"}')).toBe(0);

    expect((await loopd("run", "ok", "--wait")).code).toBe(0);
    expect((await loopd("run", "ok", "--wait")).code).toBe(0);
    expect((await loopd("run", "bad", "--wait")).code).toBe(1);
    // The serve process counts a run when its engine reports it, just after the store says so.
    const after = await waitFor(async () => {
      const text = await scrape();
      return sample(text, 'loopd_runs_finished_total{outcome="failed",harness="shell"}') === 1
        ? text
        : undefined;
    }, "the failed run in /metrics");
    expect(sample(after, 'loopd_runs_finished_total{outcome="succeeded",harness="shell"}')).toBe(2);
    expect(sample(after, 'loopd_run_duration_seconds_count{harness="shell"}')).toBe(3);
    expect(sample(after, "loopd_run_start_lateness_seconds_count")).toBe(3);
    expect(sample(after, 'loopd_run_start_lateness_seconds_bucket{le="+Inf"}')).toBe(3);
    expect(sample(after, "loopd_budget_refusals_today")).toBe(0);

    expect((await loopd("run", "slow")).code).toBe(0);
    await waitUntil(
      async () => sample(await scrape(), 'loopd_runs{state="running"}') === 1,
      "the slow run in the running gauge",
    );
  });

  it("serve copies its output to <home>/logs/serve.log", async () => {
    const file = join(cwd, "home", "logs", "serve.log");
    await waitUntil(
      () => existsSync(file) && readFileSync(file, "utf8").includes('"type":"run-finished"'),
      "the log file",
    );
    const lines = readFileSync(file, "utf8").trim().split("\n");
    expect(JSON.parse(lines[0]!)).toMatchObject({ type: "applied" });
    expect(lines.map((line) => JSON.parse(line).type)).toContain("ready");
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("is served without a token under --no-auth", async () => {
    const home = join(cwd, "open-home");
    let text = "";
    const open = spawn(
      process.execPath,
      [
        LOOPD_BIN,
        "--json",
        "--home",
        home,
        "serve",
        "--port",
        "0",
        "--no-auth",
        "--grace",
        "1",
        "--no-log-file",
      ],
      { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME }, stdio: ["ignore", "pipe", "pipe"] },
    );
    open.stdout!.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    try {
      const openUrl = await waitFor(
        () => /"type":"ready","url":"([^"]+)"/.exec(text)?.[1],
        "serve --no-auth",
        {
          timeoutMs: 30_000,
        },
      );
      const response = await fetch(`${openUrl}/metrics`);
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('loopd_runs{state="queued"} 0');
      expect(existsSync(join(home, "logs"))).toBe(false);
    } finally {
      open.kill("SIGKILL");
    }
  });
});
