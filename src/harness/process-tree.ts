/**
 * Stopping a run means stopping everything it started. Commands run in their own process
 * group (spawned detached), so one signal to the group reaches the shell and its children;
 * whatever ignores SIGTERM gets SIGKILL after a grace period. What leaves the group (a new
 * session, as Codex gives each command) is found instead by a marker in its environment,
 * which every process inherits from the one loopd spawned: Linux only (/proc), a no-op elsewhere.
 */
import { readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

export const KILL_GRACE_MS = 3000;
/** Marked leftovers already outlived the process that started them: a short grace is enough. */
export const MARKED_GRACE_MS = 1000;
/** After SIGKILL, how long to wait for a marked process to go before giving up on it. */
const MARKED_KILL_WAIT_MS = 1000;
const MARKED_POLL_MS = 50;

export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // the group is already gone
  }
}

/** SIGTERM to the group now, SIGKILL after the grace period unless `exited` settles first. */
export function terminateGroup(pid: number, exited: Promise<unknown>, graceMs = KILL_GRACE_MS): void {
  if (!signalGroup(pid, "SIGTERM")) return;
  const timer = setTimeout(() => signalGroup(pid, "SIGKILL"), graceMs);
  timer.unref();
  void exited.finally(() => {
    clearTimeout(timer);
    // Children that outlived the shell are still in the group: make sure they go too.
    signalGroup(pid, "SIGKILL");
  });
}

/** Live processes (not this one) whose environment holds `name=value`; none without /proc. */
export function markedProcesses(name: string, value: string): number[] {
  const entry = `${name}=${value}`;
  let pids: string[];
  try {
    pids = readdirSync("/proc");
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const pid of pids) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      // A zombie's environ reads empty, so a killed process stops matching once it is dead.
      if (readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(entry)) found.push(Number(pid));
    } catch {
      // gone already, or another user's
    }
  }
  return found;
}

/**
 * SIGTERM every process marked `name=value` (and any it starts meanwhile), SIGKILL what is
 * left after the grace period. Resolves once none is left, so a caller that awaits it knows
 * the run is over; a process that cannot die (stuck in the kernel) is given up on soon after.
 */
export async function terminateMarked(name: string, value: string, graceMs = MARKED_GRACE_MS): Promise<void> {
  const killAt = Date.now() + graceMs;
  const giveUpAt = killAt + MARKED_KILL_WAIT_MS;
  const termed = new Set<number>();
  for (let pids = markedProcesses(name, value); pids.length > 0; pids = markedProcesses(name, value)) {
    const now = Date.now();
    if (now >= giveUpAt) return;
    for (const pid of pids) {
      if (now >= killAt) signal(pid, "SIGKILL");
      else if (!termed.has(pid)) {
        termed.add(pid);
        signal(pid, "SIGTERM");
      }
    }
    await sleep(MARKED_POLL_MS);
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}
