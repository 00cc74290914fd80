/**
 * Housekeeping for finished runs: kept workspaces older than the retention are removed, and
 * `loopd/…` branches that gained no commits of their own (nothing committed by the agent or
 * by `deliver`) are deleted. Branches with commits stay, reported as kept: they are the run's
 * deliverable.
 */
import { existsSync, promises as fs } from "node:fs";
import { git, gitText } from "./git.js";
import { listRecords, writeRecord } from "./run-records.js";
import { type KeyedMutex, removeWorktree } from "./worktree-pool.js";

export interface PruneResult {
  /** Kept workspace folders removed. */
  removed: string[];
  /** Run branches deleted because they had no commits beyond their base. */
  deletedBranches: string[];
  /** Run branches kept because they carry commits (the run's delivered work); each reported once. */
  keptBranches: string[];
}

export async function pruneWorkspaces(
  root: string,
  now: number,
  pruneAfterMs: number,
  mutex: KeyedMutex,
): Promise<PruneResult> {
  const result: PruneResult = { removed: [], deletedBranches: [], keptBranches: [] };
  const touched = new Set<string>();
  for (const { path, record } of await listRecords(root)) {
    const repoDir = record.repoDir !== null && existsSync(record.repoDir) ? record.repoDir : null;
    if (record.kept !== null) {
      if (record.finishedAt + pruneAfterMs > now) continue;
      const kept = record.kept;
      if (repoDir) await mutex.run(repoDir, () => removeWorktree(repoDir, kept));
      else await fs.rm(kept, { recursive: true, force: true });
      result.removed.push(kept);
      record.kept = null;
      if (repoDir) touched.add(repoDir);
    }
    if (repoDir && record.branch && record.baseCommit) {
      const outcome = await pruneBranch(repoDir, record.branch, record.baseCommit);
      if (outcome === "deleted") result.deletedBranches.push(record.branch);
      if (outcome === "kept") result.keptBranches.push(record.branch);
      if (outcome === "failed") {
        // Checked out somewhere (a slot whose release was interrupted): try again next time.
        await writeRecord(path, record);
        continue;
      }
    }
    await fs.rm(path, { force: true });
  }
  for (const repoDir of touched) {
    await mutex.run(repoDir, () => git(["worktree", "prune"], { cwd: repoDir }).catch(() => undefined));
  }
  return result;
}

async function pruneBranch(
  repoDir: string,
  branch: string,
  baseCommit: string,
): Promise<"deleted" | "kept" | "gone" | "failed"> {
  const ref = `refs/heads/${branch}`;
  const own = await gitText(["rev-list", "--count", `${baseCommit}..${ref}`], { cwd: repoDir }).catch(
    () => null,
  );
  if (own === null) return "gone";
  if (Number(own) > 0) return "kept";
  try {
    await git(["branch", "--quiet", "-D", branch], { cwd: repoDir });
    return "deleted";
  } catch {
    return "failed";
  }
}
