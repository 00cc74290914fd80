import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
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
