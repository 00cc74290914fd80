/**
 * The parent-death watchdog with real processes: a command spawned through it — and what the
 * command started — dies when the process that spawned it is SIGKILLed, and when that process
 * closes the watchdog's pipe; its exit status and pid are the command's own.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../../test/helpers/wait.js";
import { processAlive, processStart } from "./local-host.js";
import { releaseWatchdog, watched, watchedShell } from "./process-tree.js";

const dirs: string[] = [];
const leftovers: number[] = [];
afterEach(() => {
  for (const pid of leftovers.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone, as it should be
    }
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  return processAlive(pid, null);
}

/** A file's text once its writer has finished its line. */
function waitForFile(path: string): Promise<string> {
  return waitFor(
    () => {
      const text = existsSync(path) ? readFileSync(path, "utf8") : "";
      return text.endsWith("\n") ? text : undefined;
    },
    `${path} written`,
    { timeoutMs: 5000, everyMs: 25 },
  );
}

describe("parent-death watchdog", () => {
  it("kills the command and its children when the spawning process is SIGKILLed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "loopd-watchdog-"));
    dirs.push(dir);
    const pids = join(dir, "pids");
    // A stand-in for a worker: a node process that spawns a command the way the harnesses do.
    const [file, args] = watchedShell(`sleep 60 & echo "$$ $!" > ${pids}; wait`);
    const parent = spawn(
      process.execPath,
      [
        "-e",
        `const { spawn } = require("node:child_process");
         const [file, args] = JSON.parse(process.argv[1]);
         spawn(file, args, { stdio: ["ignore", "ignore", "ignore", "pipe"], detached: true });
         setInterval(() => {}, 1000);`,
        JSON.stringify([file, args]),
      ],
      { stdio: "ignore" },
    );
    const [shell, child] = (await waitForFile(pids)).trim().split(" ").map(Number) as [number, number];
    leftovers.push(shell, child);
    expect(alive(shell) && alive(child)).toBe(true);
    parent.kill("SIGKILL");
    await expect.poll(() => alive(shell) || alive(child), { timeout: 2000, interval: 20 }).toBe(false);
  });

  it("keeps the command's pid and exit status, and stops its leftovers once released", async () => {
    const dir = mkdtempSync(join(tmpdir(), "loopd-watchdog-"));
    dirs.push(dir);
    const pids = join(dir, "pids");
    const [file, args] = watched("/bin/sh", ["-c", `sleep 60 & echo "$$ $!" > ${pids}; exit 7`]);
    const subprocess = spawn(file, args, { stdio: ["ignore", "ignore", "ignore", "pipe"], detached: true });
    const code = await new Promise<number | null>((resolve) => subprocess.once("exit", resolve));
    expect(code).toBe(7);
    const [shell, child] = (await waitForFile(pids)).trim().split(" ").map(Number) as [number, number];
    leftovers.push(child);
    expect(shell).toBe(subprocess.pid); // exec'd: the command is the process loopd spawned
    expect(alive(child)).toBe(true); // the command exited; its leftover still runs…
    releaseWatchdog(subprocess as never);
    await expect.poll(() => alive(child), { timeout: 2000, interval: 20 }).toBe(false); // …until released
  });
});

describe("processAlive", () => {
  it("tells a live process from a dead one and from a reused pid", async () => {
    const sleeper = spawn("sleep", ["60"]);
    const pid = sleeper.pid!;
    const start = processStart(pid);
    expect(alive(pid)).toBe(true);
    expect(processAlive(pid, start)).toBe(true);
    if (start !== null) expect(processAlive(pid, `${start}0`)).toBe(false); // another process's start
    sleeper.kill("SIGKILL");
    await new Promise((resolve) => sleeper.once("exit", resolve));
    expect(processAlive(pid, start)).toBe(false);
  });
});
