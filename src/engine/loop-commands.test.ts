import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { shellSpec } from "../../test/helpers/specs.js";
import type { RoutineSpec } from "../domain/routine-spec.js";
import type { ConfigSettings } from "../domain/settings.js";
import type { ClaimedRun } from "../store/sql/claim-runs.js";
import { openLoopCommandSandbox } from "./loop-commands.js";

/** A loop routine's commands on code the agent wrote, with the real bubblewrap. */
describe("openLoopCommandSandbox", () => {
  const home = mkdtempSync(join(tmpdir(), "loopd-loop-commands-home-"));
  mkdirSync(join(home, ".ssh"));
  writeFileSync(join(home, ".ssh", "id_rsa"), "PRIVATE KEY\n");
  const deps = mkdtempSync(join(tmpdir(), "loopd-loop-commands-deps-"));
  writeFileSync(join(deps, "dep.txt"), "dependency\n");
  const outside = mkdtempSync(join(tmpdir(), "loopd-loop-commands-outside-"));
  const baseEnv = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    ANTHROPIC_API_KEY: "sk-ant-SECRET",
    DAEMON_ONLY: "daemon",
  };
  const open = (sandbox: RoutineSpec["sandbox"], settings: ConfigSettings = {}) => {
    const cwd = mkdtempSync(join(tmpdir(), "loopd-loop-commands-"));
    const run: ClaimedRun = {
      id: 7,
      routineId: 1,
      routineName: "health",
      spec: shellSpec("health", { harness: "claude", repo: cwd, ...(sandbox ? { sandbox } : {}) }),
      attempt: 1,
      maxAttempts: 1,
      dueAt: 0,
      trigger: "manual",
      input: null,
      leaseUntil: 0,
      workerId: "w1",
    };
    const context = {
      run,
      settings,
      baseEnv,
      commandEnv: { ...baseEnv, LOOPD_RUN_ID: "7" },
      signal: new AbortController().signal,
      emit: () => {},
    };
    return { cwd, opened: openLoopCommandSandbox(context, { cwd, env: { EXTRA: "x" }, readable: [deps] }) };
  };
  const probe = `cat ~/.ssh/id_rsa > key.txt 2>&1; echo x > ${outside}/escaped 2>/dev/null; env > env.txt; cat ${deps}/dep.txt > dep.txt`;

  it("confines an agent routine's commands by default: no key, no write outside, no model key, its folder and the readable paths", async () => {
    const { cwd, opened } = open(undefined);
    const shell = await opened;
    try {
      expect(shell).toMatchObject({ confined: true, description: "in the routine's sandbox (on)" });
      expect((await shell.run(probe)).exitCode).toBe(0);
    } finally {
      await shell.close();
    }
    expect(readFileSync(join(cwd, "key.txt"), "utf8")).toContain("No such file");
    expect(existsSync(join(outside, "escaped"))).toBe(false);
    const env = readFileSync(join(cwd, "env.txt"), "utf8");
    expect(env).not.toContain("sk-ant-SECRET");
    expect(env).not.toContain("DAEMON_ONLY");
    expect(env).toContain("EXTRA=x");
    expect(env).toContain("LOOPD_RUN_ID=7");
    expect(readFileSync(join(cwd, "dep.txt"), "utf8")).toBe("dependency\n");
  });

  it("off runs them as the tick's own commands, unconfined", async () => {
    const { cwd, opened } = open("off");
    const shell = await opened;
    expect(shell).toMatchObject({ confined: false, description: "unconfined (sandbox: off)" });
    expect((await shell.run(probe)).exitCode).toBe(0);
    expect(readFileSync(join(cwd, "key.txt"), "utf8")).toBe("PRIVATE KEY\n");
    expect(readFileSync(join(cwd, "env.txt"), "utf8")).toContain("DAEMON_ONLY=daemon");
  });

  it("required without a working bubblewrap refuses with LOOPD_SANDBOX_UNAVAILABLE, running nothing", async () => {
    const { opened } = open("required", { sandbox: { bwrap: "/nonexistent/loopd-bwrap" } });
    await expect(opened).rejects.toMatchObject({ code: "LOOPD_SANDBOX_UNAVAILABLE" });
  });
});
