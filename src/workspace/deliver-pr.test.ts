/**
 * `deliver: pr` through WorkspaceManager.finish() against the fake GitHub: the run branch is
 * pushed over git's smart HTTP to a real bare repository (the token in git's environment
 * only), one pull request is opened with the run's summary, diff stats and cost, the next
 * run updates that same PR, and a refused push or a missing repository is a failed delivery.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type SeededRepo, seedRepo } from "../../test/support/fake-github/git-fixture.js";
import { type FakeGithub, startFakeGithub } from "../../test/support/fake-github/server.js";
import type { DeliverRequest } from "./deliver.js";
import { WorkspaceManager } from "./workspaces.js";

const TOKEN = "ghp_deliver_pr_secret";
let github: FakeGithub;
let tmp: string;
let origin: SeededRepo;
let repo: string;

const sh = (cwd: string, ...args: string[]) => execFileSync("git", args, { cwd, encoding: "utf8" }).trim();

beforeEach(async () => {
  tmp = realpathSync(mkdtempSync(join(tmpdir(), "loopd-deliver-pr-")));
  github = await startFakeGithub({ token: TOKEN });
  origin = seedRepo(join(tmp, "origin"), { "README.md": "# web\n" });
  github.state.repos["acme/web"] = { bare: origin.bare, default_branch: "main" };
  // The user's clone, with the GitHub remote the API names (the fake serves it over HTTP).
  repo = join(tmp, "repo");
  sh(tmp, "clone", "--quiet", origin.bare, repo);
  sh(repo, "remote", "set-url", "origin", `${github.url}/acme/web.git`);
});
afterEach(async () => {
  await github.close();
  rmSync(tmp, { recursive: true, force: true });
});

const manager = () => new WorkspaceManager({ root: join(tmp, "home", "workspaces"), poolSize: 1 });

function request(
  runId: number,
  summary: string,
  overrides: Partial<DeliverRequest["pr"] & object> = {},
): DeliverRequest {
  return {
    mode: "pr",
    message: [summary, `Loopd-Run: ${runId}`],
    author: { name: "loopd", email: "loopd@localhost" },
    noVerify: false,
    push: { remote: "origin", branch: "loopd/deps", force: "loopd/deps" },
    pr: {
      spec: { draft: false, labels: ["loopd"] },
      routine: "deps",
      runId,
      summary,
      costUsd: 0.0123,
      env: { GITHUB_TOKEN: TOKEN },
      apiUrl: github.apiUrl,
      ...overrides,
    },
  };
}

async function run(runId: number, files: Record<string, string>, deliver: DeliverRequest) {
  const workspaces = manager();
  const ws = await workspaces.acquire({ repo, routine: "deps", runId, mode: "worktree" });
  for (const [path, text] of Object.entries(files)) writeFileSync(join(ws.cwd, path), text);
  return workspaces.finish(ws, { succeeded: true, deliver });
}

describe("deliver: pr", () => {
  it("opens exactly one pull request, and the next run updates it", async () => {
    const first = await run(1, { "deps.txt": "a@1\n" }, request(1, "Bump a to 1"));
    expect(first.delivery).toMatchObject({
      mode: "pr",
      pushed: true,
      remoteBranch: "loopd/deps",
      error: null,
      pullRequest: { number: 1, url: "https://github.com/acme/web/pull/1", created: true },
    });
    expect(origin.head("loopd/deps")).toBe(first.delivery?.commit);
    const pull = github.state.pulls["acme/web#1"]!;
    expect(pull).toMatchObject({
      title: "Bump a to 1",
      head: { ref: "loopd/deps" },
      base: { ref: "main" },
      labels: ["loopd"],
    });
    expect(pull.body).toContain("<!-- loopd:deliver:deps -->");
    expect(pull.body).toContain("Bump a to 1");
    expect(pull.body).toContain("1 file changed, 1 insertion(+)");
    expect(pull.body).toContain("Cost: $0.0123");
    expect(pull.body).toContain("loopd show-run 1");

    // The second run starts from main again: its work replaces the first's on the same branch and PR.
    const second = await run(2, { "deps.txt": "a@2\n", "lock.txt": "x\n" }, request(2, "Bump a to 2"));
    expect(second.delivery).toMatchObject({
      pushed: true,
      error: null,
      pullRequest: { number: 1, created: false },
    });
    expect(origin.head("loopd/deps")).toBe(second.delivery?.commit);
    expect(Object.keys(github.state.pulls)).toEqual(["acme/web#1"]);
    expect(github.state.pulls["acme/web#1"]).toMatchObject({ title: "Bump a to 2" });
    expect(github.state.pulls["acme/web#1"]!.body).toContain("2 files changed, 2 insertions(+)");

    // The token went to GitHub's git endpoint as Basic auth, and into no git config on disk.
    expect(github.gitRequests.some((exchange) => /^basic /i.test(exchange.authorization ?? ""))).toBe(true);
    expect(readFileSync(join(repo, ".git", "config"), "utf8")).not.toContain(TOKEN);
  });

  it("records a refused push with the remote's words, and opens no pull request", async () => {
    const hook = join(origin.bare, "hooks", "pre-receive");
    writeFileSync(
      hook,
      "#!/bin/sh\necho 'GH006: Protected branch update failed for refs/heads/loopd/deps.' >&2\nexit 1\n",
    );
    chmodSync(hook, 0o755);
    const report = await run(1, { "deps.txt": "a@1\n" }, request(1, "Bump a"));
    expect(report.delivery).toMatchObject({
      pushed: false,
      error: {
        code: "LOOPD_DELIVERY_FAILED",
        message: expect.stringContaining("GH006: Protected branch update failed"),
      },
    });
    expect(report.delivery?.pullRequest).toBeUndefined();
    expect(github.state.pulls).toEqual({});
  });

  it("says which setting is missing when the remote names no GitHub repository", async () => {
    sh(repo, "remote", "set-url", "origin", origin.bare);
    const report = await run(1, { "deps.txt": "a@1\n" }, request(1, "Bump a"));
    expect(report.delivery).toMatchObject({
      pushed: false,
      error: { code: "LOOPD_DELIVERY_FAILED", hint: expect.stringContaining("pr.repo: owner/name") },
    });
    // With it, a local mirror works: pushed there, PR opened on GitHub.
    const mirrored = await run(
      2,
      { "deps.txt": "a@2\n" },
      request(2, "Bump a", { spec: { repo: "acme/web", draft: true, labels: [] } }),
    );
    expect(mirrored.delivery).toMatchObject({
      pushed: true,
      error: null,
      pullRequest: { number: 1, created: true },
    });
    expect(github.state.pulls["acme/web#1"]).toMatchObject({ draft: true });
  });

  it("says so when the remote refuses the token, without the token", async () => {
    const report = await run(
      1,
      { "deps.txt": "a@1\n" },
      request(1, "Bump a", { env: { GITHUB_TOKEN: "ghp_wrong" } }),
    );
    expect(report.delivery).toMatchObject({
      pushed: false,
      error: {
        code: "LOOPD_DELIVERY_FAILED",
        message: expect.stringContaining("the remote refused the push"),
      },
    });
    expect(report.delivery?.error?.message).not.toContain("ghp_");
  });

  it("keeps the push when GitHub refuses the pull request, and says why", async () => {
    github.state.forbidden.push("acme/web");
    const report = await run(1, { "deps.txt": "a@1\n" }, request(1, "Bump a"));
    expect(report.delivery).toMatchObject({
      pushed: true,
      pullRequest: null,
      error: {
        code: "LOOPD_DELIVERY_FAILED",
        message: expect.stringMatching(
          /^pushed loopd\/deps, but the pull request could not be opened: GitHub refused .*Resource not accessible/,
        ),
      },
    });
    expect(origin.head("loopd/deps")).toBe(report.delivery?.commit);
  });
});
