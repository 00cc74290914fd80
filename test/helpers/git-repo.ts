/** Real git for tests: one identity, a `git` that runs in a folder, and a throwaway repository. */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** Who a test's own commits are by (the machine's git config is not consulted). */
export const GIT_IDENTITY = {
  GIT_AUTHOR_NAME: "loopd test",
  GIT_AUTHOR_EMAIL: "test@loopd.dev",
  GIT_COMMITTER_NAME: "loopd test",
  GIT_COMMITTER_EMAIL: "test@loopd.dev",
};

/** `git <args>` in `cwd` as GIT_IDENTITY; its output, trimmed. Throws with git's stderr on failure. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, ...GIT_IDENTITY },
    stdio: ["ignore", "pipe", "pipe"],
  }).trim();
}

/** A throwaway git repository on `main` with one commit of `files`, for runs that need a worktree. */
export function createGitRepo(files: Record<string, string> = { "README.md": "# demo\n" }): string {
  const dir = mkdtempSync(join(tmpdir(), "loopd-repo-"));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  git(dir, "init", "-q", "-b", "main");
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "-m", "initial");
  return dir;
}

export function gitStatus(dir: string): string {
  return execFileSync("git", ["status", "--porcelain"], { cwd: dir, encoding: "utf8" });
}
