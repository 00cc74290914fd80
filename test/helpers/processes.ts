/**
 * Finding a test's processes on Linux through /proc: by command line, by working directory,
 * or by a variable in their environment (LOOPD_WORKER, a harness's process marker). A
 * process that goes away while being read, or is not ours to inspect, is not listed; a
 * zombie reads as an empty environment, so it is never found by one.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

function pidsWhere(test: (pid: string) => boolean): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (test(entry)) pids.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to inspect
    }
  }
  return pids;
}

/** Processes whose command line contains `text`. */
export function processesRunning(text: string): number[] {
  return pidsWhere((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(text));
}

/** Processes whose working directory is `dir`. */
export function processesIn(dir: string): number[] {
  return pidsWhere((pid) => readlinkSync(`/proc/${pid}/cwd`) === dir);
}

/** Processes whose environment has `name=value`. */
export function processesWithEnv(name: string, value: string): number[] {
  return pidsWhere((pid) => environOf(pid).get(name) === value);
}

/** A process's environment (empty for a zombie); throws when it is gone. */
export function environOf(pid: number | string): Map<string, string> {
  return new Map(
    readFileSync(`/proc/${pid}/environ`, "utf8")
      .split("\0")
      .filter((pair) => pair.includes("="))
      .map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)] as const),
  );
}
