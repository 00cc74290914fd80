/**
 * Exclusive lock files shared by every loopd process on a host: created with O_EXCL and
 * holding the owner's pid, so a slot taken in this process or in another one sharing the home
 * is never handed out twice, and a lock left by a crashed process (dead pid) is taken over.
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { LoopdError } from "../domain/errors.js";

interface LockContent {
  pid: number;
  token: string;
  at: number;
}

export interface HeldLock {
  path: string;
  token: string;
}

/** A lock file that never got its content (writer died between open and write) is stale after this. */
const EMPTY_LOCK_GRACE_MS = 10_000;
/** A takeover guard older than this belongs to a process that died while taking over. */
const GUARD_STALE_MS = 5_000;

/** Takes the lock if it is free or stale; null when a live process holds it. */
export async function tryLock(path: string): Promise<HeldLock | null> {
  const content: LockContent = { pid: process.pid, token: randomBytes(8).toString("hex"), at: Date.now() };
  // A few rounds: a takeover by another claimant in between is resolved by re-reading.
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const handle = await fs.open(path, "wx");
      try {
        await handle.writeFile(JSON.stringify(content));
      } finally {
        await handle.close();
      }
      return { path, token: content.token };
    } catch (error) {
      if (!isCode(error, "EEXIST")) throw error;
    }
    const holder = await readLock(path);
    if (holder === "missing") continue;
    if (!(await isStale(path, holder))) return null;
    await removeStale(path, holder);
  }
  return null;
}

/** Waits (polling) until the lock is ours; for short critical sections such as a fetch. */
export async function waitForLock(path: string, signal?: AbortSignal): Promise<HeldLock> {
  for (let wait = 20; ; wait = Math.min(wait * 2, 250)) {
    const lock = await tryLock(path);
    if (lock) return lock;
    if (signal?.aborted) {
      throw new LoopdError("LOOPD_WORKSPACE_FAILED", `aborted while waiting for ${path}`);
    }
    await sleep(wait);
  }
}

/** Removes the lock if it is still ours (a stale-lock takeover may have replaced it). */
export async function releaseLock(lock: HeldLock): Promise<void> {
  const holder = await readLock(lock.path);
  if (holder !== "missing" && holder !== null && holder.token !== lock.token) return;
  await fs.rm(lock.path, { force: true });
}

async function readLock(path: string): Promise<LockContent | null | "missing"> {
  try {
    const text = await fs.readFile(path, "utf8");
    const parsed = JSON.parse(text) as Partial<LockContent>;
    return typeof parsed.pid === "number" && typeof parsed.token === "string"
      ? (parsed as LockContent)
      : null;
  } catch (error) {
    if (isCode(error, "ENOENT")) return "missing";
    return null;
  }
}

async function isStale(path: string, holder: LockContent | null): Promise<boolean> {
  if (holder === null) {
    const stat = await fs.stat(path).catch(() => null);
    return stat !== null && Date.now() - stat.mtimeMs > EMPTY_LOCK_GRACE_MS;
  }
  return !isAlive(holder.pid);
}

// TODO(loopd#workspace-locks): a pid reused by an unrelated process after a reboot keeps a
// stale lock "alive"; the pool then grows by one slot instead of reusing it, which is safe.
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return isCode(error, "EPERM");
  }
}

/**
 * Several claimants can find the same stale lock. Each takes a short-lived guard file first and
 * re-reads the lock under it, so only one removes the stale lock and nobody can remove the
 * fresh lock the winner creates right after. The guard is held for a few milliseconds; one
 * left by a process that died holding it is cleared by age.
 */
async function removeStale(path: string, seen: LockContent | null): Promise<void> {
  const guard = `${path}.takeover`;
  try {
    await fs.writeFile(guard, String(process.pid), { flag: "wx" });
  } catch (error) {
    if (!isCode(error, "EEXIST")) throw error;
    const stat = await fs.stat(guard).catch(() => null);
    if (stat !== null && Date.now() - stat.mtimeMs > GUARD_STALE_MS) await fs.rm(guard, { force: true });
    // Someone else is taking over right now: the caller re-reads the lock and finds theirs.
    await sleep(5);
    return;
  }
  try {
    const current = await readLock(path);
    if (current === "missing") return;
    const same = seen === null ? current === null : current?.token === seen.token;
    if (same) await fs.rm(path, { force: true });
  } finally {
    await fs.rm(guard, { force: true });
  }
}

export function isCode(error: unknown, code: string): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === code;
}
