import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunDelivery } from "../src/domain/run-delivery.js";
import { type CliResult, json, runCli } from "./helpers/cli.js";
import { fakeAgentEnv, writes } from "./helpers/fake-agent.js";
import { createGitRepo, git } from "./helpers/git-repo.js";
import { type FakeModelServer, startFakeModelServer } from "./support/fake-model/server.js";

/** The body of the agents' reports: what becomes the commit message body. */
const DETAIL = "More detail on a second line.";

interface RunJson {
  id: number;
  status: string;
  branch: string | null;
  headCommit: string | null;
  workspace: string | null;
  changedFiles: string[];
  diff: string;
  error: { code: string } | null;
  delivery: RunDelivery | null;
}

describe("a run's work is its deliverable", () => {
  let model: FakeModelServer;
  let root: string;
  let repo: string;
  let remote: string;
  let refusing: string;
  let env: Record<string, string>;
  const loopd = (...args: string[]): Promise<CliResult> => runCli(args, { env, cwd: root });
  /** The run `loopd run --wait --json` ran, as show-run has it (a failed run is in the error's details). */
  const showRun = async (run: CliResult) => {
    expect(run.code === 0 || run.code === 1, run.stdout + run.stderr).toBe(true);
    const printed = json<{ id?: number; error?: { details: { run: { id: number } } } }>(run);
    const id = printed.id ?? printed.error?.details.run.id;
    return json<RunJson>(await loopd("show-run", String(id), "--json"));
  };

  beforeAll(async () => {
    model = await startFakeModelServer({ script: [] });
    root = mkdtempSync(join(tmpdir(), "loopd-delivery-"));
    repo = createGitRepo({ "README.md": "# demo\n" });
    remote = join(root, "remote.git");
    refusing = join(root, "refusing.git");
    for (const bare of [remote, refusing]) git(root, "init", "--quiet", "--bare", bare);
    writeFileSync(
      join(refusing, "hooks", "pre-receive"),
      "#!/bin/sh\necho 'GL-HOOK-ERR: pushes to this repository need a review' >&2\nexit 1\n",
    );
    chmodSync(join(refusing, "hooks", "pre-receive"), 0o755);
    git(repo, "remote", "add", "origin", remote);
    env = fakeAgentEnv(root, model.url);
    const agent = (name: string, extra: string) => `  - name: ${name}
    harness: claude
    model: claude-haiku-4-5
    repo: ${repo}
    prompt: "Write the file."
    maxTurns: 6
    timeout: 2m
${extra}`;
    const configFile = join(root, "loopd.yaml");
    writeFileSync(
      configFile,
      `workspaces: { pool: 1 }
git: { author: "Loop Bot <bot@example.com>" }
routines:
${agent("writer", "")}
${agent("pusher", "    deliver: push\n")}
${agent("refused", `    deliver: push\n    push: { remote: "${refusing}" }\n`)}
${agent("failing", `    deliver: push\n    verify: { command: "false" }\n`)}
  - name: shell-writer
    command: "echo data > out.txt"
    workspace: worktree
    repo: ${repo}
`,
    );
    const applied = await loopd("apply", "-f", configFile);
    expect(applied.code, applied.stderr).toBe(0);
  });
  afterAll(async () => {
    await model?.close();
    rmSync(root, { recursive: true, force: true });
    rmSync(repo, { recursive: true, force: true });
  });

  it("commits what the agent left uncommitted on its branch, and the next run in the slot keeps it there", async () => {
    model.setScript(writes("hello.txt", "hello\n", `Wrote hello.txt.\n${DETAIL}`));
    const first = await showRun(await loopd("run", "writer", "--wait", "--json"));
    expect(first.status).toBe("succeeded");
    const head = git(repo, "rev-parse", `loopd/writer/${first.id}`);
    expect(first.delivery).toEqual({
      mode: "commit",
      branch: `loopd/writer/${first.id}`,
      commit: head,
      pushed: false,
      remote: null,
      remoteBranch: null,
      skipped: null,
      error: null,
    });
    expect(first.headCommit).toBe(head);
    expect(git(repo, "show", "-s", "--format=%an <%ae>|%cn <%ce>", head)).toBe(
      "Loop Bot <bot@example.com>|Loop Bot <bot@example.com>",
    );
    expect(git(repo, "show", "-s", "--format=%B", head)).toBe(`Wrote hello.txt.\n\nLoopd-Run: ${first.id}`);
    // Only the agent's file: loopd's memory (.loopd/memory.md) stays out of the commit.
    expect(git(repo, "diff-tree", "--no-commit-id", "--name-only", "-r", head)).toBe("hello.txt");
    expect(git(repo, "status", "--porcelain")).toBe("");

    const text = (await loopd("show-run", String(first.id))).stdout;
    expect(text).toContain(`delivered: loopd/writer/${first.id} @ ${head.slice(0, 12)}`);
    expect(text).toContain("(pool slot: reused by later runs)");
    const listed = json<Array<{ id: number; delivery: RunDelivery | null }>>(
      await loopd("runs", "writer", "--json"),
    );
    expect(listed.find((run) => run.id === first.id)?.delivery?.commit).toBe(head);
    expect((await loopd("runs", "writer")).stdout).toContain(head.slice(0, 8));
    const log = (await loopd("logs", String(first.id))).stdout;
    expect(log).toContain(`work committed on loopd/writer/${first.id} @ ${head.slice(0, 12)}`);

    // The next run takes the same (only) slot and resets it: the first run's work stays on its branch.
    model.setScript(writes("other.txt", "other\n", `Wrote other.txt.\n${DETAIL}`));
    const second = await showRun(await loopd("run", "writer", "--wait", "--json"));
    expect(second.status).toBe("succeeded");
    expect(second.workspace).toBe(first.workspace);
    expect(git(repo, "show", `loopd/writer/${first.id}:hello.txt`)).toBe("hello");
    expect(git(repo, "ls-tree", "--name-only", `loopd/writer/${second.id}`).split("\n")).not.toContain(
      "hello.txt",
    );
  });

  it("deliver: push puts the branch on the remote", async () => {
    model.setScript(writes("pushed.txt", "pushed\n", `Wrote pushed.txt.\n${DETAIL}`));
    const run = await showRun(await loopd("run", "pusher", "--wait", "--json"));
    expect(run.status).toBe("succeeded");
    const branch = `loopd/pusher/${run.id}`;
    expect(run.delivery).toMatchObject({
      mode: "push",
      pushed: true,
      remote,
      remoteBranch: branch,
      error: null,
    });
    expect(git(remote, "rev-parse", branch)).toBe(run.delivery?.commit);
    expect(git(remote, "show", `${branch}:pushed.txt`)).toBe("pushed");
    expect((await loopd("show-run", String(run.id))).stdout).toContain(`pushed to ${remote} ${branch}`);
    expect((await loopd("show", "pusher")).stdout).toMatch(
      /deliver\s+push to origin loopd\/\{routine\}\/\{run\}/,
    );
    expect((await loopd("show", "writer")).stdout).toMatch(/deliver\s+commit/);
  });

  it("a remote that refuses the push is a failed delivery, with its message, of a succeeded run", async () => {
    model.setScript(writes("refused.txt", "refused\n", `Wrote refused.txt.\n${DETAIL}`));
    const result = await loopd("run", "refused", "--wait", "--json");
    expect(result.code, result.stdout).toBe(0);
    const run = await showRun(result);
    expect(run.status).toBe("succeeded");
    expect(run.error).toBeNull();
    expect(run.delivery).toMatchObject({
      pushed: false,
      commit: git(repo, "rev-parse", `loopd/refused/${run.id}`),
      error: {
        code: "LOOPD_DELIVERY_FAILED",
        message: expect.stringContaining("GL-HOOK-ERR: pushes to this repository need a review"),
      },
    });
    expect(git(refusing, "for-each-ref")).toBe("");
    const text = (await loopd("show-run", String(run.id))).stdout;
    expect(text).toContain("LOOPD_DELIVERY_FAILED");
    expect(text).toContain("GL-HOOK-ERR");
    expect((await loopd("logs", String(run.id))).stdout).toContain("delivery failed: LOOPD_DELIVERY_FAILED");
  });

  it("a failed run's work is committed on its branch but never pushed", async () => {
    model.setScript(writes("broken.txt", "broken\n", `Wrote broken.txt.\n${DETAIL}`));
    const result = await loopd("run", "failing", "--wait", "--json");
    expect(result.code, result.stdout).toBe(1);
    const run = await showRun(result);
    expect(run.status).toBe("failed");
    expect(run.error?.code).toBe("LOOPD_VERIFY_FAILED");
    const branch = `loopd/failing/${run.id}`;
    expect(run.delivery).toMatchObject({ pushed: false, skipped: "the run failed", error: null });
    expect(git(repo, "show", `${branch}:broken.txt`)).toBe("broken");
    expect(git(remote, "for-each-ref", "--format=%(refname)")).not.toContain("loopd/failing/");
    // Kept for inspection: the run names the kept worktree, not the pool slot.
    expect(run.workspace).toMatch(/\/kept\/failing-\d+$/);
  });

  it("shell routines deliver nothing by default", async () => {
    const result = await loopd("run", "shell-writer", "--wait", "--json");
    expect(result.code, result.stdout).toBe(0);
    const run = await showRun(result);
    expect(run.changedFiles).toEqual(["out.txt"]);
    expect(run.delivery).toBeNull();
    expect(git(repo, "rev-parse", `loopd/shell-writer/${run.id}`)).toBe(git(repo, "rev-parse", "main"));
  });
});
