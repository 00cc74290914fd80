/**
 * The `issue-to-pr` template end to end: `loopd run <routine> --wait` against the fake GitHub
 * (test/support/fake-github) whose repository is a real bare repository, with the real Claude
 * Code CLI against the fake model server when a tick has an issue to fix. Each scenario is an
 * issue with its own label and a routine watching that label.
 */
import { createHmac } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliResult, json, runCli } from "./helpers/cli.js";
import { fakeAgentEnv, worktreeOf } from "./helpers/fake-agent.js";
import { git } from "./helpers/git-repo.js";
import { spawnLoopd } from "./helpers/process.js";
import { waitFor } from "./helpers/wait.js";
import { type FakeGithub, startFakeGithub } from "./support/fake-github/server.js";
import type { ModelRequest, ScriptedReply } from "./support/fake-model/script.js";
import { type FakeModelServer, startFakeModelServer } from "./support/fake-model/server.js";

const TOKEN = "ghp_issue_to_pr_test_token";
const REPO = "acme/shop";

/** Claude Code writes an existing file only after reading it: read add.js, write `content`, explain. */
function editAdd(content: string, explanation: string) {
  const file = (request: ModelRequest) => join(worktreeOf(request), "add.js");
  return (request: ModelRequest): ScriptedReply => {
    if (request.turn === 0) return { toolCalls: [{ name: "Read", input: { file_path: file(request) } }] };
    if (request.turn === 1)
      return { toolCalls: [{ name: "Write", input: { file_path: file(request), content } }] };
    return { text: explanation };
  };
}

interface TickJson {
  id: number;
  status: string;
  summary: string | null;
}

