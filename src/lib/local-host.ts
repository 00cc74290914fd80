/**
 * Which processes of this host are still alive, for recovering a dead worker's runs at once
 * instead of after its lease. A pid means something only inside its pid namespace, so every
 * worker records a host key — on Linux the kernel's boot id plus the pid namespace (two
 * containers sharing a hostname, or a reboot, give different keys) — and the start time of its
 * process, which tells the worker from a later process that reused its pid.
 */
import { readFileSync, readlinkSync } from "node:fs";
import { hostname } from "node:os";

let cachedKey: string | undefined;

/** This process's pid namespace, as a string other processes compare for equality. */
export function hostKey(): string {
  if (cachedKey !== undefined) return cachedKey;
  try {
    const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    const namespace = readlinkSync("/proc/self/ns/pid");
    cachedKey = `linux:${boot}:${namespace}`;
  } catch {
    // No /proc (macOS, BSD): the hostname is the best name for the pid space there is.
    cachedKey = `host:${hostname()}`;
  }
  return cachedKey;
}

/** When `pid` started (clock ticks after boot, /proc/<pid>/stat field 22); null without /proc. */
export function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

/**
 * Whether the process `pid` that started at `start` still runs. Only meaningful for a pid
 * recorded under this process's `hostKey()`. A zombie counts as gone: it runs nothing.
 */
export function processAlive(pid: number, start: string | null): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: a process of another user has that pid now, so not a worker of ours… unless it
    // is (a worker under another uid); only "no such process" is proof of death.
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return true; // no /proc here: kill(0) is all there is
  }
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (fields[0] === "Z" || fields[0] === "X") return false;
  return start === null || fields[19] === start;
}
