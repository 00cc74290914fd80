/**
 * Clones of URL repos, one per URL under `<home>/repos/<repo-key>`, from which run worktrees
 * are made. A bare repository whose remote branches are kept as `refs/remotes/origin/*`
 * (`git init --bare` + `remote add`, not `clone --mirror`): a mirror's `fetch --prune` would
 * delete the local `loopd/…` run branches, which exist only here; and being bare, nothing
 * ever edits a checkout of its own. Fetches are serialised per repo within this process (a
 * promise chain) and across processes (a lock file), since git refuses concurrent ref updates.
 * A fetch also must not overlap `git worktree add` in the clone: its connectivity check reads
 * every worktree's HEAD, and a worktree being created has a placeholder one ("bad object
 * worktrees/pool-0/HEAD"). Within this process the worktree mutex excludes that; another
 * process's worktree add is survived by retrying the fetch.
 */
import { existsSync, promises as fs } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { LoopdError } from "../domain/errors.js";
import { git, gitSucceeds, gitText } from "./git.js";
import { releaseLock, waitForLock } from "./lock-file.js";
import type { KeyedMutex } from "./worktree-pool.js";

const FETCH_ATTEMPTS = 3;

export class CloneCache {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly reposRoot: string,
    /** The mutex that guards `git worktree` operations, keyed by the clone's directory. */
    private readonly worktreeMutex: KeyedMutex,
  ) {}

  dirFor(key: string): string {
    return join(this.reposRoot, key);
  }

  /** Clones on first use, otherwise `git fetch --prune`; returns the clone's directory. */
  update(url: string, key: string, signal?: AbortSignal): Promise<string> {
    const previous = this.queues.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.updateLocked(url, key, signal));
    this.queues.set(key, next);
    // Drop the chain once idle so the map does not keep one entry per repo ever seen alive.
    void next
      .catch(() => undefined)
      .finally(() => {
        if (this.queues.get(key) === next) this.queues.delete(key);
      });
    return next;
  }

  private async updateLocked(url: string, key: string, signal?: AbortSignal): Promise<string> {
    await fs.mkdir(this.reposRoot, { recursive: true });
    const dir = this.dirFor(key);
    const lock = await waitForLock(`${dir}.lock`, signal);
    try {
      if (existsSync(join(dir, "HEAD"))) {
        await this.worktreeMutex.run(dir, () => fetch(dir, signal));
        if (!(await hasRef(dir, "refs/remotes/origin/HEAD"))) await setHead(dir, signal);
      } else {
        await clone(url, dir, signal);
      }
      return dir;
    } finally {
      await releaseLock(lock);
    }
  }
}

async function fetch(dir: string, signal?: AbortSignal): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await git(["fetch", "--prune", "--quiet", "origin"], { cwd: dir, signal });
      return;
    } catch (error) {
      if (signal?.aborted || attempt >= FETCH_ATTEMPTS) throw error;
      await sleep(200 * attempt);
    }
  }
}

async function clone(url: string, dir: string, signal?: AbortSignal): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
  try {
    await git(["init", "--quiet", "--bare", dir], { cwd: join(dir, ".."), signal });
    await git(["remote", "add", "origin", url], { cwd: dir, signal });
    await git(["fetch", "--prune", "--quiet", "origin"], { cwd: dir, signal });
    await setHead(dir, signal);
  } catch (error) {
    // A half-made clone would look valid (it has HEAD) and fail every later run confusingly.
    await fs.rm(dir, { recursive: true, force: true });
    if (error instanceof LoopdError && !signal?.aborted) {
      throw new LoopdError("LOOPD_WORKSPACE_FAILED", `could not clone ${url}: ${error.message}`, {
        hint: "Check the URL and that this host can reach it (credentials, SSH keys, network).",
        cause: error,
      });
    }
    throw error;
  }
}

/** Records the remote's default branch as origin/HEAD: the base when a routine names none. */
async function setHead(dir: string, signal?: AbortSignal): Promise<void> {
  await git(["remote", "set-head", "origin", "--auto"], { cwd: dir, signal }).catch(() => undefined);
}

async function hasRef(dir: string, ref: string): Promise<boolean> {
  return gitSucceeds(["rev-parse", "--verify", "--quiet", ref], { cwd: dir });
}

/**
 * The commit a run starts from in a clone: the named branch as fetched (`origin/<base>`),
 * else the ref as given (tag, commit); with no base, the remote's default branch.
 */
export async function resolveCloneBase(dir: string, base: string | undefined): Promise<string> {
  const candidates =
    base === undefined ? ["refs/remotes/origin/HEAD"] : [`refs/remotes/origin/${base}`, base];
  for (const ref of candidates) {
    const commit = await gitText(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], { cwd: dir }).catch(
      () => "",
    );
    if (commit) return commit;
  }
  throw new LoopdError(
    "LOOPD_WORKSPACE_FAILED",
    base === undefined
      ? `the remote of ${dir} has no default branch (is it empty?)`
      : `base ${base} is neither a branch of the remote nor a ref in ${dir}`,
  );
}
