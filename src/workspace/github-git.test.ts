/**
 * The git side of the GitHub loops against the fake GitHub's smart-HTTP server and a real bare
 * repository: a pull request's branches fetched into a worktree with the token from the
 * environment only (never in a command line, .git or git's messages), rebased on its base and
 * pushed with a lease; conflicts reported and aborted; refused pushes with the remote's words.
 */
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type SeededRepo, seedRepo } from "../../test/support/fake-github/git-fixture.js";
import { type FakeGithub, startFakeGithub } from "../../test/support/fake-github/server.js";
import { checkoutPullBranches, type GitRemote, integrateBase, pushBranch } from "./github-git.js";

const TOKEN = "ghp_git_side_secret";
const IDENTITY = { name: "loopd", email: "loopd@localhost" };
let github: FakeGithub;
let tmp: string;
let origin: SeededRepo;
let work: string;
let remote: GitRemote;
let argsLog: string;
let savedPath: string | undefined;

beforeEach(async () => {
  tmp = realpathSync(mkdtempSync(join(tmpdir(), "loopd-github-git-")));
  github = await startFakeGithub({ token: TOKEN });
  origin = seedRepo(join(tmp, "origin"), {
    "README.md": "# web\n",
    "src/cart.ts": "export const tax = 8;\n",
  });
  github.state.repos["acme/web"] = { bare: origin.bare };
  remote = { url: `${github.url}/acme/web.git`, token: TOKEN };
  work = join(tmp, "work");
  execFileSync("git", ["init", "--quiet", "--initial-branch=scratch", work]);
  // Every git command loopd starts goes through this shim, which writes down its arguments.
  const shim = join(tmp, "bin");
  argsLog = join(tmp, "git-args.log");
  mkdirSync(shim);
  const realGit = execFileSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).trim();
  writeFileSync(
    join(shim, "git"),
    `#!/bin/sh\nprintf '%s\\n' "$*" >> '${argsLog}'\nexec '${realGit}' "$@"\n`,
  );
  chmodSync(join(shim, "git"), 0o755);
  savedPath = process.env.PATH;
  process.env.PATH = `${shim}:${savedPath}`;
});
afterEach(async () => {
  process.env.PATH = savedPath;
  await github.close();
  rmSync(tmp, { recursive: true, force: true });
});

const pullRemotes = (head: string, base = "main") => ({
  head: { ...remote, branch: head },
  base: { ...remote, branch: base },
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe("the git side of a pull request", () => {
  it("fetches, rebases and pushes with a lease, the token only in git's environment", async () => {
    const featureSha = origin.commit("feature", { "src/a.ts": "export const a = 1;\n" }, "Add a");
    origin.commit("main", { "src/b.ts": "export const b = 2;\n" }, "Add b");
    const { headSha, baseSha } = await checkoutPullBranches(work, pullRemotes("feature"), "pr-4");
    expect(headSha).toBe(featureSha);
    expect(baseSha).toBe(origin.head("main"));

    const result = await integrateBase(work, baseSha, "rebase", IDENTITY);
    expect(result.status).toBe("updated");
    const rebased = result.status === "updated" ? result.head : "";
    await pushBranch(work, remote, rebased, "feature", { lease: headSha });
    expect(origin.head("feature")).toBe(rebased);
    expect(origin.git("merge-base", "--is-ancestor", "main", "feature")).toBe("");
    expect(await integrateBase(work, baseSha, "rebase", IDENTITY)).toEqual({
      status: "up-to-date",
      head: rebased,
    });

    // GitHub saw the token, as Basic auth, on every exchange…
    expect(github.gitRequests.length).toBeGreaterThan(2);
    const basic = `basic ${Buffer.from(`x-access-token:${TOKEN}`).toString("base64")}`;
    expect(
      github.gitRequests.every((exchange) => exchange.authorization?.toLowerCase() === basic.toLowerCase()),
    ).toBe(true);
    // …but no command line, and nothing in the worktree's .git, ever held it.
    const args = readFileSync(argsLog, "utf8");
    expect(args).toContain("push");
    expect(args).not.toContain(TOKEN);
    expect(args).not.toContain(Buffer.from(`x-access-token:${TOKEN}`).toString("base64"));
    for (const file of filesUnder(join(work, ".git"))) {
      expect(readFileSync(file).includes(TOKEN), file).toBe(false);
    }
  });

  it("merges the base with a merge commit and pushes it as a fast-forward", async () => {
    origin.commit("feature", { "src/a.ts": "a\n" }, "Add a");
    origin.commit("main", { "src/b.ts": "b\n" }, "Add b");
    const { baseSha } = await checkoutPullBranches(work, pullRemotes("feature"), "pr-4");
    const result = await integrateBase(work, baseSha, "merge", IDENTITY);
    expect(result.status).toBe("updated");
    await pushBranch(work, remote, "HEAD", "feature");
    expect(origin.git("rev-list", "--parents", "-n", "1", "feature").split(" ")).toHaveLength(3);
  });

  it("reports a conflict with its files and leaves the branch as it was", async () => {
    const featureSha = origin.commit("feature", { "src/cart.ts": "export const tax = 10;\n" }, "Raise tax");
    origin.commit("main", { "src/cart.ts": "export const tax = 9;\n" }, "Lower tax");
    const { baseSha } = await checkoutPullBranches(work, pullRemotes("feature"), "pr-4");
    expect(await integrateBase(work, baseSha, "rebase", IDENTITY)).toEqual({
      status: "conflict",
      files: ["src/cart.ts"],
    });
    expect(execFileSync("git", ["rev-parse", "HEAD"], { cwd: work, encoding: "utf8" }).trim()).toBe(
      featureSha,
    );
    expect(execFileSync("git", ["status", "--porcelain"], { cwd: work, encoding: "utf8" })).toBe("");
  });

  it("refuses a push over someone else's commits, with the remote's own words", async () => {
    const featureSha = origin.commit("feature", { "src/a.ts": "a\n" }, "Add a");
    await checkoutPullBranches(work, pullRemotes("feature"), "pr-4");
    origin.commit("feature", { "src/c.ts": "c\n" }, "Someone else's commit");
    writeFileSync(join(work, "src/d.ts"), "d\n");
    execFileSync("git", ["add", "-A"], { cwd: work });
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "Fix"], {
      cwd: work,
    });
    const plain = pushBranch(work, remote, "HEAD", "feature");
    await expect(plain).rejects.toMatchObject({
      code: "LOOPD_DELIVERY_FAILED",
      message: expect.stringMatching(/rejected.*fetch first|non-fast-forward/s),
    });
    const leased = pushBranch(work, remote, "HEAD", "feature", { lease: featureSha });
    await expect(leased).rejects.toMatchObject({
      code: "LOOPD_DELIVERY_FAILED",
      message: expect.stringContaining("stale info"),
    });
  });

  it("fails to fetch without the token, saying so without leaking anything", async () => {
    origin.commit("feature", { "src/a.ts": "a\n" }, "Add a");
    const failure = checkoutPullBranches(
      work,
      {
        head: { url: remote.url, token: "ghp_wrong", branch: "feature" },
        base: { ...remote, branch: "main" },
      },
      "pr-4",
    );
    await expect(failure).rejects.toMatchObject({
      code: "LOOPD_WORKSPACE_FAILED",
      message: expect.stringMatching(
        /^fetching feature \(http:\/\/127\.0\.0\.1:\d+\/acme\/web\.git\) failed: the remote refused the token \(/,
      ),
    });
    await expect(failure).rejects.not.toMatchObject({ message: expect.stringContaining("ghp_") });
  });
});
