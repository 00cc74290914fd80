/**
 * Warm git worktrees per repo under `<root>/<repo-key>/pool-<n>`. Creating a worktree of a
 * large repo writes every file (seconds on 50,000 files); resetting a warm one only rewrites
 * what the last run touched (a fraction of a second). A slot is owned through its
 * `pool-<n>.lock` file, so concurrent runs in this process and in other processes sharing the
 * home each get their own; when all are busy the pool grows and the extra slots are removed
 * when their runs finish.
 */
import { existsSync, promises as fs } from "node:fs";
import { join } from "node:path";
import { LoopdError } from "../domain/errors.js";
import { git, gitText } from "./git.js";
import { type HeldLock, releaseLock, tryLock } from "./lock-file.js";

export interface Slot {
  index: number;
  dir: string;
  lock: HeldLock;
}

/** More slots than this for one repo means something is leaking locks; fail loudly instead. */
const MAX_SLOTS = 256;

/** Serialises `git worktree add/move/remove/prune` per repo within this process. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.catch(() => undefined).then(fn);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}

/** Takes the lowest-numbered slot whose lock is free (or stale); the slot may not exist yet. */
export async function claimSlot(keyDir: string): Promise<Slot> {
  await fs.mkdir(keyDir, { recursive: true });
  for (let index = 0; index < MAX_SLOTS; index++) {
    const lock = await tryLock(join(keyDir, `pool-${index}.lock`));
    if (lock) return { index, dir: join(keyDir, `pool-${index}`), lock };
  }
  throw new LoopdError("LOOPD_WORKSPACE_FAILED", `all ${MAX_SLOTS} worktree slots in ${keyDir} are locked`, {
    hint: "Remove stale pool-*.lock files whose process is gone, or lower the number of concurrent runs.",
  });
}

export interface PrepareRequest {
  repoDir: string;
  slot: Slot;
  branch: string;
  baseCommit: string;
  mutex: KeyedMutex;
  signal?: AbortSignal | undefined;
}

/**
 * Puts the slot on a fresh `branch` at `baseCommit` with no leftovers of the previous run.
 * A slot the previous run broke (its `.git` file deleted, a stale index.lock) is rebuilt.
 */
export async function prepareSlot(request: PrepareRequest): Promise<void> {
  const { slot, branch, baseCommit, signal } = request;
  if (existsSync(join(slot.dir, ".git"))) {
    try {
      await git(["checkout", "--quiet", "--force", "-B", branch, baseCommit], { cwd: slot.dir, signal });
      // -ff: also nested repositories the agent cloned; -x: ignored files too (build output).
      await git(["clean", "-ffdxq"], { cwd: slot.dir, signal });
      return;
    } catch (error) {
      if (signal?.aborted) throw error;
    }
  }
  await request.mutex.run(request.repoDir, async () => {
    await fs.rm(slot.dir, { recursive: true, force: true });
    // Forget a registration whose folder is gone, or `worktree add` refuses the path.
    await git(["worktree", "prune"], { cwd: request.repoDir, signal });
    await git(["worktree", "add", "--quiet", "-B", branch, slot.dir, baseCommit], {
      cwd: request.repoDir,
      signal,
    });
  });
}

/**
 * Gives the slot back: a surplus slot (index ≥ poolSize) is removed, a pool slot is detached
 * from the run's branch, so the branch can later be deleted and no two slots hold one branch.
 */
export async function releaseSlot(repoDir: string, slot: Slot, poolSize: number, mutex: KeyedMutex) {
  try {
    if (slot.index >= poolSize) {
      await mutex.run(repoDir, () => removeWorktree(repoDir, slot.dir));
    } else if (existsSync(join(slot.dir, ".git"))) {
      // update-ref rather than `checkout --detach`: it leaves the index and files untouched.
      const head = await gitText(["rev-parse", "--verify", "HEAD"], { cwd: slot.dir }).catch(() => "");
      if (head) await git(["update-ref", "--no-deref", "HEAD", head], { cwd: slot.dir });
    }
  } finally {
    await releaseLock(slot.lock);
  }
}

/** Moves the slot's worktree out of the pool to `keptDir` (kept for inspection) and frees the slot. */
export async function keepSlot(repoDir: string, slot: Slot, keptDir: string, mutex: KeyedMutex) {
  try {
    await fs.mkdir(join(keptDir, ".."), { recursive: true });
    await mutex.run(repoDir, async () => {
      try {
        await git(["worktree", "move", slot.dir, keptDir], { cwd: repoDir });
      } catch {
        // `worktree move` refuses worktrees with submodules; a rename + repair does the same.
        await fs.rename(slot.dir, keptDir);
        await git(["worktree", "repair", keptDir], { cwd: repoDir });
      }
    });
  } finally {
    await releaseLock(slot.lock);
  }
}

/** Unregisters and deletes a worktree; falls back to rm + prune if git no longer knows it. */
export async function removeWorktree(repoDir: string, dir: string): Promise<void> {
  try {
    await git(["worktree", "remove", "--force", "--force", dir], { cwd: repoDir });
  } catch {
    await fs.rm(dir, { recursive: true, force: true });
    await git(["worktree", "prune"], { cwd: repoDir }).catch(() => undefined);
  }
}
