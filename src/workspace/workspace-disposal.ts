/**
 * The end of a run's workspace: keep it for inspection (moved to `kept/<routine>-<run-id>`)
 * or give it back (worktree slot to the pool, copy deleted), and leave the run record that
 * prune() works from.
 */
import { existsSync, promises as fs } from "node:fs";
import { join } from "node:path";
import type { Snapshot } from "./escape-detection.js";
import { recordPath, writeRecord } from "./run-records.js";
import { type KeyedMutex, keepSlot, releaseSlot, type Slot } from "./worktree-pool.js";

export interface WorktreeState {
  kind: "worktree";
  /** `<routine>-<run-id>[-<attempt>]`. */
  name: string;
  keyDir: string;
  repoDir: string;
  slot: Slot;
  branch: string;
  baseCommit: string;
  /** The main checkout before the run; null for URL repos (their clone has no checkout). */
  baseline: Snapshot | null;
}

export interface CopyState {
  kind: "copy";
  name: string;
  keyDir: string;
  source: string;
  copyDir: string;
  /** The side repository holding the copy's base commit. */
  gitDir: string;
  baseCommit: string;
  baseline: Snapshot;
}

export interface DisposalOptions {
  poolSize: number;
  keep: "failed" | "always" | "never";
  mutex: KeyedMutex;
}

export class WorkspaceDisposal {
  constructor(private readonly options: DisposalOptions) {}

  /**
   * Returns where the workspace was kept, or null when it went back. `mustKeep`: it holds work
   * that exists nowhere else (its commit failed), so it is kept whatever `keep` says.
   */
  async dispose(
    state: WorktreeState | CopyState,
    succeeded: boolean,
    mustKeep = false,
  ): Promise<string | null> {
    const { keep, poolSize, mutex } = this.options;
    const keptDir =
      mustKeep || keep === "always" || (keep === "failed" && !succeeded) ? freePath(state) : null;
    const finishedAt = Date.now();
    if (state.kind === "copy") {
      await fs.rm(state.gitDir, { recursive: true, force: true });
      if (keptDir === null) {
        await fs.rm(state.copyDir, { recursive: true, force: true });
        return null;
      }
      await fs.mkdir(join(keptDir, ".."), { recursive: true });
      await fs.rename(state.copyDir, keptDir);
      await writeRecord(recordPath(state.keyDir, state.name), {
        repoDir: null,
        branch: null,
        baseCommit: null,
        succeeded,
        finishedAt,
        kept: keptDir,
      });
      return keptDir;
    }
    if (keptDir === null) await releaseSlot(state.repoDir, state.slot, poolSize, mutex);
    else await keepSlot(state.repoDir, state.slot, keptDir, mutex);
    await writeRecord(recordPath(state.keyDir, state.name), {
      repoDir: state.repoDir,
      branch: state.branch,
      baseCommit: state.baseCommit,
      succeeded,
      finishedAt,
      kept: keptDir,
    });
    return keptDir;
  }
}

/** `kept/<name>`, or `kept/<name>.<n>` if a folder of that name is still there. */
function freePath(state: WorktreeState | CopyState): string {
  const base = join(state.keyDir, "kept", state.name);
  let path = base;
  for (let n = 2; existsSync(path); n++) path = `${base}.${n}`;
  return path;
}
