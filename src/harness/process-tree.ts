/**
 * Stopping a run means stopping everything it started. Commands run in their own process
 * group (spawned detached), so one signal to the group reaches the shell and its children;
 * whatever ignores SIGTERM gets SIGKILL after a grace period.
 */

export const KILL_GRACE_MS = 3000;

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
