/**
 * `loopd apply` and `loopd resume` from the CLI wake the running daemon (issue 17): the change
 * is acted on in a few seconds, not at the daemon's backstop pass (60 s). Each change is made
 * while the daemon reports that it sleeps until that backstop, so only a wake-up explains it. On SQLite the CLI
 * finds the daemon through daemon.json (resume through its API, apply on the store and then
 * POST /wake); on PostgreSQL the CLI runs from another home, so it has no daemon connection at
 * all and writes the store itself, then NOTIFYs.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";
import { type LoopdProcess, spawnLoopd } from "./helpers/process.js";
import { openTestStore, type TestStore, testDialects } from "./helpers/stores.js";

/** The engine's longest sleep: without a wake-up, a change waits this long. */
const BACKSTOP_MS = 60_000;
/** Far under the backstop, with room for a slow machine. */
const PICKED_UP_MS = 8_000;

describe.each(await testDialects())("%s: the CLI wakes a running daemon", (dialect) => {
  let target: TestStore;
  let cwd: string;
  let daemon: LoopdProcess;
  let cliEnv: Record<string, string>;
  const firstAt = inSeconds(3);
  const loopd = async (...args: string[]) => {
    const result = await runCli(args, { cwd, env: cliEnv });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    return result;
  };
  const config = (extra: string[] = []) =>
    writeFileSync(
      join(cwd, "loopd.yaml"),
      [
        "routines:",
        "  - name: first",
        "    command: echo first",
        `    at: "${firstAt}"`,
        "  - name: ticker",
        "    command: echo tick",
        "    every: 2s",
        ...extra,
        "",
      ].join("\n"),
    );
  const event = (type: string, routine: string, timeoutMs?: number) =>
    daemon.waitFor((line) => line.type === type && line.routine === routine, timeoutMs);
  /** The daemon reported, after `since`, that it sleeps until its backstop unless woken. */
  const asleepAfter = (since: Record<string, unknown>) =>
    daemon.waitFor(
      (line) =>
        line.type === "idle" &&
        Number(line.inMs) >= BACKSTOP_MS - 5_000 &&
        daemon.events.indexOf(line) > daemon.events.indexOf(since),
    );

  beforeAll(async () => {
    target = await openTestStore(dialect);
    cwd = mkdtempSync(join(tmpdir(), "loopd-cli-wakes-"));
    const daemonEnv =
      dialect === "sqlite" ? target.env : { ...target.env, LOOPD_HOME: join(cwd, "daemon-home") };
    // PostgreSQL: a home of its own, without the daemon's daemon.json: no way to its API.
    cliEnv = dialect === "sqlite" ? target.env : { ...target.env, LOOPD_HOME: join(cwd, "cli-home") };

    config();
    await loopd("apply");
    await loopd("pause", "ticker");
    daemon = spawnLoopd(["serve", "--port", "0"], { env: daemonEnv, cwd });
    await daemon.waitFor((line) => line.type === "ready");
    // The daemon ran `first` on its own timer; with `ticker` paused it now sleeps until its backstop.
    await asleepAfter(await event("run-finished", "first"));
  });
  afterAll(async () => {
    await daemon?.stop();
    await target?.dispose();
    rmSync(cwd, { recursive: true, force: true });
  });

  it("apply: a routine added to loopd.yaml runs when it is due, not at the backstop", async () => {
    config(["  - name: added", "    command: echo added", `    at: "${inSeconds(1)}"`]);
    const applied = Date.now();
    await loopd("apply");
    await event("run-started", "added", PICKED_UP_MS);
    expect(Date.now() - applied).toBeLessThan(PICKED_UP_MS);
    await asleepAfter(await event("run-finished", "added"));
  });

  it("resume: a resumed routine runs at its next slot, not at the backstop", async () => {
    const resumed = Date.now();
    await loopd("resume", "ticker");
    await event("run-started", "ticker", PICKED_UP_MS);
    expect(Date.now() - resumed).toBeLessThan(PICKED_UP_MS);
  });
});

function inSeconds(seconds: number): string {
  return new Date(Date.now() + seconds * 1000).toISOString();
}
