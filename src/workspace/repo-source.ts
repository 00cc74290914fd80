/**
 * Where a routine's code comes from: a folder on this host or a clone URL, and the stable
 * key under which its pool, kept worktrees and clone live in the loopd home.
 */
import { createHash } from "node:crypto";
import { realpathSync } from "node:fs";
import { basename, resolve } from "node:path";

export type RepoSource =
  | { kind: "path"; path: string; key: string }
  | { kind: "url"; url: string; key: string };

/** https://, ssh://, git://, file:// and scp-like `git@host:path` (but not `C:\…`-style paths). */
const URL_PATTERN = /^(?:[a-z][a-z0-9+.-]*:\/\/|[^/\\\s@]+@[^/\\\s:]+:)/i;

export function isRepoUrl(repo: string): boolean {
  return URL_PATTERN.test(repo);
}

export function repoSource(repo: string): RepoSource {
  if (isRepoUrl(repo)) {
    const url = repo.trim();
    return {
      kind: "url",
      url,
      key: repoKey(
        url,
        url
          .replace(/[/:]+$/, "")
          .split(/[/:]/)
          .pop() ?? "repo",
      ),
    };
  }
  const absolute = resolve(repo);
  // The same folder reached through a symlink must share one pool.
  let path = absolute;
  try {
    path = realpathSync(absolute);
  } catch {
    // Missing folders are reported by the caller with LOOPD_REPO_NOT_FOUND.
  }
  return { kind: "path", path, key: repoKey(path, basename(path)) };
}

/** `<readable basename>-<10 hex chars of sha256(identity)>`: readable in `ls`, unique per repo. */
export function repoKey(identity: string, name: string): string {
  const readable =
    name
      .replace(/\.git$/, "")
      .replace(/[^A-Za-z0-9._-]+/g, "-")
      .slice(0, 40)
      .replace(/^[.-]+|-+$/g, "") || "repo";
  const hash = createHash("sha256").update(identity).digest("hex").slice(0, 10);
  return `${readable}-${hash}`;
}
