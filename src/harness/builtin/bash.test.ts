import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { waitUntil } from "../../../test/helpers/wait.js";
import { formatBashResult, MAX_BASH_OUTPUT_CHARS, runBash } from "./bash.js";

let dir: string;
const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", GREETING: "hello" };

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "loopd-bash-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Running, not merely a zombie waiting for a (possibly slow) init to reap it. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return true; // no /proc (macOS): signal 0 succeeding is all we know
  }
}

describe("runBash", () => {
  it("runs in the workspace with the run's environment only", async () => {
    const result = await runBash({
      command: 'pwd; echo "$GREETING"; test -n "$HOME" || echo nohome >&2; exit 3',
      cwd: dir,
      env,
    });
    expect(result.exitCode).toBe(3);
    expect(result.output).toContain(`${dir}\nhello\n`);
    expect(result.output).toContain("nohome");
    expect(formatBashResult(result, 1000)).toMatch(/\[exit code 3\]$/);
  });

  it("kills the whole process group on timeout", async () => {
    const started = Date.now();
    const result = await runBash({
      command: "sleep 30 & echo $! > child.pid; wait",
      cwd: dir,
      env,
      timeoutMs: 300,
      killGraceMs: 200,
    });
    expect(result.timedOut).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
    const child = Number((await readFile(join(dir, "child.pid"), "utf8")).trim());
    await waitUntil(() => !alive(child), `process ${child} gone`, { timeoutMs: 3000, everyMs: 25 });
    expect(formatBashResult(result, 300)).toMatch(/timed out after 300 ms/);
  });

  it("stops the command when the run is aborted", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const result = await runBash({ command: "sleep 30", cwd: dir, env, signal: controller.signal });
    expect(result.aborted).toBe(true);
    expect(formatBashResult(result, 1000)).toMatch(/the run was aborted/);
  });

  it("stops background processes the command leaves behind", async () => {
    const result = await runBash({
      command: "(sleep 30 >/dev/null 2>&1 &) ; sleep 30 & echo $! > bg.pid",
      cwd: dir,
      env,
    });
    expect(result.exitCode).toBe(0);
    const child = Number((await readFile(join(dir, "bg.pid"), "utf8")).trim());
    await waitUntil(() => !alive(child), `process ${child} gone`, { timeoutMs: 3000, everyMs: 25 });
  });

  it("keeps the head and tail of long output", async () => {
    const result = await runBash({ command: "seq 1 20000", cwd: dir, env });
    expect(result.output.length).toBeLessThan(MAX_BASH_OUTPUT_CHARS + 200);
    expect(result.output.startsWith("1\n2\n3\n")).toBe(true);
    expect(result.output.trimEnd().endsWith("19999\n20000")).toBe(true);
    expect(result.output).toMatch(/characters of output omitted/);
  });
});
