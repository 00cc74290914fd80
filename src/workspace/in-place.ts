/**
 * `in-place` runs work in the repo folder itself. There is nothing to isolate and no second
 * copy to compare against, so there is no escape detection; for a git repo the report is the
 * repo's diff against the commit it was at when the run started (including changes that were
 * already uncommitted then). A plain folder reports no changes: snapshotting an arbitrary
 * folder (the shell harness defaults to in-place, often in large trees) would cost too much.
 */
import { collectChanges } from "./changes.js";
import { gitText } from "./git.js";
import type { Workspace, WorkspaceReport } from "./workspaces.js";

export interface InPlaceState {
  kind: "in-place";
  dir: string;
  baseCommit: string | null;
}

export async function startInPlace(
  dir: string,
  isGit: boolean,
  signal?: AbortSignal,
): Promise<{ workspace: Workspace; state: InPlaceState }> {
  let baseCommit: string | null = null;
  let branch: string | null = null;
  if (isGit) {
    const options = { cwd: dir, signal };
    baseCommit =
      (await gitText(["rev-parse", "--verify", "--quiet", "HEAD"], options).catch(() => "")) || null;
    branch = (await gitText(["symbolic-ref", "--quiet", "--short", "HEAD"], options).catch(() => "")) || null;
  }
  return {
    workspace: { cwd: dir, mode: "in-place", branch, baseCommit, repoDir: dir },
    state: { kind: "in-place", dir, baseCommit },
  };
}

export async function finishInPlace(state: InPlaceState): Promise<WorkspaceReport> {
  if (state.baseCommit === null)
    return {
      changedFiles: [],
      diff: "",
      escaped: [],
      headCommit: null,
      kept: false,
      keptAt: null,
      delivery: null,
    };
  const changes = await collectChanges({ cwd: state.dir, baseCommit: state.baseCommit });
  return { ...changes, escaped: [], kept: false, keptAt: null, delivery: null };
}
