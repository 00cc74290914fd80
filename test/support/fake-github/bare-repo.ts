/**
 * The fake GitHub's view of a real bare git repository: branch heads, ahead/behind counts and
 * the merge update-branch performs (`git merge-tree --write-tree`, no worktree needed).
 */
import { execFileSync } from "node:child_process";

const IDENTITY = {
  GIT_AUTHOR_NAME: "GitHub",
  GIT_AUTHOR_EMAIL: "noreply@github.com",
  GIT_COMMITTER_NAME: "GitHub",
  GIT_COMMITTER_EMAIL: "noreply@github.com",
};

function git(bare: string, args: string[]): string {
  return execFileSync("git", args, {
    cwd: bare,
    env: { ...process.env, ...IDENTITY, GIT_TERMINAL_PROMPT: "0" },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  }).trim();
}

/** The commit a branch (or sha) names, or null. */
export function revParse(bare: string, ref: string): string | null {
  try {
    return git(bare, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]) || null;
  } catch {
    return null;
  }
}

/** Commits `head` has that `base` lacks (ahead) and the other way round (behind). */
export function aheadBehind(bare: string, base: string, head: string): { ahead: number; behind: number } {
  const [behind, ahead] = git(bare, ["rev-list", "--left-right", "--count", `${base}...${head}`])
    .split(/\s+/)
    .map(Number);
  return { ahead: ahead ?? 0, behind: behind ?? 0 };
}

/** Merges `base` into branch `head` as GitHub's update-branch does; null on a conflict. */
export function mergeIntoBranch(bare: string, head: string, base: string): string | null {
  const headSha = revParse(bare, `refs/heads/${head}`);
  const baseSha = revParse(bare, base);
  if (!headSha || !baseSha) return null;
  let tree: string;
  try {
    tree = git(bare, ["merge-tree", "--write-tree", headSha, baseSha]).split("\n")[0]!;
  } catch {
    return null;
  }
  const commit = git(bare, [
    "commit-tree",
    tree,
    "-p",
    headSha,
    "-p",
    baseSha,
    "-m",
    `Merge branch '${base.replace(/^refs\/heads\//, "")}' into ${head}`,
  ]);
  git(bare, ["update-ref", `refs/heads/${head}`, commit, headSha]);
  return commit;
}
