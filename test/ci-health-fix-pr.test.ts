/**
 * ci-health `fix: true` with `deliver: pr` against the fake GitHub and a real bare repository
 * served as its remote: the agent's fix of the flaky test is confirmed by re-running it, pushed
 * to the test's own branch (the token reaching only GitHub's git endpoint) and a pull request
 * carrying the test's failure history is opened; a second tick on the same commit asks no
 * model and opens no second pull request.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { editFlaky, flakyScript } from "./helpers/ci-health-fixtures.js";
import { type CliResult, json, runCli } from "./helpers/cli.js";
import { fakeAgentEnv } from "./helpers/fake-agent.js";
import { git } from "./helpers/git-repo.js";
import { type SeededRepo, seedRepo } from "./support/fake-github/git-fixture.js";
import { type FakeGithub, startFakeGithub } from "./support/fake-github/server.js";
import { type FakeModelServer, startFakeModelServer } from "./support/fake-model/server.js";

const TOKEN = "ghp_ci_health_fix_pr";

describe("ci-health fix: true, deliver: pr", () => {
  let model: FakeModelServer;
  let github: FakeGithub;
  let origin: SeededRepo;
  let root: string;
  let repo: string;
  let env: Record<string, string>;
  const loopd = (...args: string[]): Promise<CliResult> => runCli(args, { env, cwd: root });

  beforeAll(async () => {
    model = await startFakeModelServer({ script: [] });
    github = await startFakeGithub({ token: TOKEN });
    root = mkdtempSync(join(tmpdir(), "loopd-ci-health-pr-"));
    origin = seedRepo(join(root, "origin"), {
      "flaky.js": "module.exports = (count) => count % 2 === 1;\n",
      "run-tests.js": flakyScript(".timing-count"),
      ".gitignore": "junit.xml\n.timing-count\n",
    });
    github.state.repos["acme/clock"] = { bare: origin.bare, default_branch: "main" };
    repo = join(root, "clock");
    git(root, "clone", "--quiet", origin.bare, repo);
    git(repo, "remote", "set-url", "origin", `${github.url}/acme/clock.git`);
    env = { ...fakeAgentEnv(root, model.url), GITHUB_TOKEN: TOKEN, GITHUB_API_URL: github.apiUrl };
    writeFileSync(
      join(root, "loopd.yaml"),
      `routines:
  - name: fixer
    template: ci-health
    params: { test: node run-tests.js, junit: junit.xml, reruns: 1, fix: true, confirm: 3 }
    repo: ${repo}
    harness: claude
    model: claude-haiku-4-5
    maxTurns: 6
    timeout: 2m
    every: 1d
    deliver: pr
    pr: { labels: [flaky] }
`,
    );
    const applied = await loopd("apply");
    expect(applied.code, applied.stderr).toBe(0);
  });

  afterAll(async () => {
    await model?.close();
    await github?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("opens one pull request with the failure history, and none again for the same commit", async () => {
    const head = git(repo, "rev-parse", "HEAD");
    model.setScript(
      editFlaky("module.exports = () => true;\n", "flaky.js failed every other call; it always passes now."),
    );
    const result = await loopd("run", "fixer", "--wait", "--json");
    const run = json<{ id: number; status: string; summary: string | null }>(result);
    expect(run.status, run.summary ?? result.stderr).toBe("succeeded");
    expect(run.summary).toMatch(
      /fix of `clock::timing`: confirmed: 3\/3 passes with the fix, opened pull request #1 https:\/\/github\.com\/acme\/clock\/pull\/1 from loopd\/fixer-flaky-clock-timing-[0-9a-f]{6}/,
    );
    const pulls = Object.entries(github.state.pulls);
    expect(pulls).toHaveLength(1);
    const [, pull] = pulls[0]!;
    expect(pull).toMatchObject({
      title: "Fix flaky test clock::timing",
      base: { ref: "main" },
      labels: ["flaky"],
    });
    expect(pull.body).toContain("`clock::timing` is flaky");
    expect(pull.body).toContain("### Failure history");
    expect(pull.body).toMatch(/- run \d+ on [0-9a-f]{7}: failed, then passed/);
    expect(pull.body).toContain("expected the tick within 10 ms");
    expect(pull.body).toContain("flaky.js failed every other call");
    expect(pull.body).toContain("Confirmed: confirmed: 3/3 passes with the fix");
    // The fix is on the test's branch in the remote, on top of the tested commit.
    const branch = String(pull.head?.ref);
    expect(origin.git("show", `${branch}:flaky.js`)).toBe("module.exports = () => true;");
    expect(origin.git("rev-parse", `${branch}^`)).toBe(head);
    // The token reached GitHub's git endpoint only through git's environment, not the clone's config.
    expect(github.gitRequests.some((exchange) => exchange.authorization !== undefined)).toBe(true);
    expect(readFileSync(join(repo, ".git", "config"), "utf8")).not.toContain(TOKEN);

    // Same commit: the fix was tried, so no model request and no second pull request.
    const requests = model.requests.length;
    const again = json<{ status: string; summary: string | null }>(
      await loopd("run", "fixer", "--wait", "--json"),
    );
    expect(again.status, again.summary ?? "").toBe("succeeded");
    expect(model.requests.length).toBe(requests);
    expect(Object.keys(github.state.pulls)).toHaveLength(1);
  }, 180_000);
});
