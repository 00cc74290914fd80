/**
 * Settings reload (issue 14, part 6): a changed `harnesses:` section takes effect for the next
 * run without restarting `loopd serve` — whether `serve -f` applied the edited file itself or
 * another process ran `loopd apply`. The harness command is seen through the run's error: a
 * CLI that is not installed is named, with the harness's own install hint.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliResult, json, runCli } from "./helpers/cli.js";
import { type LoopdProcess, spawnLoopd } from "./helpers/process.js";

interface RunError {
  code: string;
  details: { run: { error: { code: string; message: string; hint: string | null } } };
}

describe("harness settings reload while `loopd serve` runs", () => {
  let cwd: string;
  let env: Record<string, string>;
  let daemon: LoopdProcess;
  const loopd = (...args: string[]): Promise<CliResult> => runCli(args, { env, cwd });
  const config = (command: string) => `harnesses:
  codex: { command: ${command} }
routines:
  - name: ask
    harness: codex
    prompt: Say hi.
`;
  /** The run's error: the configured codex command does not exist, so it is named. */
  const runAsk = async () => {
    const result = await loopd("run", "ask", "--wait", "--json");
    expect(result.code, result.stdout).toBe(1);
    return json<{ error: RunError }>(result).error.details.run.error;
  };

  beforeAll(async () => {
    cwd = mkdtempSync(join(tmpdir(), "loopd-reload-"));
    writeFileSync(join(cwd, "loopd.yaml"), config(join(cwd, "bin", "codex-one")));
    env = { LOOPD_HOME: join(cwd, ".loopd") };
    daemon = spawnLoopd(["serve", "--port", "0", "-f", "loopd.yaml"], { env, cwd });
    await daemon.waitFor((event) => event.type === "ready");
  });
  afterAll(async () => {
    await daemon?.stop();
    rmSync(cwd, { recursive: true, force: true });
  });

  it("uses the command from the applied settings, with the harness's own hint", async () => {
    const error = await runAsk();
    expect(error.code).toBe("LOOPD_HARNESS_NOT_INSTALLED");
    expect(error.message).toContain("codex-one");
    // The preflight's install hint (the harness knows its package), not only the table's.
    expect(error.hint).toContain("codex");
  });

  it("serve -f: an edited `harnesses.codex.command` is used by the next run, no restart", async () => {
    const before = daemon.events.length;
    writeFileSync(join(cwd, "loopd.yaml"), config(join(cwd, "bin", "codex-two")));
    const applied = await daemon.waitFor(
      (event) => daemon.events.indexOf(event) >= before && event.type === "applied",
    );
    expect((applied.result as { settings: string[] }).settings).toContain("harnesses");
    expect((await runAsk()).message).toContain("codex-two");
    await daemon.waitFor(
      (event) =>
        daemon.events.indexOf(event) >= before &&
        event.type === "settings-reloaded" &&
        (event.sections as string[]).includes("harnesses"),
    );
  });

  it("`loopd apply` from another process: the daemon picks the change up from the store", async () => {
    const other = join(cwd, "other");
    const file = join(other, "loopd.yaml");
    mkdirSync(other);
    // No routines: this file owns none, so only the settings change.
    writeFileSync(
      file,
      `harnesses:\n  codex: { command: ${join(cwd, "bin", "codex-three")} }\nroutines: []\n`,
    );
    const applied = await runCli(["apply", "-f", file, "--json"], { env, cwd });
    expect(applied.code, applied.stderr).toBe(0);
    expect((await runAsk()).message).toContain("codex-three");
  });
});
