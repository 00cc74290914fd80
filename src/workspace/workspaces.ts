/**
 * The per-run workspace: where a run's agent works and what it changed. `worktree` runs get
 * a git worktree of the routine's repo on branch `loopd/<routine>/<run-id>` from a warm pool
 * (URL repos: from a local clone kept fetched); a folder that is not a git repo is copied
 * instead (mode "copy"); `in-place` runs work in the repo folder itself. finish() reports the
 * changed files, the diff, and files the agent changed outside its workspace (escapes),
 * commits the work on the run branch when asked (deliver.ts) — before the worktree can be
 * reset for another run — then returns the worktree to the pool or keeps it for inspection,
 * and pushes the branch (and opens its pull request) when asked and the run succeeded.
 *
 * Layout under `root` (<home>/workspaces): `<repo-key>/pool-<n>` (+ `.lock`), `kept/`,
 * `copies/`, `runs/*.json`; URL clones live in `<home>/repos/<repo-key>`.
 */
import { existsSync, mkdirSync, realpathSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { LoopdError } from "../domain/errors.js";
import type { RunDelivery } from "../domain/run-delivery.js";
import { type Changes, collectChanges } from "./changes.js";
import { CloneCache, resolveCloneBase } from "./clone-cache.js";
import { copyGitEnv, createCopy } from "./copy-workspace.js";
import { commitWork, type DeliverRequest, pushWork } from "./deliver.js";
import { deliverPullRequest } from "./deliver-pr.js";
import { changedPaths, folderSnapshot, gitStatusSnapshot } from "./escape-detection.js";
import { gitText } from "./git.js";
import { finishInPlace, type InPlaceState, startInPlace } from "./in-place.js";
import { releaseLock } from "./lock-file.js";
import { type PruneResult, pruneWorkspaces } from "./prune.js";
import { repoSource } from "./repo-source.js";
import { type CopyState, WorkspaceDisposal, type WorktreeState } from "./workspace-disposal.js";
import { claimSlot, KeyedMutex, prepareSlot } from "./worktree-pool.js";

export interface WorkspaceOptions {
  /** `<loopd home>/workspaces`. */
  root: string;
  /** Warm worktrees kept per repo. Default 2. */
  poolSize?: number;
  /** Keep a run's workspace for inspection. Default "failed". */
  keep?: "failed" | "always" | "never";
  /** Kept workspaces older than this are removed by prune(). Default 7 days. */
  pruneAfterMs?: number;
}

export interface AcquireRequest {
  /** An absolute folder path or a clone URL (https://, ssh://, git@host:path, file://). */
  repo: string;
  routine: string;
  runId: number;
  /** Retries of one run get their own branch (`…/<run-id>-<attempt>`) so a kept attempt survives. */
  attempt?: number;
  mode: "worktree" | "in-place";
  /** Ref to start from; default the repo's HEAD commit (path) or the remote's default branch (URL). */
  base?: string;
  signal?: AbortSignal;
}

export interface Workspace {
  cwd: string;
  mode: "worktree" | "in-place" | "copy";
  branch: string | null;
  baseCommit: string | null;
  /** The git repository the worktree belongs to (the clone for URL repos), or the folder itself. */
  repoDir: string;
}

export interface WorkspaceReport {
  /**
   * Committed, modified, deleted and untracked (not ignored) files, relative to the worktree's
   * top level (= cwd unless the routine's repo is a subfolder of a git repo).
   */
  changedFiles: string[];
  /** Unified diff against baseCommit, capped at 256 KiB ("[truncated]" marker). */
  diff: string;
  /** Absolute paths changed outside the workspace during the run. */
  escaped: string[];
  headCommit: string | null;
  kept: boolean;
  /** Where the workspace was kept (null when it went back to the pool or was deleted). */
  keptAt: string | null;
  /** What became of the work (`deliver`); null when nothing was to be delivered. */
  delivery: RunDelivery | null;
}

export interface FinishRequest {
  /** The run succeeded (an escape still fails it). */
  succeeded: boolean;
  /** Commit (and push) the work of a worktree run; pushed only when it succeeded without escapes. */
  deliver?: DeliverRequest | null;
}

const DEFAULT_POOL_SIZE = 2;
const DEFAULT_PRUNE_AFTER_MS = 7 * 24 * 60 * 60 * 1000;

type State = WorktreeState | CopyState | InPlaceState;

export class WorkspaceManager {
  private readonly root: string;
  private readonly clones: CloneCache;
  private readonly mutex = new KeyedMutex();
  private disposal: WorkspaceDisposal;
  private pruneAfterMs: number;
  /** finish() state per workspace, kept off the object so Workspace stays plain data. */
  private readonly states = new WeakMap<Workspace, State>();

  constructor(options: WorkspaceOptions) {
    mkdirSync(options.root, { recursive: true });
    // Real path: git reports real paths, and escape exclusion compares against them.
    this.root = realpathSync(resolve(options.root));
    this.clones = new CloneCache(join(dirname(this.root), "repos"), this.mutex);
    this.pruneAfterMs = options.pruneAfterMs ?? DEFAULT_PRUNE_AFTER_MS;
    this.disposal = new WorkspaceDisposal({
      poolSize: options.poolSize ?? DEFAULT_POOL_SIZE,
      keep: options.keep ?? "failed",
      mutex: this.mutex,
    });
  }

  /**
   * A changed `workspaces:` section (pool, keep, pruneAfter), applied to the next finish() and
   * prune(). The same manager carries on, so workspaces held by running runs, and the locks
   * that serialise git on a repo, stay as they are.
   */
  reconfigure(options: Omit<WorkspaceOptions, "root">): void {
    this.pruneAfterMs = options.pruneAfterMs ?? DEFAULT_PRUNE_AFTER_MS;
    this.disposal = new WorkspaceDisposal({
      poolSize: options.poolSize ?? DEFAULT_POOL_SIZE,
      keep: options.keep ?? "failed",
      mutex: this.mutex,
    });
  }

  async acquire(req: AcquireRequest): Promise<Workspace> {
    const source = repoSource(req.repo);
    if (source.kind === "url") {
      if (req.mode === "in-place") {
        throw new LoopdError("LOOPD_WORKSPACE_FAILED", `${req.repo} is a URL; in-place needs a folder`, {
          hint: "Use `workspace: worktree` for URL repos, or point `repo` at a local checkout.",
        });
      }
      const cloneDir = await this.clones.update(source.url, source.key, req.signal);
      const baseCommit = await resolveCloneBase(cloneDir, req.base);
      return this.acquireWorktree(req, join(this.root, source.key), cloneDir, baseCommit, null);
    }
    if (!isDirectory(source.path)) {
      throw new LoopdError("LOOPD_REPO_NOT_FOUND", `repo folder ${source.path} does not exist`);
    }
    const topLevel = await gitText(["rev-parse", "--show-toplevel"], { cwd: source.path }).catch(() => null);
    if (req.mode === "in-place") {
      const { workspace, state } = await startInPlace(source.path, topLevel !== null, req.signal);
      this.states.set(workspace, state);
      return workspace;
    }
    if (topLevel === null) return this.acquireCopy(req, source.path, join(this.root, source.key));
    const repoDir = realpathSync(topLevel);
    const baseCommit = await resolvePathBase(repoDir, req.base);
    const keyDir = join(this.root, repoSource(repoDir).key);
    const excluded = [this.root, join(repoDir, ".loopd")];
    // The baseline of the main checkout is read while the slot resets: both only read it.
    const baseline = gitStatusSnapshot(repoDir, excluded, req.signal);
    baseline.catch(() => undefined);
    // A routine whose repo is a subfolder of a git repo works in that subfolder of the worktree.
    const subfolder = relative(repoDir, realpathSync(source.path));
    return this.acquireWorktree(req, keyDir, repoDir, baseCommit, baseline, subfolder);
  }

  async finish(ws: Workspace, outcome: FinishRequest): Promise<WorkspaceReport> {
    const state = this.states.get(ws);
    if (!state) {
      throw new LoopdError("LOOPD_WORKSPACE_FAILED", `workspace ${ws.cwd} is not held by this process`, {
        hint: "finish() is called once per acquire(), by the process that acquired it.",
      });
    }
    this.states.delete(ws);
    if (state.kind === "in-place") return finishInPlace(state);
    let changes: Changes;
    let escaped: string[];
    try {
      changes = await collectChanges(
        state.kind === "copy"
          ? { cwd: state.copyDir, baseCommit: state.baseCommit, env: copyGitEnv(state.copyDir, state.gitDir) }
          : { cwd: state.slot.dir, baseCommit: state.baseCommit },
      );
      escaped = await this.escapes(state);
    } catch (error) {
      // Even if the report failed, the slot must go back (or be kept) so the pool does not leak.
      await this.disposal.dispose(state, outcome.succeeded);
      throw error;
    }
    const succeeded = outcome.succeeded && escaped.length === 0;
    // The commit is made before the slot can be reset for another run; one that failed keeps
    // the worktree, since the work then exists nowhere else.
    let delivery =
      state.kind === "worktree" && outcome.deliver
        ? await this.commit(state, ws, changes.changedFiles, outcome.deliver)
        : null;
    // An escape fails the run whatever the agent said: keep its workspace for inspection too.
    const keptAt = await this.disposal.dispose(
      state,
      succeeded,
      delivery !== null && delivery.commit === null,
    );
    if (
      delivery &&
      state.kind === "worktree" &&
      (outcome.deliver?.mode === "push" || outcome.deliver?.mode === "pr") &&
      delivery.commit !== null
    ) {
      if (succeeded)
        delivery =
          outcome.deliver.mode === "pr"
            ? await deliverPullRequest(state.repoDir, state.baseCommit, delivery, outcome.deliver)
            : await pushWork(state.repoDir, state.baseCommit, delivery, outcome.deliver);
      else
        delivery.skipped = outcome.succeeded
          ? "the run changed files outside its worktree"
          : "the run failed";
    }
    // A copy's commits live in loopd's side repository: meaningless to the caller.
    const headCommit = state.kind === "copy" ? null : (delivery?.commit ?? changes.headCommit);
    return { ...changes, headCommit, escaped, kept: keptAt !== null, keptAt, delivery };
  }

  /** Commits the run's work on its branch; null when it changed nothing of its own. */
  private async commit(
    state: WorktreeState,
    ws: Workspace,
    changedFiles: string[],
    request: DeliverRequest,
  ): Promise<RunDelivery | null> {
    // loopd's files: `.loopd/` at the top, and where the routine works when it is a subfolder.
    const subfolder = relative(state.slot.dir, ws.cwd);
    const excluded = [...new Set([".loopd", subfolder ? join(subfolder, ".loopd") : ".loopd"])];
    const own = changedFiles.filter(
      (path) => !excluded.some((loopd) => path === loopd || path.startsWith(`${loopd}/`)),
    );
    if (own.length === 0) return null;
    return commitWork(state.slot.dir, state.branch, request, excluded);
  }

  /** Removes kept workspaces older than pruneAfterMs and run branches without commits of their own. */
  prune(now: number = Date.now()): Promise<PruneResult> {
    return pruneWorkspaces(this.root, now, this.pruneAfterMs, this.mutex);
  }

  private async acquireWorktree(
    req: AcquireRequest,
    keyDir: string,
    repoDir: string,
    baseCommit: string,
    baseline: Promise<Map<string, string>> | null,
    subfolder = "",
  ): Promise<Workspace> {
    const name = `${req.routine}-${runSuffix(req)}`;
    const branch = `loopd/${req.routine}/${runSuffix(req)}`;
    const slot = await claimSlot(keyDir);
    try {
      await prepareSlot({ repoDir, slot, branch, baseCommit, mutex: this.mutex, signal: req.signal });
      const cwd = join(slot.dir, subfolder);
      const workspace: Workspace = { cwd, mode: "worktree", branch, baseCommit, repoDir };
      const state: WorktreeState = {
        kind: "worktree",
        name,
        keyDir,
        repoDir,
        slot,
        branch,
        baseCommit,
        baseline: baseline ? await baseline : null,
      };
      this.states.set(workspace, state);
      return workspace;
    } catch (error) {
      await releaseLock(slot.lock);
      throw error;
    }
  }

  private async acquireCopy(req: AcquireRequest, source: string, keyDir: string): Promise<Workspace> {
    const name = `${req.routine}-${runSuffix(req)}`;
    const copyDir = join(keyDir, "copies", name);
    const gitDir = `${copyDir}.git`;
    const baseline = await folderSnapshot(source, [this.root]);
    const baseCommit = await createCopy(source, copyDir, gitDir, req.signal);
    const workspace: Workspace = {
      cwd: copyDir,
      mode: "copy",
      branch: null,
      baseCommit: null,
      repoDir: source,
    };
    this.states.set(workspace, { kind: "copy", name, keyDir, source, copyDir, gitDir, baseCommit, baseline });
    return workspace;
  }

  private async escapes(state: WorktreeState | CopyState): Promise<string[]> {
    if (state.kind === "copy")
      return changedPaths(state.baseline, await folderSnapshot(state.source, [this.root]));
    if (state.baseline === null) return [];
    const after = await gitStatusSnapshot(state.repoDir, [this.root, join(state.repoDir, ".loopd")]);
    return changedPaths(state.baseline, after);
  }
}

/** `<run-id>[-<attempt>]`: the run's branch leaf; with the routine, its kept folder and record. */
function runSuffix(req: AcquireRequest): string {
  return req.attempt !== undefined && req.attempt > 1 ? `${req.runId}-${req.attempt}` : String(req.runId);
}

async function resolvePathBase(repoDir: string, base: string | undefined): Promise<string> {
  const ref = base ?? "HEAD";
  const commit = await gitText(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], {
    cwd: repoDir,
  }).catch(() => "");
  if (commit) return commit;
  throw new LoopdError("LOOPD_WORKSPACE_FAILED", `base ${ref} does not name a commit in ${repoDir}`, {
    hint:
      base === undefined
        ? "The repo has no commits yet: commit something first, or use `workspace: in-place`."
        : "Fix `base` in loopd.yaml, or create that branch.",
  });
}

function isDirectory(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}
