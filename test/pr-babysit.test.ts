/**
 * The `pr-babysit` template end to end: `loopd run <routine> --wait` against the fake GitHub
 * (test/support/fake-github) whose pull requests live in a real bare repository, with the
 * real Claude Code CLI against the fake model server when a tick needs an agent. Each
 * scenario is a PR with its own label and a routine watching that label (`prs: label:…`).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliResult, json, runCli } from "./helpers/cli.js";
import { type FakeGithub, startFakeGithub } from "./support/fake-github/server.js";
import type { ModelRequest, ScriptedReply } from "./support/fake-model/script.js";
import { type FakeModelServer, startFakeModelServer } from "./support/fake-model/server.js";

const BIN = fileURLToPath(new URL("../node_modules/.bin", import.meta.url));
const TOKEN = "ghp_babysit_test_token";
const REPO = "acme/shop";
const IDENTITY = {
  GIT_AUTHOR_NAME: "dev",
  GIT_AUTHOR_EMAIL: "dev@example.com",
  GIT_COMMITTER_NAME: "dev",
  GIT_COMMITTER_EMAIL: "dev@example.com",
};

const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, ...IDENTITY },
    stdio: ["ignore", "pipe", "pipe"],
  }).trim();

/** The run's worktree, read from loopd's instructions in the request's system prompt. */
function worktreeOf(request: ModelRequest): string {
  const match = /You work in (\/[^,\s"\\]+), a private/.exec(JSON.stringify(request.body.system ?? ""));
  if (!match?.[1]) throw new Error("no worktree path in the request's system prompt");
  return match[1];
}

interface TickJson {
  id: number;
  status: string;
  summary: string | null;
}

describe("pr-babysit", () => {
  let github: FakeGithub;
  let model: FakeModelServer;
  let root: string;
  let bare: string;
  let work: string;
  let clone: string;
  let env: Record<string, string>;
  const loopd = (...args: string[]): Promise<CliResult> => runCli(args, { env, cwd: root });
  const tick = async (routine: string): Promise<TickJson> => {
    const result = await loopd("run", routine, "--wait", "--json");
    expect(result.code, result.stdout + result.stderr).toBe(0);
    return json<TickJson>(result);
  };
  const head = (branch: string) => git(bare, "rev-parse", `refs/heads/${branch}`);

  /** A PR branch from main with `files` committed, pushed to the bare repository. */
  function branch(name: string, files: Record<string, string>, from = "main"): string {
    git(work, "checkout", "--quiet", "-B", name, `origin/${from}`);
    for (const [path, content] of Object.entries(files)) writeFileSync(join(work, path), content);
    git(work, "add", "-A");
    git(work, "commit", "--quiet", "-m", `${name}: change`);
    git(work, "push", "--quiet", "origin", `${name}:refs/heads/${name}`);
    return git(work, "rev-parse", "HEAD");
  }

  function pull(number: number, ref: string, label: string, extra: Record<string, unknown> = {}) {
    github.state.pulls[`${REPO}#${number}`] = {
      title: `PR ${number}`,
      state: "open",
      head: { ref },
      labels: [label],
      user: "octocat",
      mergeable: true,
      mergeable_state: "clean",
      ...extra,
    };
  }

  function failing(sha: string, runId: number, job: string, log: string) {
    github.state.checkRuns[`${REPO}@${sha}`] = [{ name: job, status: "completed", conclusion: "failure" }];
    github.state.workflowRuns[REPO] = [
      ...(github.state.workflowRuns[REPO] ?? []),
      {
        id: runId,
        name: "CI",
        head_sha: sha,
        status: "completed",
        conclusion: "failure",
        jobs: [
          {
            id: runId * 10,
            name: job,
            status: "completed",
            conclusion: "failure",
            steps: [{ name: "checkout" }, { name: "npm test", conclusion: "failure" }],
            log,
          },
        ],
      },
    ];
  }

  const routine = (name: string, label: string, extra = "") => `  - name: ${name}
    template: pr-babysit
    params:
      repo: ${REPO}
      prs: "label:${label}"
      remote: ${bare}
${extra}    repo: ${clone}
    harness: claude
    model: claude-haiku-4-5
    maxTurns: 6
    timeout: 2m
    verify: { command: "grep -q 'a + b' add.js" }
    notify: { to: me, on: [failure] }
`;

  beforeAll(async () => {
    github = await startFakeGithub({ token: TOKEN });
    model = await startFakeModelServer({ script: [] });
    root = mkdtempSync(join(tmpdir(), "loopd-babysit-"));
    bare = join(root, "shop.git");
    work = join(root, "work");
    clone = join(root, "clone");
    git(root, "init", "--quiet", "--bare", "-b", "main", bare);
    mkdirSync(work);
    git(work, "init", "--quiet", "-b", "main");
    writeFileSync(join(work, "add.js"), "export const add = (a, b) => a + b;\n");
    writeFileSync(join(work, "README.md"), "# shop\n");
    git(work, "add", "-A");
    git(work, "commit", "--quiet", "-m", "initial");
    git(work, "remote", "add", "origin", bare);
    git(work, "push", "--quiet", "origin", "main");
    git(root, "clone", "--quiet", bare, clone);
    github.state.repos[REPO] = { bare, default_branch: "main" };

    const agentHome = join(root, "agent-home");
    mkdirSync(agentHome);
    env = {
      PATH: `${BIN}:${process.env.PATH ?? "/usr/bin:/bin"}`,
      HOME: agentHome,
      CLAUDE_CONFIG_DIR: join(agentHome, ".claude"),
      CLAUDE_CODE_TMPDIR: agentHome,
      LOOPD_HOME: join(root, "home"),
      ANTHROPIC_BASE_URL: model.url,
      ANTHROPIC_API_KEY: "sk-ant-fake-key-for-tests",
      GITHUB_TOKEN: TOKEN,
      GITHUB_API_URL: github.apiUrl,
      HTTPS_PROXY: "http://127.0.0.1:9",
      HTTP_PROXY: "http://127.0.0.1:9",
      NO_PROXY: "127.0.0.1,localhost",
    };
    writeFileSync(
      join(root, "loopd.yaml"),
      `channels:
  me: { type: log }
routines:
${routine("behind", "behind")}${routine("fixer", "fix")}${routine("flaky", "flaky")}${routine("green", "green")}${routine("conflict", "conflict")}${routine("guarded", "guarded", '      pushBranches: "feature/**"\n')}`,
    );
    const applied = await loopd("apply");
    expect(applied.code, applied.stderr).toBe(0);
  });

  afterAll(async () => {
    await github?.close();
    await model?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("updates a PR that is behind its base without a model request", async () => {
    const before = branch("feature/behind", { "behind.txt": "behind\n" });
    git(work, "checkout", "--quiet", "main");
    writeFileSync(join(work, "CHANGELOG.md"), "main moved on\n");
    git(work, "add", "-A");
    git(work, "commit", "--quiet", "-m", "main moves");
    git(work, "push", "--quiet", "origin", "main");
    pull(1, "feature/behind", "behind");
    github.state.checkRuns[`${REPO}@${before}`] = [
      { name: "test", status: "completed", conclusion: "success" },
    ];

    const run = await tick("behind");
    expect(run.status).toBe("succeeded");
    expect(run.summary).toContain("#1 updating: merged main in");
    const after = head("feature/behind");
    expect(after).not.toBe(before);
    expect(git(bare, "rev-list", "--parents", "-n", "1", after).split(" ")).toContain(before);
    expect(git(bare, "merge-base", "--is-ancestor", "main", after)).toBe("");
    expect(model.requests).toHaveLength(0);
  });

  it("fixes a failing check from its log: a new commit on the PR that passes verify, one comment, no second attempt", async () => {
    const before = branch("feature/fix", { "add.js": "export const add = (a, b) => a - b;\n" });
    pull(2, "feature/fix", "fix");
    failing(
      before,
      2,
      "test",
      "2026-12-04T10:00:00.0000000Z ##[error]add(1, 2) returned -1, expected 3: add.js subtracts\n",
    );
    // Claude Code writes an existing file only after reading it.
    const file = (request: ModelRequest) => join(worktreeOf(request), "add.js");
    model.setScript((request): ScriptedReply => {
      if (request.turn === 0) return { toolCalls: [{ name: "Read", input: { file_path: file(request) } }] };
      if (request.turn === 1) {
        const content = "export const add = (a, b) => a + b;\n";
        return { toolCalls: [{ name: "Write", input: { file_path: file(request), content } }] };
      }
      return { text: "Fixed add.js: it subtracted instead of adding." };
    });

    const run = await tick("fixer");
    expect(run.status).toBe("succeeded");
    const prompt = JSON.stringify(model.turns()[0]?.body.messages ?? "");
    expect(prompt).toContain("add.js subtracts");
    const after = head("feature/fix");
    expect(git(bare, "rev-parse", `${after}^`)).toBe(before);
    expect(git(bare, "show", `${after}:add.js`)).toBe("export const add = (a, b) => a + b;");
    expect(run.summary).toContain(`#2 fixing: pushed ${after.slice(0, 7)}`);
    const comments = github.state.comments[`${REPO}#2`] ?? [];
    expect(comments).toHaveLength(1);
    expect(comments[0]?.body).toContain(`pushed ${after.slice(0, 7)}`);
    const fixed = json<Array<{ type: string; routine: string | null }>>(await loopd("deliveries", "--json"));
    expect(fixed.filter((row) => row.type === "loop.fixed" && row.routine === "fixer")).toHaveLength(1);

    const requests = model.requests.length;
    const again = await tick("fixer");
    expect(again.status).toBe("succeeded");
    expect(model.requests.length).toBe(requests);
    expect(head("feature/fix")).toBe(after);
    expect(github.state.comments[`${REPO}#2`]).toHaveLength(1);
  });

  it("re-runs a failure that looks flaky instead of fixing it", async () => {
    const sha = branch("feature/flaky", { "flaky.txt": "flaky\n" });
    pull(3, "feature/flaky", "flaky");
    github.state.checkRuns[`${REPO}@${sha}`] = [{ name: "e2e", status: "completed", conclusion: "success" }];
    expect((await tick("flaky")).summary).toContain("#3 green");
    // The same job on the same commit now fails: it passed here before, so it looks flaky.
    failing(sha, 3, "e2e", "##[error]timeout waiting for the browser\n");
    const requests = model.requests.length;
    const run = await tick("flaky");
    expect(run.summary).toContain("#3 pending: re-ran e2e, which looks flaky");
    const rerun = github.requests.filter(
      (request) => request.path === `/repos/${REPO}/actions/runs/3/rerun-failed-jobs`,
    );
    expect(rerun).toHaveLength(1);
    expect(github.state.workflowRuns[REPO]?.find((wf) => wf.id === 3)?.run_attempt).toBe(2);
    expect(model.requests.length).toBe(requests);
  });

  it("costs no model request for a green PR over three ticks", async () => {
    const sha = branch("feature/green", { "green.txt": "green\n" }, "main");
    pull(4, "feature/green", "green");
    github.state.checkRuns[`${REPO}@${sha}`] = [{ name: "test", status: "completed", conclusion: "success" }];
    const requests = model.requests.length;
    const lists = model.modelListRequests.length;
    for (let i = 0; i < 3; i++) expect((await tick("green")).summary).toContain("#4 green");
    expect(model.requests.length).toBe(requests);
    expect(model.modelListRequests.length).toBe(lists);
    const shown = (await loopd("show", "green")).stdout;
    expect(shown).toMatch(/Watching\n\s+#4\s+green\s+checks pass, up to date \(next look in \d+/);
    const detail = json<{ watching: Array<{ item: string; status: string; head: string }> }>(
      await loopd("show", "green", "--json"),
    );
    expect(detail.watching).toEqual([
      expect.objectContaining({
        item: "#4",
        kind: "pull-request",
        status: "green",
        head: sha,
        url: "https://github.com/acme/shop/pull/4",
      }),
    ]);
  });

  it("notifies, and pushes nothing, when the agent cannot resolve a conflict", async () => {
    const before = branch("feature/conflict", { "README.md": "# shop, rewritten on the branch\n" });
    pull(5, "feature/conflict", "conflict", { mergeable: false, mergeable_state: "dirty" });
    model.setScript(
      (request): ScriptedReply =>
        request.turn === 0
          ? { text: "I cannot resolve this conflict: both sides rewrote the README differently." }
          : { text: "done" },
    );
    const requests = model.requests.length;
    const run = await tick("conflict");
    expect(run.status).toBe("succeeded");
    expect(model.requests.length).toBeGreaterThan(requests);
    expect(run.summary).toContain("#5 gave-up");
    expect(head("feature/conflict")).toBe(before);
    const deliveries = json<Array<{ type: string; routine: string | null }>>(
      await loopd("deliveries", "--json"),
    );
    expect(
      deliveries.filter((row) => row.type === "loop.needs_attention" && row.routine === "conflict"),
    ).toHaveLength(1);
    // Reported once: the next tick leaves it alone.
    const after = model.requests.length;
    expect((await tick("conflict")).summary).toContain("left alone until its head changes");
    expect(model.requests.length).toBe(after);
  });

  it("refuses to push to a branch outside pushBranches", async () => {
    const before = branch("hotfix/guarded", { "add.js": "export const add = (a, b) => a * b;\n" });
    pull(6, "hotfix/guarded", "guarded");
    failing(before, 6, "test", "##[error]add is broken\n");
    const requests = model.requests.length;
    const run = await tick("guarded");
    expect(run.summary).toContain("outside pushBranches (feature/**)");
    expect(head("hotfix/guarded")).toBe(before);
    expect(model.requests.length).toBe(requests);
  });
});

describe("templates through the CLI", () => {
  let root: string;
  let env: Record<string, string>;
  const loopd = (...args: string[]): Promise<CliResult> => runCli(args, { env, cwd: root });

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "loopd-templates-"));
    env = { LOOPD_HOME: join(root, "home"), PATH: process.env.PATH ?? "/usr/bin:/bin" };
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("lists the templates with their params", async () => {
    const list = json<Array<{ name: string; ready: boolean; params: Array<{ name: string }> }>>(
      await loopd("templates", "--json"),
    );
    expect(list.map((t) => [t.name, t.ready])).toEqual([
      ["pr-babysit", true],
      ["issue-to-pr", true],
      ["feedback-triage", true],
      ["ci-health", true],
    ]);
    expect(list[0]?.params.map((p) => p.name)).toEqual(
      expect.arrayContaining([
        "repo",
        "prs",
        "update",
        "fix",
        "maxPrs",
        "retryFlaky",
        "pushBranches",
        "remote",
      ]),
    );
    expect((await loopd("templates")).stdout).toContain("retryFlaky");
  });

  it("init --template writes a config that applies once the repo is filled in, and show --expanded prints the plain routine", async () => {
    const init = await loopd("init", "--template", "pr-babysit");
    expect(init.code, init.stderr).toBe(0);
    const file = join(root, "loopd.yaml");
    const refused = await loopd("apply");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("routines[0].params.repo");
    writeFileSync(file, readFileSync(file, "utf8").replace("<owner>/<name>", "acme/shop"));
    const applied = await loopd("apply");
    expect(applied.code, applied.stderr).toBe(0);

    const shown = (await loopd("show", "pr-babysit", "--expanded")).stdout;
    expect(shown).not.toContain("template:");
    expect(shown).toContain("kind: pr-babysit");
    expect(shown).toContain("every: 1m");
    expect(shown).toContain("prompt:");

    // A second template routine of the same name is refused; under another file it is appended.
    expect((await loopd("init", "--template", "pr-babysit")).code).toBe(2);
    const other = join(root, "other.yaml");
    writeFileSync(other, "routines:\n  - name: tick\n    command: date\n    every: 1h\n");
    expect((await loopd("init", "--template", "pr-babysit", "-f", other)).code).toBe(0);
    expect(readFileSync(other, "utf8")).toMatch(/name: tick[\s\S]*template: pr-babysit/);
    const unknown = await loopd("init", "--template", "nope", "-f", join(root, "x.yaml"));
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain("LOOPD_TEMPLATE_UNKNOWN");
  });
});