describe("issue-to-pr", () => {
  let github: FakeGithub;
  let model: FakeModelServer;
  let root: string;
  let bare: string;
  let clone: string;
  let env: Record<string, string>;
  const loopd = (...args: string[]): Promise<CliResult> => runCli(args, { env, cwd: root });
  const tick = async (routine: string): Promise<TickJson> => {
    const result = await loopd("run", routine, "--wait", "--json");
    expect(result.code, result.stdout + result.stderr).toBe(0);
    return json<TickJson>(result);
  };
  const branches = () => git(bare, "for-each-ref", "--format=%(refname:short)", "refs/heads/").split("\n");
  const pullsFrom = (branch: string) =>
    Object.values(github.state.pulls).filter((pull) => pull.head.ref === branch);

  const routine = (name: string, label: string) => `  - name: ${name}
    template: issue-to-pr
    params:
      repo: ${REPO}
      label: ${label}
      remote: ${bare}
    repo: ${clone}
    harness: claude
    model: claude-haiku-4-5
    maxTurns: 6
    timeout: 2m
    verify: { command: "grep -q 'a + b' add.js" }
    notify: { to: me, on: [failure, success] }
`;

  beforeAll(async () => {
    github = await startFakeGithub({ token: TOKEN });
    model = await startFakeModelServer({ script: [] });
    root = mkdtempSync(join(tmpdir(), "loopd-issue-to-pr-"));
    bare = join(root, "shop.git");
    const work = join(root, "work");
    clone = join(root, "clone");
    git(root, "init", "--quiet", "--bare", "-b", "main", bare);
    mkdirSync(work);
    git(work, "init", "--quiet", "-b", "main");
    writeFileSync(join(work, "add.js"), "export const add = (a, b) => a - b;\n");
    writeFileSync(join(work, "README.md"), "# shop\n");
    git(work, "add", "-A");
    git(work, "commit", "--quiet", "-m", "initial");
    git(work, "remote", "add", "origin", bare);
    git(work, "push", "--quiet", "origin", "main");
    git(root, "clone", "--quiet", bare, clone);
    github.state.repos[REPO] = { bare, default_branch: "main" };

    env = {
      ...fakeAgentEnv(root, model.url),
      GITHUB_TOKEN: TOKEN,
      GITHUB_API_URL: github.apiUrl,
    };
    writeFileSync(
      join(root, "loopd.yaml"),
      `channels:
  me: { type: log }
routines:
${routine("fixer", "bug")}${routine("stuck", "hard")}${routine("idle", "nothing-here")}${routine("hooked", "urgent")}${routine("pair", "pair")}`,
    );
    const applied = await loopd("apply");
    expect(applied.code, applied.stderr).toBe(0);
  });

  afterAll(async () => {
    await github?.close();
    await model?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("turns a labelled issue into one branch, one PR that says Fixes #N, and one issue comment", async () => {
    github.state.issues[`${REPO}#1`] = {
      title: "add(1, 2) returns -1",
      body: "Calling add(1, 2) gives -1 instead of 3.",
      state: "open",
      labels: ["bug"],
    };
    model.setScript(
      editAdd("export const add = (a, b) => a + b;\n", "add.js subtracted instead of adding; it adds now."),
    );

    const run = await tick("fixer");
    expect(run.status, run.summary ?? "").toBe("succeeded");
    const prompt = JSON.stringify(model.turns()[0]?.body.messages ?? "");
    expect(prompt).toContain("Calling add(1, 2) gives -1 instead of 3.");
    expect(branches()).toEqual(["loopd/issue-1", "main"]);
    const fix = git(bare, "rev-parse", "refs/heads/loopd/issue-1");
    expect(git(bare, "rev-parse", `${fix}^`)).toBe(git(bare, "rev-parse", "refs/heads/main"));
    expect(git(bare, "show", `${fix}:add.js`)).toBe("export const add = (a, b) => a + b;");
    const pulls = pullsFrom("loopd/issue-1");
    expect(pulls).toHaveLength(1);
    expect(pulls[0]).toMatchObject({
      state: "open",
      base: { ref: "main" },
      title: "Fix #1: add(1, 2) returns -1",
    });
    expect(pulls[0]?.body).toContain("Fixes #1");
    expect(pulls[0]?.body).toContain("add.js subtracted instead of adding");
    expect(pulls[0]?.body).toContain(`loopd show-run ${run.id}`);
    const comments = github.state.comments[`${REPO}#1`] ?? [];
    expect(comments).toHaveLength(1);
    expect(comments[0]?.body).toMatch(/Opened https:\/\/github\.com\/acme\/shop\/pull\/\d+ with a fix/);
    expect(run.summary).toMatch(/#1 pr-open: opened #\d+ from loopd\/issue-1/);
    // `loopd show` lists the issue the loop watches, with its state and the issue's address.
    const shown = JSON.parse((await loopd("show", "fixer", "--json")).stdout) as {
      watching: Array<{ item: string; kind: string; status: string; url: string | null }>;
    };
    expect(shown.watching).toEqual([
      expect.objectContaining({
        item: "#1",
        kind: "issue",
        status: "pr-open",
        url: expect.stringContaining("/issues/1"),
      }),
    ]);

    // A second pass finds the issue handled: no model request, nothing new.
    const requests = model.requests.length;
    const again = await tick("fixer");
    expect(again.status).toBe("succeeded");
    expect(model.requests.length).toBe(requests);
    expect(git(bare, "rev-parse", "refs/heads/loopd/issue-1")).toBe(fix);
    expect(pullsFrom("loopd/issue-1")).toHaveLength(1);
    expect(github.state.comments[`${REPO}#1`]).toHaveLength(1);

    // Unlabelled, then labelled again: the open PR from its branch is found and kept.
    github.state.issues[`${REPO}#1`]!.labels = [];
    await tick("fixer");
    github.state.issues[`${REPO}#1`]!.labels = ["bug"];
    const relabelled = await tick("fixer");
    expect(relabelled.summary).toMatch(/#1 pr-open: #\d+ is open already/);
    expect(model.requests.length).toBe(requests);
    expect(git(bare, "rev-parse", "refs/heads/loopd/issue-1")).toBe(fix);
    expect(pullsFrom("loopd/issue-1")).toHaveLength(1);
    expect(github.state.comments[`${REPO}#1`]).toHaveLength(1);
  });

  it("updates the same branch, PR and comment when the issue is edited", async () => {
    const fix = git(bare, "rev-parse", "refs/heads/loopd/issue-1");
    const pullKeys = () =>
      Object.entries(github.state.pulls)
        .filter(([, pull]) => pull.head.ref === "loopd/issue-1")
        .map(([key]) => key);
    const before = pullKeys();
    expect(before).toHaveLength(1);
    github.state.issues[`${REPO}#1`]!.body =
      "Calling add(1, 2) gives -1 instead of 3. Please document add too.";
    model.setScript(
      editAdd("// Adds two numbers.\nexport const add = (a, b) => a + b;\n", "Documented add as asked."),
    );
    const run = await tick("fixer");
    expect(run.status, run.summary ?? "").toBe("succeeded");
    expect(JSON.stringify(model.turns().at(-1)?.body.messages ?? "")).toContain("Please document add too.");
    const updated = git(bare, "rev-parse", "refs/heads/loopd/issue-1");
    expect(git(bare, "rev-parse", `${updated}^`)).toBe(fix);
    expect(run.summary).toMatch(/#1 pr-open: updated #\d+ from loopd\/issue-1/);
    expect(pullKeys()).toEqual(before);
    expect(pullsFrom("loopd/issue-1")[0]?.body).toContain("Documented add as asked.");
    const comments = github.state.comments[`${REPO}#1`] ?? [];
    expect(comments).toHaveLength(1);
    expect(comments[0]?.body).toContain("Updated https://github.com/acme/shop/pull/");
  });

  it("comments what it tried, and opens no PR, when the fix does not pass verify", async () => {
    github.state.issues[`${REPO}#2`] = {
      title: "add is wrong for negative numbers",
      body: "add(-1, -2) is not -3.",
      state: "open",
      labels: ["hard"],
    };
    model.setScript(editAdd("export const add = (a, b) => b - a;\n", "Swapped the operands of add."));
    const run = await tick("stuck");
    expect(run.status).toBe("succeeded");
    expect(run.summary).toContain("#2 gave-up: its fix did not pass `grep -q 'a + b' add.js`");
    expect(branches()).not.toContain("loopd/issue-2");
    expect(pullsFrom("loopd/issue-2")).toHaveLength(0);
    const comments = github.state.comments[`${REPO}#2`] ?? [];
    expect(comments).toHaveLength(1);
    expect(comments[0]?.body).toContain("No pull request was opened");

    const requests = model.requests.length;
    expect((await tick("stuck")).summary).toContain("#2 gave-up");
    expect(model.requests.length).toBe(requests);
    expect(github.state.comments[`${REPO}#2`]).toHaveLength(1);
  });

  it("fixes one issue per tick; the next waits for the next tick", async () => {
    for (const number of [30, 31]) {
      github.state.issues[`${REPO}#${number}`] = {
        title: `add fails (report ${number})`,
        body: "add(1, 1) is 0.",
        state: "open",
        labels: ["pair"],
      };
    }
    model.setScript(editAdd("export const add = (a, b) => a + b;\n", "add adds now."));
    const first = await tick("pair");
    expect(first.summary).toMatch(/#30 pr-open: opened #\d+ .*; #31 waiting/);
    expect(pullsFrom("loopd/issue-31")).toHaveLength(0);
    model.setScript(editAdd("export const add = (a, b) => a + b;\n", "add adds now."));
    const second = await tick("pair");
    expect(second.summary).toMatch(/#30 pr-open: .*; #31 pr-open: opened #\d+/);
    expect(pullsFrom("loopd/issue-30")).toHaveLength(1);
    expect(pullsFrom("loopd/issue-31")).toHaveLength(1);
  });

  it("is fired by the issues.labeled webhook; another labeled event for the same issue creates nothing new", async () => {
    github.state.issues[`${REPO}#20`] = {
      title: "add is broken again",
      body: "add(2, 2) gives 0.",
      state: "open",
      labels: ["urgent"],
    };
    model.setScript(editAdd("export const add = (a, b) => a + b;\n", "add subtracted; it adds now."));
    const daemon = spawnLoopd(["serve", "--port", "0", "--no-auth", "-f", "loopd.yaml"], {
      env: { ...env, GITHUB_WEBHOOK_SECRET: "gh-secret" },
      cwd: root,
    });
    try {
      const url = String((await daemon.waitFor((event) => event.type === "ready")).url).replace(
        /\/?[#?].*$/,
        "",
      );
      const labeled = async (id: string) => {
        const body = JSON.stringify({
          action: "labeled",
          label: { name: "urgent" },
          issue: {
            number: 20,
            title: "add is broken again",
            html_url: "https://github.com/acme/shop/issues/20",
            labels: [{ name: "urgent" }],
          },
          repository: { full_name: REPO },
        });
        const response = await fetch(`${url}/hooks/github`, {
          method: "POST",
          body,
          headers: {
            "content-type": "application/json",
            "x-github-event": "issues",
            "x-github-delivery": id,
            "x-hub-signature-256": `sha256=${createHmac("sha256", "gh-secret").update(body).digest("hex")}`,
          },
        });
        return {
          status: response.status,
          answer: (await response.json()) as { fired?: Array<{ routine: string; runId: number }> },
        };
      };
      const finished = (runId: number) =>
        waitFor(
          async () => {
            const shown = json<TickJson>(await loopd("show-run", String(runId), "--json"));
            return ["succeeded", "failed", "timed_out", "canceled"].includes(shown.status)
              ? shown
              : undefined;
          },
          `run ${runId} finished`,
          { timeoutMs: 90_000, everyMs: 500 },
        );

      const first = await labeled("gh-labeled-1");
      expect(first.status).toBe(202);
      expect(first.answer.fired?.map((fired) => fired.routine)).toEqual(["hooked"]);
      const run = await finished(first.answer.fired![0]!.runId);
      expect(run.status, run.summary ?? "").toBe("succeeded");
      expect(pullsFrom("loopd/issue-20")).toHaveLength(1);
      expect(pullsFrom("loopd/issue-20")[0]?.body).toContain("Fixes #20");
      expect(github.state.comments[`${REPO}#20`]).toHaveLength(1);
      const fix = git(bare, "rev-parse", "refs/heads/loopd/issue-20");

      // GitHub's redelivery carries the same delivery id: refused as a replay.
      expect((await labeled("gh-labeled-1")).status).toBe(409);
      // Another labeled event for the issue runs the pass again, which finds it handled.
      const requests = model.requests.length;
      const again = await labeled("gh-labeled-2");
      const second = await finished(again.answer.fired![0]!.runId);
      expect(second.status).toBe("succeeded");
      expect(second.summary).toContain("#20 pr-open");
      expect(model.requests.length).toBe(requests);
      expect(git(bare, "rev-parse", "refs/heads/loopd/issue-20")).toBe(fix);
      expect(pullsFrom("loopd/issue-20")).toHaveLength(1);
      expect(github.state.comments[`${REPO}#20`]).toHaveLength(1);
    } finally {
      await daemon.stop();
    }
  });

  it("makes no model request on a tick without a labelled issue", async () => {
    const requests = model.requests.length;
    const lists = model.modelListRequests.length;
    const run = await tick("idle");
    expect(run.status).toBe("succeeded");
    expect(run.summary).toBe(`${REPO}: no open issues labelled nothing-here`);
    expect(model.requests.length).toBe(requests);
    expect(model.modelListRequests.length).toBe(lists);
  });
});
