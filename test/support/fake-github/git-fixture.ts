/**
 * A real bare repository for the fake GitHub (`state.repos[…].bare`) and a scratch clone to
 * shape its branches from a test: commit files on a branch and push, in one call each.
 *
 *   const origin = seedRepo(dir);                          // main with README.md
 *   origin.commit("feature", { "src/a.ts": "…" }, "Add a"); // branch feature from main
 *   github.state.repos["acme/web"] = { bare: origin.bare };
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

const IDENTITY = {
  GIT_AUTHOR_NAME: "Test",
  GIT_AUTHOR_EMAIL: "test@example.com",
  GIT_COMMITTER_NAME: "Test",
  GIT_COMMITTER_EMAIL: "test@example.com",
};

export interface SeededRepo {
  bare: string;
  /** Commits `files` on `branch` (created from `from`, default main, if new) and pushes it; returns the sha. */
  commit(branch: string, files: Record<string, string>, message: string, from?: string): string;
  /** The sha of a branch in the bare repository. */
  head(branch: string): string;
  /** Runs git in the bare repository. */
  git(...args: string[]): string;
}

export function seedRepo(
  root: string,
  files: Record<string, string> = { "README.md": "# web\n" },
): SeededRepo {
  const bare = join(root, "origin.git");
  const work = join(root, "seed");
  const run = (cwd: string, args: string[]) =>
    execFileSync("git", args, { cwd, encoding: "utf8", env: { ...process.env, ...IDENTITY } }).trim();
  mkdirSync(root, { recursive: true });
  run(root, ["init", "--quiet", "--bare", "--initial-branch=main", bare]);
  run(root, ["init", "--quiet", "--initial-branch=main", work]);
  run(work, ["remote", "add", "origin", bare]);
  const write = (entries: Record<string, string>) => {
    for (const [path, text] of Object.entries(entries)) {
      mkdirSync(dirname(join(work, path)), { recursive: true });
      writeFileSync(join(work, path), text);
    }
  };
  write(files);
  run(work, ["add", "-A"]);
  run(work, ["commit", "--quiet", "-m", "initial"]);
  run(work, ["push", "--quiet", "origin", "main"]);
  return {
    bare,
    commit(branch, entries, message, from = "main") {
      run(work, ["fetch", "--quiet", "origin"]);
      const exists = run(work, ["ls-remote", "origin", `refs/heads/${branch}`]) !== "";
      run(work, ["checkout", "--quiet", "-B", branch, exists ? `origin/${branch}` : `origin/${from}`]);
      write(entries);
      run(work, ["add", "-A"]);
      run(work, ["commit", "--quiet", "-m", message]);
      run(work, ["push", "--quiet", "origin", `${branch}:refs/heads/${branch}`]);
      return run(work, ["rev-parse", "HEAD"]);
    },
    head: (branch) => run(bare, ["rev-parse", `refs/heads/${branch}`]),
    git: (...args) => run(bare, args),
  };
}
