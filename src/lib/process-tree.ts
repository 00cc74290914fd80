/**
 * Stopping a run means stopping everything it started. Commands run in their own process
 * group (spawned detached), so one signal to the group reaches the shell and its children;
 * whatever ignores SIGTERM gets SIGKILL after a grace period. What leaves the group (a new
 * session, as Codex gives each command) is found instead by a marker in its environment,
 * which every process inherits from the one loopd spawned: Linux only (/proc), a no-op elsewhere.
 *
 * And a run's processes die with the loopd process that started them, however it dies
 * (SIGKILL, OOM killer, crash): every command is spawned through a parent-death watchdog,
 * below. Otherwise a killed worker's command would run on, re-parented to init, while the
 * run's retry runs it again elsewhere.
 */
import { readdirSync, readFileSync } from "node:fs";
import type { Readable, Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";

export const KILL_GRACE_MS = 3000;
/**
 * Every process of a run's attempt has `LOOPD_WORKER=<worker id>` in its environment (the run
 * context): when a worker dies, a loopd process on its host finds and kills what is left of
 * its attempts by it, even what left the process group the watchdog kills.
 */
export const WORKER_MARKER = "LOOPD_WORKER";
/** Marked leftovers already outlived the process that started them: a short grace is enough. */
export const MARKED_GRACE_MS = 1000;
/** After SIGKILL, how long to wait for a marked process to go before giving up on it. */
const MARKED_KILL_WAIT_MS = 1000;
const MARKED_POLL_MS = 50;

/**
 * The parent-death watchdog. `sh -c WATCHDOG loopd-watchdog <command> <args…>` forks a watcher
 * (twice, so it belongs to init rather than to the command) that blocks reading fd 3 — a pipe
 * whose other end only loopd holds — then execs the command: same pid, exit status and signals
 * as without the wrapper, in the same new process group (the spawn is detached). When loopd
 * closes its end (the command ended: `releaseWatchdog`) or dies in any way at all — the kernel
 * closes a SIGKILLed process's pipes too — the read returns and the watcher SIGKILLs the
 * whole group, itself included: the command and everything it left running. The watcher
 * ignores SIGINT/SIGTERM/SIGHUP so a graceful stop of the group cannot remove it first.
 *
 * Why not prctl(PR_SET_PDEATHSIG) (`setpriv --pdeathsig KILL`, util-linux): it reaches only the
 * process it is set on (a fork clears it, so the shell's children live on), fires when the
 * spawning *thread* ends, and is Linux-only. A pidfile that a successor reads works only if a
 * successor starts on that host. The pipe is inherited atomically with the spawn — no window in
 * which a command runs unwatched — needs only a POSIX sh, and nothing polls.
 */
const WATCHDOG =
  "( ( trap '' INT TERM HUP; read -r _ <&3; kill -KILL 0 ) </dev/null >/dev/null 2>&1 & ); exec 3<&-; exec \"$@\"";

/** `[file, args]` that run `command args…` under the parent-death watchdog; spawn with fd 3 a pipe. */
export function watched(command: string, args: readonly string[]): [string, string[]] {
  return ["/bin/sh", ["-c", WATCHDOG, "loopd-watchdog", command, ...args]];
}

/** A shell command line under the watchdog (what `shell: true` would run, watched). */
export function watchedShell(commandLine: string): [string, string[]] {
  return watched("/bin/sh", ["-c", commandLine]);
}

/**
 * Closes loopd's end of the watchdog pipe: the watcher SIGKILLs what is left of the command's
 * process group. Call it once the command has exited.
 */
export function releaseWatchdog(subprocess: {
  stdio: ReadonlyArray<Readable | Writable | null | undefined>;
}): void {
  const pipe = subprocess.stdio[3];
  if (!pipe) return;
  pipe.on("error", () => {}); // the watcher may be gone already
  pipe.destroy();
}

/** How long a stopped run's processes get between SIGTERM and SIGKILL. */
export function killGraceMs(signal: AbortSignal): number {
  // A lost lease (fencing): another attempt may start soon, so there is no time for grace.
  return signal.reason === "lease-lost" ? 0 : KILL_GRACE_MS;
}

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
  if (!signalGroup(pid, graceMs <= 0 ? "SIGKILL" : "SIGTERM")) return;
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
