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
let workspaces: WorkspaceManager;

beforeEach(() => {
  tmp = realpathSync(mkdtempSync(join(tmpdir(), "loopd-ws-src-")));
  workspaces = new WorkspaceManager({ root: join(tmp, "home", "workspaces") });
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

function commitFile(dir: string, name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  git(dir, "add", "-A");
  git(dir, "commit", "--quiet", "-m", name);
  return git(dir, "rev-parse", "HEAD");
}

describe("WorkspaceManager with a clone URL", () => {
  it("clones into <home>/repos, fetches before each run and keeps run branches across fetches", async () => {
    const upstream = join(tmp, "upstream");
    mkdirSync(upstream);
    git(upstream, "init", "--quiet", "--initial-branch=trunk");
    const first = commitFile(upstream, "a.txt", "a\n");
    const bare = join(tmp, "upstream.git");
    git(tmp, "clone", "--quiet", "--bare", upstream, bare);
    const url = `file://${bare}`;

    const one = await workspaces.acquire({ repo: url, routine: "fix", runId: 1, mode: "worktree" });
    expect(one.repoDir).toMatch(/home\/repos\/upstream-[0-9a-f]{10}$/);
    expect(one.cwd).toMatch(/home\/workspaces\/upstream-[0-9a-f]{10}\/pool-0$/);
    expect(one).toMatchObject({ mode: "worktree", branch: "loopd/fix/1", baseCommit: first });
    expect(readFileSync(join(one.cwd, "a.txt"), "utf8")).toBe("a\n");
    writeFileSync(join(one.cwd, "b.txt"), "b\n");
    git(one.cwd, "add", "-A");
    git(one.cwd, "commit", "--quiet", "-m", "agent");
    const report = await workspaces.finish(one, { succeeded: true });
    expect(report).toMatchObject({ changedFiles: ["b.txt"], escaped: [], kept: false });

    const second = commitFile(upstream, "c.txt", "c\n");
    git(upstream, "push", "--quiet", bare, "trunk");
    const two = await workspaces.acquire({ repo: url, routine: "fix", runId: 2, mode: "worktree" });
    expect(two.cwd).toBe(one.cwd);
    expect(two.baseCommit).toBe(second);
    expect(existsSync(join(two.cwd, "b.txt"))).toBe(false);
    expect(existsSync(join(two.cwd, "c.txt"))).toBe(true);
    // `fetch --prune` must not take the agent's committed work with it.
    expect(git(two.repoDir, "rev-parse", "--verify", "loopd/fix/1")).toBe(report.headCommit);
    await workspaces.finish(two, { succeeded: true });

    const named = await workspaces.acquire({
      repo: url,
      routine: "fix",
      runId: 3,
      mode: "worktree",
      base: "trunk",
    });
    expect(named.baseCommit).toBe(second);
    await workspaces.finish(named, { succeeded: true });
  });

  it("serialises fetches of concurrent runs of one URL repo", async () => {
    const upstream = join(tmp, "upstream");
    mkdirSync(upstream);
    git(upstream, "init", "--quiet", "--initial-branch=main");
    commitFile(upstream, "a.txt", "a\n");
    const url = `file://${upstream}`;
    const runs = await Promise.all(
      [1, 2, 3].map((runId) => workspaces.acquire({ repo: url, routine: "fix", runId, mode: "worktree" })),
    );
    expect(new Set(runs.map((ws) => ws.cwd)).size).toBe(3);
    await Promise.all(runs.map((ws) => workspaces.finish(ws, { succeeded: true })));
  });

  it("refuses in-place mode for a URL and reports an unreachable URL with git's error", async () => {
    await expect(
      workspaces.acquire({ repo: `file://${tmp}/missing.git`, routine: "fix", runId: 1, mode: "in-place" }),
    ).rejects.toMatchObject({ code: "LOOPD_WORKSPACE_FAILED" });
    await expect(
      workspaces.acquire({ repo: `file://${tmp}/missing.git`, routine: "fix", runId: 1, mode: "worktree" }),
    ).rejects.toMatchObject({
      code: "LOOPD_WORKSPACE_FAILED",
      message: expect.stringContaining("could not clone"),
    });
  });
});

describe("WorkspaceManager with a folder that is not a git repo", () => {
  it("works on a copy without node_modules, diffs it and catches writes to the original", async () => {
    const folder = join(tmp, "notes");
    mkdirSync(join(folder, "node_modules", "dep"), { recursive: true });
    writeFileSync(join(folder, "node_modules", "dep", "index.js"), "x");
    writeFileSync(join(folder, "todo.md"), "- one\n");
    writeFileSync(join(folder, "keep.md"), "same\n");

    const ws = await workspaces.acquire({ repo: folder, routine: "tidy", runId: 1, mode: "worktree" });
    expect(ws).toMatchObject({ mode: "copy", branch: null, repoDir: folder });
    expect(ws.cwd).not.toBe(folder);
    expect(existsSync(join(ws.cwd, "node_modules"))).toBe(false);
    expect(existsSync(join(ws.cwd, ".git"))).toBe(false);
    writeFileSync(join(ws.cwd, "todo.md"), "- one\n- two\n");
    writeFileSync(join(ws.cwd, "new.md"), "fresh\n");
    writeFileSync(join(folder, "escaped.md"), "outside\n");

    const report = await workspaces.finish(ws, { succeeded: true });
    expect(report.changedFiles.sort()).toEqual(["new.md", "todo.md"]);
    expect(report.diff).toContain("+- two");
    expect(report.escaped).toEqual([join(folder, "escaped.md")]);
    // An escape fails the run: the copy is kept for inspection like any failed run's.
    expect(report.kept).toBe(true);
    expect(existsSync(ws.cwd)).toBe(false);
  });

  it("keeps the copy of a failed run and prune removes it later", async () => {
    const folder = join(tmp, "notes");
    mkdirSync(folder);
    writeFileSync(join(folder, "todo.md"), "- one\n");
    const ws = await workspaces.acquire({ repo: folder, routine: "tidy", runId: 2, mode: "worktree" });
    const report = await workspaces.finish(ws, { succeeded: false });
    expect(report.kept).toBe(true);
    const { removed } = await workspaces.prune(Date.now() + 8 * 24 * 3600 * 1000);
    expect(removed).toHaveLength(1);
    expect(removed[0]).toMatch(/kept\/tidy-2$/);
    expect(existsSync(removed[0]!)).toBe(false);
  });
});

describe("WorkspaceManager in-place", () => {
  it("runs in the repo itself and reports its diff against the starting commit", async () => {
    const repo = join(tmp, "repo");
    mkdirSync(repo);
    git(repo, "init", "--quiet", "--initial-branch=main");
    const head = commitFile(repo, "a.txt", "a\n");
    const ws = await workspaces.acquire({ repo, routine: "fmt", runId: 1, mode: "in-place" });
    expect(ws).toMatchObject({
      cwd: repo,
      mode: "in-place",
      branch: "main",
      baseCommit: head,
      repoDir: repo,
    });
    writeFileSync(join(repo, "a.txt"), "A\n");
    writeFileSync(join(repo, "b.txt"), "b\n");
    const report = await workspaces.finish(ws, { succeeded: false });
    expect(report).toMatchObject({
      changedFiles: ["a.txt", "b.txt"],
      escaped: [],
      kept: false,
      headCommit: head,
    });
    expect(report.diff).toContain("+A");
    // The report must not stage anything in the user's index.
    expect(git(repo, "diff", "--cached", "--name-only")).toBe("");
    expect(git(repo, "ls-files", "--others")).toBe("b.txt");
  });

  it("runs in a plain folder with an empty report", async () => {
    const folder = join(tmp, "plain");
    mkdirSync(folder);
    const ws = await workspaces.acquire({ repo: folder, routine: "fmt", runId: 1, mode: "in-place" });
    expect(ws).toMatchObject({ cwd: folder, mode: "in-place", branch: null, baseCommit: null });
    writeFileSync(join(folder, "x"), "x");
    expect(await workspaces.finish(ws, { succeeded: true })).toEqual({
      changedFiles: [],
      diff: "",
      escaped: [],
      headCommit: null,
      kept: false,
      keptAt: null,
      delivery: null,
    });
  });
});
