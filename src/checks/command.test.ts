import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { useTempDirs } from "../../test/helpers/temp-dirs.js";
import { type CommandCheckContext, evaluateCommandCheck, evaluateTestRetry } from "./command.js";

const tempDir = useTempDirs();

function contextIn(cwd: string, signal = new AbortController().signal): CommandCheckContext {
  return { cwd, env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, signal };
}

/** Red on its first try, green on the next: it leaves a marker file behind when it fails. */
const FLAKY =
  "if [ -f .tried ]; then echo ok; exit 0; else touch .tried; echo 'expected 2, got 3' >&2; exit 1; fi";

describe("evaluateCommandCheck", () => {
  it("is satisfied when the command exits 0", async () => {
    const result = await evaluateCommandCheck(
      { kind: "command", command: "echo ready" },
      contextIn(tempDir("loopd-cmd-")),
    );
    expect(result).toMatchObject({
      status: "satisfied",
      summary: "`echo ready` exited 0",
      evidence: { command: "echo ready", exitCode: 0, output: "ready" },
    });
  });

  it("is unsatisfied when it exits non-zero, with its last line in the summary", async () => {
    const result = await evaluateCommandCheck(
      { kind: "command", command: "echo 'still 3 TODOs'; exit 1" },
      contextIn(tempDir("loopd-cmd-")),
    );
    expect(result.status).toBe("unsatisfied");
    expect(result.summary).toBe("`echo 'still 3 TODOs'; exit 1` exited 1: still 3 TODOs");
    expect(result.evidence).toMatchObject({ exitCode: 1 });
    expect(result.error).toBeUndefined();
  });

  it("runs in the given folder with the given environment only", async () => {
    const cwd = tempDir("loopd-cmd-");
    const result = await evaluateCommandCheck(
      { kind: "command", command: 'test "$(pwd -P)" = "$(cd "$EXPECTED" && pwd -P)" && test -z "$HOME"' },
      { ...contextIn(cwd), env: { PATH: process.env.PATH ?? "", EXPECTED: cwd } },
    );
    expect(result.status).toBe("satisfied");
  });

  it("reports a command that cannot start (missing folder) as an error, not a verdict", async () => {
    const missing = join(tempDir("loopd-cmd-"), "gone");
    const result = await evaluateCommandCheck({ kind: "command", command: "true" }, contextIn(missing));
    expect(result.status).toBe("error");
    expect(result.error?.code).toBe("LOOPD_CHECK_ERROR");
    expect(result.error?.message).toContain("could not start `true`");
    expect(result.evidence.error).toBeTruthy();
  });

  it("reports a cancelled command as an error", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort("canceled"), 100);
    const started = Date.now();
    const result = await evaluateCommandCheck(
      { kind: "command", command: "sleep 20" },
      contextIn(tempDir("loopd-cmd-"), controller.signal),
    );
    expect(result.status).toBe("error");
    expect(result.error).toMatchObject({ code: "LOOPD_CHECK_ERROR" });
    expect(result.error?.message).toContain("was stopped (canceled)");
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe("evaluateTestRetry", () => {
  it("passes on the first try without re-running", async () => {
    const lines: string[] = [];
    const result = await evaluateTestRetry(
      { kind: "test-retry", command: "true", retries: 2 },
      { ...contextIn(tempDir("loopd-test-")), onLine: (_, line) => lines.push(line) },
    );
    expect(result).toMatchObject({
      status: "satisfied",
      summary: "`true` passed on the first try",
      evidence: { tries: 1, flaky: false },
    });
    expect(lines).toEqual(["[loopd] test try 1/3: true"]);
  });

  it("calls a test that fails and then passes flaky, and says so", async () => {
    const cwd = tempDir("loopd-test-");
    const result = await evaluateTestRetry(
      { kind: "test-retry", command: FLAKY, retries: 2 },
      contextIn(cwd),
    );
    expect(existsSync(join(cwd, ".tried"))).toBe(true);
    expect(result.status).toBe("satisfied");
    expect(result.summary).toBe(`flaky: \`${FLAKY}\` failed 1 time(s), then passed on try 2`);
    expect(result.evidence).toMatchObject({
      tries: 2,
      flaky: true,
      results: [
        { try: 1, exitCode: 1, output: "expected 2, got 3" },
        { try: 2, exitCode: 0, output: "ok" },
      ],
    });
  });

  it("stays red after 1 + N tries and counts them", async () => {
    const cwd = tempDir("loopd-test-");
    const result = await evaluateTestRetry(
      {
        kind: "test-retry",
        command: "echo try >> tries.log; echo 'sync > merges: failed'; exit 1",
        retries: 3,
      },
      contextIn(cwd),
    );
    expect(result.status).toBe("unsatisfied");
    expect(result.summary).toMatch(/^still red: .* failed all 4 tries: sync > merges: failed$/);
    expect(result.evidence).toMatchObject({ tries: 4, flaky: false });
    expect((result.evidence.results as unknown[]).length).toBe(4);
    expect(readFileSync(join(cwd, "tries.log"), "utf8").trim().split("\n")).toHaveLength(4);
  });

  it("stops re-running when cancelled, keeping the tries so far", async () => {
    const controller = new AbortController();
    const cwd = tempDir("loopd-test-");
    // The first try fails at once; the second hangs until the cancel.
    const command = "if [ -f .tried ]; then sleep 20; else touch .tried; exit 1; fi";
    setTimeout(() => controller.abort("canceled"), 500);
    const result = await evaluateTestRetry(
      { kind: "test-retry", command, retries: 2 },
      contextIn(cwd, controller.signal),
    );
    expect(result.status).toBe("error");
    expect(result.error?.code).toBe("LOOPD_CHECK_ERROR");
    expect(result.evidence).toMatchObject({ tries: 1, results: [{ try: 1, exitCode: 1, output: "" }] });
  });

  it("reports a test command that cannot start as an error", async () => {
    const missing = join(tempDir("loopd-test-"), "gone");
    const result = await evaluateTestRetry(
      { kind: "test-retry", command: "true", retries: 2 },
      contextIn(missing),
    );
    expect(result.status).toBe("error");
    expect(result.error?.code).toBe("LOOPD_CHECK_ERROR");
    expect(result.evidence).toMatchObject({ tries: 0, results: [] });
  });
});
