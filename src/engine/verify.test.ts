import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { shellSpec } from "../../test/helpers/specs.js";
import type { HarnessEvent } from "../harness/harness.js";
import { sandboxRequest } from "../harness/sandbox/request.js";
import { runVerification } from "./verify.js";

const cwd = mkdtempSync(join(tmpdir(), "loopd-verify-"));
const env = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
const check = (command: string, timeoutMs = 10_000) =>
  runVerification({ command, timeoutMs }, cwd, env, new AbortController().signal);

describe("runVerification", () => {
  it("passes on exit 0 and keeps only the output's tail, however much was printed", async () => {
    const result = await check("seq 1 400000; echo all green");
    expect(result).toMatchObject({ passed: true, exitCode: 0 });
    expect(result.tail.split("\n")).toHaveLength(15);
    expect(result.tail.endsWith("all green")).toBe(true);
  });

  it("fails on a non-zero exit with the last lines, stderr included", async () => {
    const result = await check("echo running; echo '1 test failed' >&2; exit 3");
    expect(result).toEqual({ passed: false, exitCode: 3, tail: "running\n1 test failed" });
  });

  it("stops a check that runs past its timeout", async () => {
    const started = Date.now();
    const result = await check("sleep 30", 300);
    expect(result.passed).toBe(false);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe("runVerification in a sandboxed run's profile (real bubblewrap)", () => {
  const home = mkdtempSync(join(tmpdir(), "loopd-verify-home-"));
  mkdirSync(join(home, ".ssh"));
  writeFileSync(join(home, ".ssh", "id_rsa"), "PRIVATE KEY\n");
  const outside = mkdtempSync(join(tmpdir(), "loopd-verify-outside-"));
  const runEnv = { ...env, HOME: home, OPENAI_API_KEY: "sk-SECRET" };
  const events: HarnessEvent[] = [];
  const confined = (command: string, mode: "on" | "off" = "on") =>
    runVerification({ command, timeoutMs: 10_000 }, cwd, runEnv, new AbortController().signal, {
      request: sandboxRequest({
        spec: shellSpec("verified", { harness: "builtin", sandbox: mode }),
        settings: {},
        harness: "builtin",
        baseUrl: null,
        env: runEnv,
        baseEnv: process.env,
      }),
      harness: "builtin",
      emit: (event) => events.push(event),
    });

  it("cannot read a planted ~/.ssh key, write outside the worktree or see the model key", async () => {
    const result = await confined(
      `cat ~/.ssh/id_rsa > saw-key.txt 2>&1; echo x > ${outside}/escaped 2>/dev/null; env > saw-env.txt; true`,
    );
    expect(result).toMatchObject({ passed: true, exitCode: 0, confined: true });
    expect(readFileSync(join(cwd, "saw-key.txt"), "utf8")).not.toContain("PRIVATE KEY");
    expect(() => readFileSync(join(outside, "escaped"))).toThrow();
    expect(readFileSync(join(cwd, "saw-env.txt"), "utf8")).not.toContain("sk-SECRET");
    // The harness's record stands: verify adds no second `sandbox` event.
    expect(events).toEqual([]);
  });

  it("passes and fails as it did unconfined", async () => {
    expect(await confined("echo green")).toMatchObject({ passed: true, exitCode: 0, tail: "green" });
    expect(await confined("echo '1 test failed' >&2; exit 3")).toEqual({
      passed: false,
      exitCode: 3,
      tail: "1 test failed",
      confined: true,
    });
    // A verify that needs the key fails confined: it is not there.
    expect(await confined("cat ~/.ssh/id_rsa")).toMatchObject({ passed: false, exitCode: 1 });
  });

  it("with the run's sandbox off it runs as before", async () => {
    const result = await confined("cat ~/.ssh/id_rsa", "off");
    expect(result).toEqual({ passed: true, exitCode: 0, tail: "PRIVATE KEY" });
  });
});
