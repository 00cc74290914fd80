/**
 * Workspaces for folders that are not git repositories: the folder is copied (without
 * node_modules and .git) and the copy is committed into a repository kept *beside* it, so the
 * agent sees exactly the original files while loopd can still diff the result like any
 * worktree. The original folder is guarded by an mtime/size snapshot (escape detection).
 */
import { promises as fs } from "node:fs";
import { basename } from "node:path";
import { LoopdError } from "../domain/errors.js";
import { SKIPPED_DIRS } from "./escape-detection.js";
import { git, gitText } from "./git.js";

/** Commits made by loopd itself must not depend on the host's git identity or signing setup. */
const COMMIT_CONFIG = [
  "-c",
  "user.name=loopd",
  "-c",
  "user.email=loopd@localhost",
  "-c",
  "commit.gpgsign=false",
];

/** The environment that points git at the copy's side repository. */
export function copyGitEnv(copyDir: string, gitDir: string): Record<string, string> {
  return { GIT_DIR: gitDir, GIT_WORK_TREE: copyDir };
}

/** Copies `source` to `copyDir` and records it as the base commit of `gitDir`; returns that commit. */
export async function createCopy(
  source: string,
  copyDir: string,
  gitDir: string,
  signal?: AbortSignal,
): Promise<string> {
  await fs.rm(copyDir, { recursive: true, force: true });
  await fs.rm(gitDir, { recursive: true, force: true });
  try {
    await fs.cp(source, copyDir, {
      recursive: true,
      verbatimSymlinks: true,
      filter: (path) => !SKIPPED_DIRS.has(basename(path)),
    });
  } catch (error) {
    throw new LoopdError(
      "LOOPD_WORKSPACE_FAILED",
      `could not copy ${source} to ${copyDir}: ${String(error)}`,
      {
        cause: error,
      },
    );
  }
  const options = { cwd: copyDir, env: copyGitEnv(copyDir, gitDir), signal };
  await git(["init", "--quiet"], options);
  await git(["add", "--all"], options);
  await git(
    [...COMMIT_CONFIG, "commit", "--quiet", "--no-verify", "--allow-empty", "-m", "loopd base"],
    options,
  );
  return gitText(["rev-parse", "HEAD"], options);
}
