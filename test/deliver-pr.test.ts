import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunDelivery } from "../src/domain/run-delivery.js";
import { type CliResult, json, runCli } from "./helpers/cli.js";
import { fakeAgentEnv, writes } from "./helpers/fake-agent.js";
import { git } from "./helpers/git-repo.js";
import { type SeededRepo, seedRepo } from "./support/fake-github/git-fixture.js";
import { type FakeGithub, startFakeGithub } from "./support/fake-github/server.js";
import { type FakeModelServer, startFakeModelServer } from "./support/fake-model/server.js";

const TOKEN = "ghp_e2e_deliver_pr";

describe("deliver: pr", () => {
  let model: FakeModelServer;
  let github: FakeGithub;
  let origin: SeededRepo;
  let root: string;
  let repo: string;
  let env: Record<string, string>;
  const loopd = (...args: string[]): Promise<CliResult> => runCli(args, { env, cwd: root });
  const showRun = async (run: CliResult) => {
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const { id } = json<{ id: number }>(run);
    return json<{ id: number; status: string; delivery: RunDelivery | null }>(
      await loopd("show-run", String(id), "--json"),
    );
  };

  beforeAll(async () => {
    model = await startFakeModelServer({ script: [] });
    github = await startFakeGithub({ token: TOKEN });
    root = mkdtempSync(join(tmpdir(), "loopd-deliver-pr-e2e-"));
    origin = seedRepo(join(root, "origin"), { "README.md": "# web\n" });
    github.state.repos["acme/web"] = { bare: origin.bare, default_branch: "main" };
    repo = join(root, "web");
    git(root, "clone", "--quiet", origin.bare, repo);
    git(repo, "remote", "set-url", "origin", `${github.url}/acme/web.git`);
    env = {
      ...fakeAgentEnv(root, model.url),
      GITHUB_TOKEN: TOKEN,
      GITHUB_API_URL: github.apiUrl,
    };
    const configFile = join(root, "loopd.yaml");
    writeFileSync(
      configFile,
      `workspaces: { pool: 1 }
routines:
  - name: notes
    harness: claude
    model: claude-haiku-4-5
    repo: ${repo}
    prompt: "Write the release notes."
    maxTurns: 6
    timeout: 2m
    deliver: pr
    pr: { labels: [loopd] }
`,
    );
    const applied = await loopd("apply", "-f", configFile);
    expect(applied.code, applied.stderr).toBe(0);
  });
  afterAll(async () => {
    await model?.close();
    await github?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("opens one pull request from loopd/<routine>, and the next run updates it", async () => {
    model.setScript(writes("NOTES.md", "v1\n", "Wrote the release notes for v1."));
    const first = await showRun(await loopd("run", "notes", "--wait", "--json"));
    expect(first.status).toBe("succeeded");
    expect(first.delivery).toMatchObject({
      mode: "pr",
      pushed: true,
      remoteBranch: "loopd/notes",
      error: null,
      pullRequest: { number: 1, url: "https://github.com/acme/web/pull/1", created: true },
    });
    expect(origin.git("show", "loopd/notes:NOTES.md")).toBe("v1");
    const pull = github.state.pulls["acme/web#1"]!;
    expect(pull).toMatchObject({
      title: "Wrote the release notes for v1.",
      base: { ref: "main" },
      labels: ["loopd"],
    });
    expect(pull.body).toContain("1 file changed, 1 insertion(+)");
    expect(pull.body).toMatch(/Cost: \$\d/);
    expect(pull.body).toContain(`loopd show-run ${first.id}`);
    expect((await loopd("show-run", String(first.id))).stdout).toContain(
      "pull request: #1 opened · https://github.com/acme/web/pull/1",
    );

    model.setScript(writes("NOTES.md", "v2\n", "Wrote the release notes for v2."));
    const second = await showRun(await loopd("run", "notes", "--wait", "--json"));
    expect(second.delivery).toMatchObject({
      pushed: true,
      error: null,
      pullRequest: { number: 1, created: false },
    });
    expect(Object.keys(github.state.pulls)).toEqual(["acme/web#1"]);
    expect(github.state.pulls["acme/web#1"]).toMatchObject({ title: "Wrote the release notes for v2." });
    expect(origin.git("show", "loopd/notes:NOTES.md")).toBe("v2");
    expect((await loopd("show", "notes")).stdout).toMatch(
      /deliver\s+pull request from origin loopd\/\{routine\}/,
    );
    // The token reached GitHub's git endpoint, and nothing of the user's clone on disk.
    expect(github.gitRequests.length).toBeGreaterThan(0);
    expect(readFileSync(join(repo, ".git", "config"), "utf8")).not.toContain(TOKEN);
  }, 180_000);
});
