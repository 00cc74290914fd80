/**
 * What a run changed: files and a unified diff against the commit it started from, covering
 * the agent's commits, uncommitted edits and new untracked (not ignored) files alike. The
 * working tree is staged into a throw-away index and object directory (GIT_INDEX_FILE,
 * GIT_OBJECT_DIRECTORY), so neither the agent's own index nor the repo's object store is
 * touched; the real index is copied first so `git add -A` only hashes files that changed.
 */
import { existsSync, promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { git, gitText, splitZ } from "./git.js";

/** Diffs larger than this are cut, ending with TRUNCATED_MARKER. */
export const MAX_DIFF_BYTES = 256 * 1024;
export const TRUNCATED_MARKER = "\n[truncated]\n";

export interface Changes {
  changedFiles: string[];
  diff: string;
  headCommit: string | null;
}

export interface ChangesRequest {
  /** A folder of the working tree (git paths are reported relative to its top level). */
  cwd: string;
  baseCommit: string;
  /** GIT_DIR / GIT_WORK_TREE for a copy workspace whose repository lives outside the folder. */
  env?: Record<string, string>;
  signal?: AbortSignal | undefined;
}

export async function collectChanges(request: ChangesRequest): Promise<Changes> {
  const { cwd, baseCommit, signal } = request;
  const base = { cwd, env: request.env ?? {}, signal };
  const [indexPath, objectsPath] = (
    await gitText(["rev-parse", "--git-path", "index", "--git-path", "objects"], base)
  )
    .split("\n")
    .map((path) => resolve(cwd, path));
  const scratch = await fs.mkdtemp(join(tmpdir(), "loopd-changes-"));
  try {
    const index = join(scratch, "index");
    if (indexPath && existsSync(indexPath)) await fs.copyFile(indexPath, index);
    await fs.mkdir(join(scratch, "objects"));
    const staged = {
      ...base,
      env: {
        ...base.env,
        GIT_INDEX_FILE: index,
        GIT_OBJECT_DIRECTORY: join(scratch, "objects"),
        GIT_ALTERNATE_OBJECT_DIRECTORIES: objectsPath ?? "",
      },
    };
    // `.loopd/` holds loopd's own files in the workspace (the routine's memory), not the agent's work.
    const addAll = ["add", "--all", "--", ".", ":(exclude,top).loopd"];
    await git(addAll, staged).catch(async () => {
      // A stale copied index (e.g. from an older git) is not worth failing over: start empty.
      await fs.rm(index, { force: true });
      await git(addAll, staged);
    });
    const names = await git(["diff", "--cached", "--name-only", "-z", "--no-renames", baseCommit], staged);
    const patch = await git(
      ["diff", "--cached", "--no-color", "--no-ext-diff", "--no-textconv", baseCommit],
      { ...staged, maxOutput: MAX_DIFF_BYTES },
    );
    const diff = patch.stdout.toString("utf8") + (patch.truncated ? TRUNCATED_MARKER : "");
    const headCommit = await gitText(["rev-parse", "--verify", "--quiet", "HEAD"], base).catch(() => null);
    return { changedFiles: splitZ(names.stdout), diff, headCommit: headCommit || null };
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
}
