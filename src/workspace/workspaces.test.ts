import { spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { git } from "../../test/helpers/git-repo.js";
import { WorkspaceManager } from "./workspaces.js";

let tmp: string;
let repo: string;
let home: string;

/** A repo with two commits on main: README.md and src/a.txt. */
function makeRepo(dir: string): void {
  mkdirSync(join(dir, "src"), { recursive: true });
  git(dir, "init", "--quiet", "--initial-branch=main");
  writeFileSync(join(dir, "README.md"), "hello\n");
  writeFileSync(join(dir, ".gitignore"), "ignored/\n");
  git(dir, "add", "-A");
  git(dir, "commit", "--quiet", "-m", "one");
  writeFileSync(join(dir, "src", "a.txt"), "a\n");
  git(dir, "add", "-A");
  git(dir, "commit", "--quiet", "-m", "two");
}

beforeEach(() => {
  tmp = realpathSync(mkdtempSync(join(tmpdir(), "loopd-ws-")));
  repo = join(tmp, "repo");
  home = join(tmp, "home");
  makeRepo(repo);
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

const manager = (options: Partial<ConstructorParameters<typeof WorkspaceManager>[0]> = {}) =>
  new WorkspaceManager({ root: join(home, "workspaces"), ...options });

describe("WorkspaceManager worktree pool", () => {
  it("reuses pool-0 for the next run and resets it to a fresh branch at the base commit", async () => {
    const workspaces = manager();
    const head = git(repo, "rev-parse", "HEAD");
    const first = await workspaces.acquire({ repo, routine: "fix", runId: 1, mode: "worktree" });
    expect(first.cwd).toMatch(/workspaces\/repo-[0-9a-f]{10}\/pool-0$/);
    expect(first).toMatchObject({ mode: "worktree", branch: "loopd/fix/1", baseCommit: head, repoDir: repo });
    writeFileSync(join(first.cwd, "leftover.txt"), "x");
    mkdirSync(join(first.cwd, "ignored"));
    writeFileSync(join(first.cwd, "ignored", "build.out"), "x");
    await workspaces.finish(first, { succeeded: true });

    const base = git(repo, "rev-parse", "HEAD~1");
    const second = await workspaces.acquire({ repo, routine: "other", runId: 2, mode: "worktree", base });
    expect(second.cwd).toBe(first.cwd);
    expect(second.branch).toBe("loopd/other/2");
    expect(second.baseCommit).toBe(base);
    expect(existsSync(join(second.cwd, "leftover.txt"))).toBe(false);
    expect(existsSync(join(second.cwd, "ignored"))).toBe(false);
    expect(existsSync(join(second.cwd, "src", "a.txt"))).toBe(false);
    expect(git(second.cwd, "rev-parse", "--abbrev-ref", "HEAD")).toBe("loopd/other/2");
    expect(git(second.cwd, "rev-parse", "HEAD")).toBe(base);
    await workspaces.finish(second, { succeeded: true });
  });

  it("gives concurrent runs on one repo different slots and removes the surplus slot afterwards", async () => {
    const workspaces = manager({ poolSize: 1 });
    const [a, b] = await Promise.all([
      workspaces.acquire({ repo, routine: "lint", runId: 1, mode: "worktree" }),
      workspaces.acquire({ repo, routine: "docs", runId: 2, mode: "worktree" }),
    ]);
    expect(new Set([a!.cwd, b!.cwd]).size).toBe(2);
    expect([a!.cwd, b!.cwd].map((cwd) => cwd.slice(-6)).sort()).toEqual(["pool-0", "pool-1"]);
    await Promise.all([
      workspaces.finish(a!, { succeeded: true }),
      workspaces.finish(b!, { succeeded: true }),
    ]);
    const pool = join(a!.cwd, "..");
    expect(existsSync(join(pool, "pool-0"))).toBe(true);
    expect(existsSync(join(pool, "pool-1"))).toBe(false);
    expect(git(repo, "worktree", "list", "--porcelain")).not.toContain("pool-1");
  });

  it("skips a slot locked by another live process and takes over a lock whose pid is dead", async () => {
    const workspaces = manager();
    const warm = await workspaces.acquire({ repo, routine: "warm", runId: 1, mode: "worktree" });
    await workspaces.finish(warm, { succeeded: true });
    const lockPath = join(warm.cwd, "..", "pool-0.lock");

    const other = spawn("sleep", ["30"]);
    try {
      writeFileSync(lockPath, JSON.stringify({ pid: other.pid, token: "other", at: Date.now() }));
      const busy = await workspaces.acquire({ repo, routine: "fix", runId: 2, mode: "worktree" });
      expect(busy.cwd.endsWith("pool-1")).toBe(true);
      await workspaces.finish(busy, { succeeded: true });
    } finally {
      other.kill();
    }

    const dead = spawn("true");
    await new Promise((resolve) => dead.on("exit", resolve));
    writeFileSync(lockPath, JSON.stringify({ pid: dead.pid, token: "dead", at: Date.now() }));
    const takenOver = await workspaces.acquire({ repo, routine: "fix", runId: 3, mode: "worktree" });
    expect(takenOver.cwd).toBe(warm.cwd);
    expect(JSON.parse(readFileSync(lockPath, "utf8")).pid).toBe(process.pid);
    await workspaces.finish(takenOver, { succeeded: true });
    expect(existsSync(lockPath)).toBe(false);
  });

  it("reports committed, modified, deleted and untracked files and their diff", async () => {
    const workspaces = manager();
    const ws = await workspaces.acquire({ repo, routine: "fix", runId: 1, mode: "worktree" });
    writeFileSync(join(ws.cwd, "committed.txt"), "c\n");
    git(ws.cwd, "add", "committed.txt");
    git(ws.cwd, "commit", "--quiet", "-m", "agent");
    writeFileSync(join(ws.cwd, "README.md"), "hello world\n");
    rmSync(join(ws.cwd, "src", "a.txt"));
    writeFileSync(join(ws.cwd, "untracked.txt"), "u\n");
    mkdirSync(join(ws.cwd, "ignored"));
    writeFileSync(join(ws.cwd, "ignored", "x"), "ignored by .gitignore\n");
    // Staged state of the agent's index must survive the report.
    git(ws.cwd, "add", "README.md");
    const report = await workspaces.finish(ws, { succeeded: true });
    expect(report.changedFiles.sort()).toEqual(["README.md", "committed.txt", "src/a.txt", "untracked.txt"]);
    expect(report.diff).toContain("+hello world");
    expect(report.diff).toContain("+u");
    expect(report.diff).toContain("+c");
    expect(report.diff).toContain("deleted file mode");
    expect(report.headCommit).toBe(git(repo, "rev-parse", "loopd/fix/1"));
    expect(report.escaped).toEqual([]);
    expect(report.kept).toBe(false);
    expect(git(ws.cwd, "diff", "--cached", "--name-only")).toBe("README.md");
  });

  it("works in the matching subfolder of the worktree when the repo is a subfolder of a git repo", async () => {
    const workspaces = manager();
    const ws = await workspaces.acquire({
      repo: join(repo, "src"),
      routine: "sub",
      runId: 1,
      mode: "worktree",
    });
    expect(ws.cwd).toMatch(/pool-0\/src$/);
    expect(ws.repoDir).toBe(repo);
    writeFileSync(join(ws.cwd, "b.txt"), "b\n");
    expect((await workspaces.finish(ws, { succeeded: true })).changedFiles).toEqual(["src/b.txt"]);
  });

  it("caps a large diff at 256 KiB with a [truncated] marker", async () => {
    const workspaces = manager();
    const ws = await workspaces.acquire({ repo, routine: "big", runId: 1, mode: "worktree" });
    writeFileSync(join(ws.cwd, "big.txt"), "line of text\n".repeat(40_000));
    const report = await workspaces.finish(ws, { succeeded: true });
    expect(report.diff.length).toBeLessThanOrEqual(256 * 1024 + 20);
    expect(report.diff.endsWith("[truncated]\n")).toBe(true);
  });
});

describe("WorkspaceManager escape detection", () => {
  it("flags files written or modified in the main checkout, not the agent's worktree changes", async () => {
    writeFileSync(join(repo, "dirty-before.txt"), "already untracked\n");
    const workspaces = manager();
    const ws = await workspaces.acquire({ repo, routine: "fix", runId: 1, mode: "worktree" });
    writeFileSync(join(ws.cwd, "mine.txt"), "agent work\n");
    writeFileSync(join(ws.cwd, "README.md"), "agent edit\n");
    writeFileSync(join(repo, "escaped.txt"), "oops\n");
    writeFileSync(join(repo, "src", "a.txt"), "modified tracked file\n");
    mkdirSync(join(repo, ".loopd"));
    writeFileSync(join(repo, ".loopd", "state"), "loopd's own\n");
    const report = await workspaces.finish(ws, { succeeded: true });
    expect(report.escaped).toEqual([join(repo, "escaped.txt"), join(repo, "src", "a.txt")]);
    expect(report.changedFiles.sort()).toEqual(["README.md", "mine.txt"]);
    // The agent said it succeeded, but an escape fails the run: its worktree is kept to inspect.
    expect(report.kept).toBe(true);
  });

  it("ignores the workspaces root when the loopd home lies inside the repo", async () => {
    const workspaces = new WorkspaceManager({ root: join(repo, "home", "workspaces") });
    const ws = await workspaces.acquire({ repo, routine: "fix", runId: 1, mode: "worktree" });
    expect(ws.cwd.startsWith(join(repo, "home", "workspaces"))).toBe(true);
    writeFileSync(join(ws.cwd, "mine.txt"), "agent work\n");
    const report = await workspaces.finish(ws, { succeeded: true });
    expect(report.escaped).toEqual([]);
  });
});

describe("WorkspaceManager keep and prune", () => {
  it("keeps a failed run's worktree, then prune removes it and its commit-less branch", async () => {
    const workspaces = manager({ pruneAfterMs: 1000 });
    const failed = await workspaces.acquire({ repo, routine: "fix", runId: 7, mode: "worktree" });
    writeFileSync(join(failed.cwd, "evidence.txt"), "why it failed\n");
    const report = await workspaces.finish(failed, { succeeded: false });
    expect(report.kept).toBe(true);
    const kept = join(failed.cwd, "..", "kept", "fix-7");
    expect(readFileSync(join(kept, "evidence.txt"), "utf8")).toBe("why it failed\n");
    expect(existsSync(failed.cwd)).toBe(false);

    const succeeded = await workspaces.acquire({ repo, routine: "fix", runId: 8, mode: "worktree" });
    expect(succeeded.cwd).toBe(failed.cwd);
    writeFileSync(join(succeeded.cwd, "feature.txt"), "done\n");
    git(succeeded.cwd, "add", "-A");
    git(succeeded.cwd, "commit", "--quiet", "-m", "feature");
    await workspaces.finish(succeeded, { succeeded: true });
    const empty = await workspaces.acquire({ repo, routine: "fix", runId: 9, mode: "worktree" });
    await workspaces.finish(empty, { succeeded: true });

    const early = await workspaces.prune(Date.now() - 60_000);
    expect(early.removed).toEqual([]);
    // A succeeded run's branch without commits is useless at once; the kept one waits.
    expect(early.deletedBranches).toEqual(["loopd/fix/9"]);
    // The branch with the agent's commit stays, and is counted once.
    expect(early.keptBranches).toEqual(["loopd/fix/8"]);
    expect(existsSync(kept)).toBe(true);

    const later = await workspaces.prune(Date.now() + 2000);
    expect(later.removed).toEqual([kept]);
    expect(existsSync(kept)).toBe(false);
    expect(later.deletedBranches).toEqual(["loopd/fix/7"]);
    expect(later.keptBranches).toEqual([]);
    const branches = git(repo, "branch", "--list", "loopd/*", "--format=%(refname:short)");
    expect(branches).toBe("loopd/fix/8");
    expect(git(repo, "worktree", "list")).not.toContain("kept");
  });

  it("gives each attempt of a retried run its own branch so the kept attempt survives", async () => {
    const workspaces = manager();
    const first = await workspaces.acquire({ repo, routine: "fix", runId: 3, mode: "worktree" });
    await workspaces.finish(first, { succeeded: false });
    const retry = await workspaces.acquire({ repo, routine: "fix", runId: 3, attempt: 2, mode: "worktree" });
    expect(retry.branch).toBe("loopd/fix/3-2");
    await workspaces.finish(retry, { succeeded: true });
  });
});

describe("WorkspaceManager errors", () => {
  it("reports a missing repo folder as LOOPD_REPO_NOT_FOUND", async () => {
    await expect(
      manager().acquire({ repo: join(tmp, "nope"), routine: "fix", runId: 1, mode: "worktree" }),
    ).rejects.toMatchObject({ code: "LOOPD_REPO_NOT_FOUND" });
  });

  it("reports an unknown base as LOOPD_WORKSPACE_FAILED and frees the slot", async () => {
    const workspaces = manager();
    await expect(
      workspaces.acquire({ repo, routine: "fix", runId: 1, mode: "worktree", base: "no-such-branch" }),
    ).rejects.toMatchObject({
      code: "LOOPD_WORKSPACE_FAILED",
      message: expect.stringContaining("no-such-branch"),
    });
    const ws = await workspaces.acquire({ repo, routine: "fix", runId: 2, mode: "worktree" });
    expect(ws.cwd.endsWith("pool-0")).toBe(true);
    await workspaces.finish(ws, { succeeded: true });
  });

  it("stops preparing a workspace when the run is aborted", async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      manager().acquire({ repo, routine: "fix", runId: 1, mode: "worktree", signal: controller.signal }),
    ).rejects.toMatchObject({ code: "LOOPD_WORKSPACE_FAILED", message: expect.stringContaining("aborted") });
  });
});
