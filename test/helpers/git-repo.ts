/** A throwaway git repository with one commit, for runs that need a worktree. */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export function createGitRepo(files: Record<string, string> = { "README.md": "# demo\n" }): string {
  const dir = mkdtempSync(join(tmpdir(), "loopd-repo-"));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  const git = (...args: string[]) =>
    execFileSync("git", args, {
      cwd: dir,
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: "loopd test",
        GIT_AUTHOR_EMAIL: "test@loopd.dev",
        GIT_COMMITTER_NAME: "loopd test",
        GIT_COMMITTER_EMAIL: "test@loopd.dev",
      },
      stdio: "pipe",
    });
  git("init", "-q", "-b", "main");
  git("add", "-A");
  git("commit", "-q", "-m", "initial");
  return dir;
}

export function gitStatus(dir: string): string {
  return execFileSync("git", ["status", "--porcelain"], { cwd: dir, encoding: "utf8" });
}
