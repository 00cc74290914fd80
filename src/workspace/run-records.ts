/**
 * A small JSON file per finished worktree run (`<root>/<repo-key>/runs/<name>.json`): which
 * branch it left, the commit that branch started from and where a kept worktree went. prune()
 * needs both to decide whether a branch carries commits of its own and when a kept worktree
 * has waited long enough.
 */
import { promises as fs } from "node:fs";
import { join } from "node:path";

export interface RunRecord {
  /** The git repository of the worktree; null for copy workspaces. */
  repoDir: string | null;
  branch: string | null;
  baseCommit: string | null;
  succeeded: boolean;
  finishedAt: number;
  /** Where the workspace was kept, until prune() removes it. */
  kept: string | null;
}

export function recordPath(keyDir: string, name: string): string {
  return join(keyDir, "runs", `${name}.json`);
}

export async function writeRecord(path: string, record: RunRecord): Promise<void> {
  await fs.mkdir(join(path, ".."), { recursive: true });
  // Write-then-rename so prune() in another process never reads half a file.
  const temporary = `${path}.${process.pid}.tmp`;
  await fs.writeFile(temporary, JSON.stringify(record, null, 2));
  await fs.rename(temporary, path);
}

/** Every record under the workspaces root, with its file path. */
export async function listRecords(root: string): Promise<Array<{ path: string; record: RunRecord }>> {
  const found: Array<{ path: string; record: RunRecord }> = [];
  const keys = await fs.readdir(root).catch(() => [] as string[]);
  for (const key of keys) {
    const dir = join(root, key, "runs");
    const files = await fs.readdir(dir).catch(() => [] as string[]);
    for (const file of files.filter((name) => name.endsWith(".json"))) {
      const path = join(dir, file);
      try {
        found.push({ path, record: JSON.parse(await fs.readFile(path, "utf8")) as RunRecord });
      } catch {
        // A record being replaced right now (rename in flight) is picked up by the next prune.
      }
    }
  }
  return found;
}
