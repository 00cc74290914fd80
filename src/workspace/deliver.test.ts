import {
  chmodSync,
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
import type { DeliverRequest } from "./deliver.js";
import { WorkspaceManager } from "./workspaces.js";

let tmp: string;
let repo: string;
let remote: string;

beforeEach(() => {
  tmp = realpathSync(mkdtempSync(join(tmpdir(), "loopd-deliver-")));
  repo = join(tmp, "repo");
  remote = join(tmp, "remote.git");
  mkdirSync(repo);
  git(repo, "init", "--quiet", "--initial-branch=main");
  writeFileSync(join(repo, "README.md"), "hello\n");
  writeFileSync(join(repo, ".gitignore"), "build/\n");
  git(repo, "add", "-A");
  git(repo, "commit", "--quiet", "-m", "initial");
  git(tmp, "init", "--quiet", "--bare", "--initial-branch=main", remote);
  git(repo, "remote", "add", "origin", remote);
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

const manager = (options: Partial<ConstructorParameters<typeof WorkspaceManager>[0]> = {}) =>
  new WorkspaceManager({ root: join(tmp, "home", "workspaces"), poolSize: 1, ...options });

function request(overrides: Partial<DeliverRequest> = {}): DeliverRequest {
  return {
    mode: "commit",
    message: ["Added the greeting", "Loopd-Run: 1"],
    author: { name: "Loop Bot", email: "bot@example.com" },
    noVerify: false,
    ...overrides,
  };
}

const pushTo = (branch: string, force = "loopd/fix/*") => ({ remote: "origin", branch, force });

describe("deliver: commit", () => {
  it("commits what the agent left uncommitted on the run branch, without loopd's files", async () => {
    const workspaces = manager();
    const ws = await workspaces.acquire({ repo, routine: "fix", runId: 1, mode: "worktree" });
    writeFileSync(join(ws.cwd, "hello.txt"), "hello\n");
    writeFileSync(join(ws.cwd, "README.md"), "hello world\n");
    mkdirSync(join(ws.cwd, ".loopd"));
    writeFileSync(join(ws.cwd, ".loopd", "memory.md"), "remembered\n");
    mkdirSync(join(ws.cwd, "build"));
    writeFileSync(join(ws.cwd, "build", "out.o"), "ignored\n");
    // Even staged by the agent, loopd's memory is not the agent's work.
    git(ws.cwd, "add", "-f", ".loopd/memory.md");

    const report = await workspaces.finish(ws, { succeeded: true, deliver: request() });
    const head = git(repo, "rev-parse", "loopd/fix/1");
    expect(report.delivery).toEqual({
      mode: "commit",
      branch: "loopd/fix/1",
      commit: head,
      pushed: false,
      remote: null,
      remoteBranch: null,
      skipped: null,
      error: null,
    });
    expect(report.headCommit).toBe(head);
    expect(git(repo, "rev-parse", "loopd/fix/1~1")).toBe(git(repo, "rev-parse", "main"));
    expect(git(repo, "show", "-s", "--format=%an <%ae>|%cn <%ce>", head)).toBe(
      "Loop Bot <bot@example.com>|Loop Bot <bot@example.com>",
    );
    expect(git(repo, "show", "-s", "--format=%B", head)).toBe("Added the greeting\n\nLoopd-Run: 1");
    expect(git(repo, "show", "-s", "--format=%(trailers:key=Loopd-Run,valueonly)", head)).toBe("1");
    expect(git(repo, "diff-tree", "--no-commit-id", "--name-only", "-r", head).split("\n").sort()).toEqual([
      "README.md",
      "hello.txt",
    ]);
    // The diff is the run's work, as before.
    expect(report.diff).toContain("+hello world");
  });

  it("keeps the work on the branch when the next run resets the same pool slot", async () => {
    const workspaces = manager();
    const first = await workspaces.acquire({ repo, routine: "fix", runId: 1, mode: "worktree" });
    writeFileSync(join(first.cwd, "hello.txt"), "hello\n");
    await workspaces.finish(first, { succeeded: true, deliver: request() });

    const second = await workspaces.acquire({ repo, routine: "fix", runId: 2, mode: "worktree" });
    expect(second.cwd).toBe(first.cwd);
    expect(existsSync(join(second.cwd, "hello.txt"))).toBe(false);
    await workspaces.finish(second, { succeeded: true, deliver: request() });
    expect(git(repo, "show", "loopd/fix/1:hello.txt")).toBe("hello");
    // Prune keeps the branch that carries the work, and says so; the empty one goes.
    const pruned = await workspaces.prune();
    expect(pruned.keptBranches).toEqual(["loopd/fix/1"]);
    expect(pruned.deletedBranches).toEqual(["loopd/fix/2"]);
  });

  it("records no delivery when the run changed nothing but loopd's memory", async () => {
    const workspaces = manager();
    const ws = await workspaces.acquire({ repo, routine: "fix", runId: 1, mode: "worktree" });
    mkdirSync(join(ws.cwd, ".loopd"));
    writeFileSync(join(ws.cwd, ".loopd", "memory.md"), "remembered\n");
    const report = await workspaces.finish(ws, { succeeded: true, deliver: request() });
    expect(report.delivery).toBeNull();
    expect(git(repo, "rev-parse", "loopd/fix/1")).toBe(git(repo, "rev-parse", "main"));
  });

  it("adds nothing when the agent committed everything itself, and commits the rest when it did not", async () => {
    const workspaces = manager();
    const ws = await workspaces.acquire({ repo, routine: "fix", runId: 1, mode: "worktree" });
    writeFileSync(join(ws.cwd, "a.txt"), "a\n");
    git(ws.cwd, "add", "a.txt");
    git(ws.cwd, "commit", "--quiet", "-m", "agent's own");
    const agentCommit = git(ws.cwd, "rev-parse", "HEAD");
    const report = await workspaces.finish(ws, { succeeded: true, deliver: request() });
    expect(report.delivery?.commit).toBe(agentCommit);

    const next = await workspaces.acquire({ repo, routine: "fix", runId: 2, mode: "worktree" });
    writeFileSync(join(next.cwd, "b.txt"), "b\n");
    git(next.cwd, "add", "b.txt");
    git(next.cwd, "commit", "--quiet", "-m", "agent's own");
    writeFileSync(join(next.cwd, "c.txt"), "c\n");
    const rest = await workspaces.finish(next, { succeeded: true, deliver: request() });
    expect(git(repo, "log", "--format=%s", "main..loopd/fix/2").split("\n")).toEqual([
      "Added the greeting",
      "agent's own",
    ]);
    expect(rest.delivery?.commit).toBe(git(repo, "rev-parse", "loopd/fix/2"));
  });

  it("commits a failed run's work on its kept branch too", async () => {
    const workspaces = manager();
    const ws = await workspaces.acquire({ repo, routine: "fix", runId: 3, mode: "worktree" });
    writeFileSync(join(ws.cwd, "half.txt"), "half done\n");
    const report = await workspaces.finish(ws, { succeeded: false, deliver: request() });
    expect(report.kept).toBe(true);
    expect(report.keptAt).toMatch(/kept\/fix-3$/);
    expect(git(repo, "show", "loopd/fix/3:half.txt")).toBe("half done");
  });

  it("works from the top of the worktree when the routine's repo is a subfolder", async () => {
    mkdirSync(join(repo, "pkg"));
    writeFileSync(join(repo, "pkg", "index.js"), "\n");
    git(repo, "add", "-A");
    git(repo, "commit", "--quiet", "-m", "pkg");
    const workspaces = manager();
    const ws = await workspaces.acquire({
      repo: join(repo, "pkg"),
      routine: "fix",
      runId: 1,
      mode: "worktree",
    });
    writeFileSync(join(ws.cwd, "new.js"), "new\n");
    mkdirSync(join(ws.cwd, ".loopd"));
    writeFileSync(join(ws.cwd, ".loopd", "memory.md"), "remembered\n");
    const report = await workspaces.finish(ws, { succeeded: true, deliver: request() });
    expect(git(repo, "diff-tree", "--no-commit-id", "--name-only", "-r", report.delivery!.commit!)).toBe(
      "pkg/new.js",
    );
  });

  it("runs the repo's commit hooks: a refusing hook fails the delivery and keeps the worktree", async () => {
    const hook = join(repo, ".git", "hooks", "pre-commit");
    writeFileSync(hook, "#!/bin/sh\necho 'lint: trailing whitespace in hello.txt' >&2\nexit 1\n");
    chmodSync(hook, 0o755);
    const workspaces = manager({ keep: "never" });
    const ws = await workspaces.acquire({ repo, routine: "fix", runId: 1, mode: "worktree" });
    writeFileSync(join(ws.cwd, "hello.txt"), "hello \n");
    const report = await workspaces.finish(ws, { succeeded: true, deliver: request() });
    expect(report.delivery).toMatchObject({
      commit: null,
      error: {
        code: "LOOPD_DELIVERY_FAILED",
        message: expect.stringContaining("lint: trailing whitespace in hello.txt"),
        hint: expect.stringContaining("git.noVerify"),
      },
    });
    // The work exists nowhere else: the worktree is kept whatever `keep` says.
    expect(report.kept).toBe(true);
    expect(readFileSync(join(report.keptAt!, "hello.txt"), "utf8")).toBe("hello \n");

    const skipped = await workspaces.acquire({ repo, routine: "fix", runId: 2, mode: "worktree" });
    writeFileSync(join(skipped.cwd, "hello.txt"), "hello \n");
    const noVerify = await workspaces.finish(skipped, {
      succeeded: true,
      deliver: request({ noVerify: true }),
    });
    expect(noVerify.delivery).toMatchObject({ commit: expect.any(String), error: null });
    expect(noVerify.kept).toBe(false);
  });
});

describe("deliver: push", () => {
  it("pushes a succeeded run's branch to the remote", async () => {
    const workspaces = manager();
    const ws = await workspaces.acquire({ repo, routine: "fix", runId: 1, mode: "worktree" });
    writeFileSync(join(ws.cwd, "hello.txt"), "hello\n");
    const report = await workspaces.finish(ws, {
      succeeded: true,
      deliver: request({ mode: "push", push: pushTo("loopd/fix/1") }),
    });
    expect(report.delivery).toMatchObject({
      mode: "push",
      pushed: true,
      remote,
      remoteBranch: "loopd/fix/1",
      error: null,
    });
    expect(git(remote, "rev-parse", "refs/heads/loopd/fix/1")).toBe(report.delivery!.commit);
    expect(git(remote, "show", "loopd/fix/1:hello.txt")).toBe("hello");
  });

  it("records the remote's refusal as a failed delivery, keeping the local branch", async () => {
    const hook = join(remote, "hooks", "pre-receive");
    writeFileSync(hook, "#!/bin/sh\necho 'branch protection: pushes need review' >&2\nexit 1\n");
    chmodSync(hook, 0o755);
    const workspaces = manager();
    const ws = await workspaces.acquire({ repo, routine: "fix", runId: 1, mode: "worktree" });
    writeFileSync(join(ws.cwd, "hello.txt"), "hello\n");
    const report = await workspaces.finish(ws, {
      succeeded: true,
      deliver: request({ mode: "push", push: pushTo("loopd/fix/1") }),
    });
    expect(report.delivery).toMatchObject({
      pushed: false,
      commit: git(repo, "rev-parse", "loopd/fix/1"),
      error: {
        code: "LOOPD_DELIVERY_FAILED",
        message: expect.stringContaining("branch protection: pushes need review"),
        hint: expect.stringContaining("git push origin loopd/fix/1:loopd/fix/1"),
      },
    });
    expect(report.kept).toBe(false);
  });

  it("never pushes a failed or escaped run", async () => {
    const workspaces = manager();
    const failed = await workspaces.acquire({ repo, routine: "fix", runId: 1, mode: "worktree" });
    writeFileSync(join(failed.cwd, "hello.txt"), "hello\n");
    const report = await workspaces.finish(failed, {
      succeeded: false,
      deliver: request({ mode: "push", push: pushTo("loopd/fix/1") }),
    });
    expect(report.delivery).toMatchObject({ pushed: false, skipped: "the run failed", error: null });
    expect(report.delivery?.commit).toBe(git(repo, "rev-parse", "loopd/fix/1"));

    const escaping = await workspaces.acquire({ repo, routine: "fix", runId: 2, mode: "worktree" });
    writeFileSync(join(escaping.cwd, "hello.txt"), "hello\n");
    writeFileSync(join(repo, "escaped.txt"), "outside\n");
    const escaped = await workspaces.finish(escaping, {
      succeeded: true,
      deliver: request({ mode: "push", push: pushTo("loopd/fix/2") }),
    });
    expect(escaped.escaped).toEqual([join(repo, "escaped.txt")]);
    expect(escaped.delivery).toMatchObject({ pushed: false, skipped: expect.stringContaining("outside") });
    expect(git(remote, "for-each-ref", "--format=%(refname)")).toBe("");
  });

  it("overwrites only remote branches in the routine's pattern (force-with-lease), fast-forwards others", async () => {
    const workspaces = manager();
    const run = async (runId: number, branch: string, force?: string) => {
      const ws = await workspaces.acquire({ repo, routine: "fix", runId, mode: "worktree" });
      writeFileSync(join(ws.cwd, "hello.txt"), `run ${runId}\n`);
      return workspaces.finish(ws, {
        succeeded: true,
        deliver: request({ mode: "push", push: pushTo(branch, force) }),
      });
    };
    // One rolling branch per routine: each run starts from the base, so it replaces the last.
    expect((await run(1, "loopd/fix/latest")).delivery?.pushed).toBe(true);
    const second = await run(2, "loopd/fix/latest");
    expect(second.delivery?.pushed).toBe(true);
    expect(git(remote, "rev-parse", "loopd/fix/latest")).toBe(second.delivery?.commit);

    // A branch outside the pattern is never rewritten: the non-fast-forward push is refused.
    expect((await run(3, "shared")).delivery?.pushed).toBe(true);
    const refused = await run(4, "shared");
    expect(refused.delivery).toMatchObject({
      pushed: false,
      error: { code: "LOOPD_DELIVERY_FAILED", message: expect.stringMatching(/rejected|non-fast-forward/) },
    });
    expect(git(remote, "show", "shared:hello.txt")).toBe("run 3");
  });

  it("pushes a URL repo's run branch back to its URL", async () => {
    git(repo, "push", "--quiet", "origin", "main");
    const url = `file://${remote}`;
    const workspaces = manager();
    const ws = await workspaces.acquire({ repo: url, routine: "fix", runId: 1, mode: "worktree" });
    writeFileSync(join(ws.cwd, "hello.txt"), "hello\n");
    const report = await workspaces.finish(ws, {
      succeeded: true,
      deliver: request({ mode: "push", push: pushTo("loopd/fix/1") }),
    });
    expect(report.delivery).toMatchObject({ pushed: true, remote: url, error: null });
    expect(git(remote, "show", "loopd/fix/1:hello.txt")).toBe("hello");
  });

  it("commits but never pushes work that holds a secret's value", async () => {
    const workspaces = manager();
    const ws = await workspaces.acquire({ repo, routine: "fix", runId: 1, mode: "worktree" });
    writeFileSync(join(ws.cwd, "config.env"), "TOKEN=tok-supersecret-123456\n");
    const redact = (text: string) => text.replaceAll("tok-supersecret-123456", "[redacted:MY_TOKEN]");
    const report = await workspaces.finish(ws, {
      succeeded: true,
      deliver: request({ mode: "push", push: pushTo("loopd/fix/1"), redact }),
    });
    expect(report.delivery).toMatchObject({
      pushed: false,
      commit: git(repo, "rev-parse", "loopd/fix/1"),
      error: { code: "LOOPD_DELIVERY_FAILED", message: expect.stringContaining("value of MY_TOKEN") },
    });
    expect(JSON.stringify(report.delivery)).not.toContain("tok-supersecret");
    expect(git(remote, "for-each-ref")).toBe("");
  });

  it("never writes a remote URL's credentials into the delivery", async () => {
    const workspaces = manager();
    const ws = await workspaces.acquire({ repo, routine: "fix", runId: 1, mode: "worktree" });
    writeFileSync(join(ws.cwd, "hello.txt"), "hello\n");
    const report = await workspaces.finish(ws, {
      succeeded: true,
      deliver: request({
        mode: "push",
        push: { remote: "http://user:s3cret-token@127.0.0.1:9/repo.git", branch: "loopd/fix/1", force: "" },
      }),
    });
    expect(report.delivery?.error?.code).toBe("LOOPD_DELIVERY_FAILED");
    expect(JSON.stringify(report.delivery)).not.toContain("s3cret-token");
    expect(report.delivery?.remote).toBe("http://***@127.0.0.1:9/repo.git");
  });
});
