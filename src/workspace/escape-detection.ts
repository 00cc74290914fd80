/**
 * Did the agent change files outside its workspace? A snapshot of the original folder taken
 * before the run is compared with one taken after. For a git checkout the snapshot is what
 * `git status` lists (untracked + modified paths) plus each path's size and mtime, which is
 * cheap even for very large repos; for a plain folder it is size + mtime of every file.
 * Any path that appears, disappears or changes between the two is an escape.
 */
import { promises as fs } from "node:fs";
import { join, resolve, sep } from "node:path";
import { git, splitZ } from "./git.js";

/** Absolute path → a signature that changes when the file does. */
export type Snapshot = Map<string, string>;

/** Folders never walked when snapshotting a plain folder (and never copied into a copy workspace). */
export const SKIPPED_DIRS = new Set([".git", "node_modules"]);

/**
 * `excluded`: absolute paths inside the checkout that are loopd's own (its workspaces root,
 * `.loopd/`), so runs writing to their worktree are not reported as escapes.
 */
export async function gitStatusSnapshot(
  repoDir: string,
  excluded: string[],
  signal?: AbortSignal,
): Promise<Snapshot> {
  const inside = excluded.filter((path) => isInside(repoDir, path) && path !== repoDir);
  const pathspecs = inside.map((path) => `:(top,exclude,literal)${path.slice(repoDir.length + 1)}`);
  const { stdout } = await git(
    [
      "status",
      "--porcelain=v1",
      "-z",
      "--untracked-files=all",
      "--ignore-submodules=dirty",
      "--",
      ...pathspecs,
    ],
    { cwd: repoDir, signal },
  );
  const entries = splitZ(stdout);
  const listed: Array<[string, string]> = [];
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    const code = entry.slice(0, 2);
    // A rename or copy is followed by its source path as a separate entry.
    if (code.includes("R") || code.includes("C")) i++;
    const path = join(repoDir, entry.slice(3));
    if (!inside.some((root) => isInside(root, path))) listed.push([path, code]);
  }
  const snapshot: Snapshot = new Map();
  await Promise.all(
    listed.map(async ([path, code]) => snapshot.set(path, `${code}|${await signature(path)}`)),
  );
  return snapshot;
}

/** size + mtime of every file under `dir`, skipping SKIPPED_DIRS and the `excluded` subtrees. */
export async function folderSnapshot(dir: string, excluded: string[]): Promise<Snapshot> {
  const snapshot: Snapshot = new Map();
  const walk = async (folder: string): Promise<void> => {
    const entries = await fs.readdir(folder, { withFileTypes: true }).catch(() => []);
    await Promise.all(
      entries.map(async (entry) => {
        const path = join(folder, entry.name);
        if (entry.isDirectory()) {
          if (SKIPPED_DIRS.has(entry.name) || excluded.some((root) => isInside(root, path))) return;
          await walk(path);
        } else {
          snapshot.set(path, await signature(path));
        }
      }),
    );
  };
  await walk(resolve(dir));
  return snapshot;
}

/** Paths added, removed or changed between two snapshots, sorted. */
export function changedPaths(before: Snapshot, after: Snapshot): string[] {
  const changed = new Set<string>();
  for (const [path, sig] of after) if (before.get(path) !== sig) changed.add(path);
  for (const path of before.keys()) if (!after.has(path)) changed.add(path);
  return [...changed].sort();
}

async function signature(path: string): Promise<string> {
  try {
    const stat = await fs.lstat(path);
    if (stat.isSymbolicLink()) return `link:${await fs.readlink(path)}`;
    return `${stat.size}:${stat.mtimeMs}`;
  } catch {
    return "missing";
  }
}

export function isInside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}
