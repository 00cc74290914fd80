/**
 * `ci-health` with `source: github-actions` against the fake GitHub: the default branch's
 * completed workflow runs, one entry per job and attempt. A job that failed and passed on a
 * re-run of the same commit is flaky (its failed tests named from the log), one failing on
 * the newest commit it never passed on is broken, and it recovers when a later commit passes;
 * a tick with no new run reads no jobs and sends nothing. With JUnit artifacts the unit is
 * the test: attempts are read from the artifacts (downloaded through GitHub's 302 without the
 * token), and a run whose artifact expired falls back to its job logs. No model server exists
 * here: a request to one would fail the run.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliResult, json, runCli } from "./helpers/cli.js";
import { git } from "./helpers/git-repo.js";
import { type FakeGithub, startFakeGithub } from "./support/fake-github/server.js";
import type { JobFixture, WorkflowRunFixture } from "./support/fake-github/state.js";

const TOKEN = "ghp_ci_health_actions_token";
const A = "a".repeat(40);
const B = "b".repeat(40);
const C = "c".repeat(40);

const job = (id: number, name: string, conclusion: "success" | "failure", log?: string): JobFixture => ({
  id,
  name,
  status: "completed",
  conclusion,
  steps: [{ name: "Run tests", conclusion }],
  ...(log ? { log } : {}),
});

const TEST_LOG = [
  "##[group]Run npm test",
  "npm test",
  "##[endgroup]",
  " FAIL  src/cart.test.ts > cart > applies a coupon 12ms",
  "AssertionError: expected 90 to be 81",
  "##[error]Process completed with exit code 1.",
].join("\n");
const junit = (coupon: "pass" | "fail") =>
  `<?xml version="1.0" encoding="UTF-8" ?>
<testsuites name="vitest tests" tests="2" failures="${coupon === "fail" ? 1 : 0}">
  <testsuite name="src/cart.test.ts" tests="2">
    <testcase classname="src/cart.test.ts" name="cart &gt; applies a coupon" time="0.01">${
      coupon === "fail"
        ? `<failure message="expected 90 to be 81" type="AssertionError">AssertionError: expected 90 to be 81</failure>`
        : ""
    }</testcase>
    <testcase classname="src/cart.test.ts" name="cart &gt; sums prices" time="0.01"/>
  </testsuite>
</testsuites>
`;
const LINT_LOG = [
  "##[group]Run npm run lint",
  "src/cart.ts:3:7 error 'unused' is assigned a value but never used",
  "##[error]Lint found 1 error",
].join("\n");

describe("ci-health source github-actions", () => {
  let github: FakeGithub;
  let root: string;
  let env: Record<string, string>;
  const loopd = (...args: string[]): Promise<CliResult> => runCli(args, { env, cwd: root });
  const tick = async (routine = "workflows") => {
    const result = await loopd("run", routine, "--wait", "--json");
    expect(result.code, result.stdout + result.stderr).toBe(0);
    return json<{ status: string; summary: string | null }>(result);
  };
  const classes = async (routine = "workflows") =>
    Object.fromEntries(
      json<Array<{ testId: string; class: string; lastFailure: string | null }>>(
        await loopd("flaky", "--json", "--routine", routine),
      ).map((test) => [test.testId, test]),
    );
  const runs = (): WorkflowRunFixture[] => github.state.workflowRuns["acme/shop"]!;

  beforeAll(async () => {
    github = await startFakeGithub({ token: TOKEN });
    root = mkdtempSync(join(tmpdir(), "loopd-ci-health-actions-"));
    const bare = join(root, "shop.git");
    git(root, "init", "--quiet", "--bare", "-b", "main", bare);
    github.state.repos["acme/shop"] = { bare, default_branch: "main" };
    github.state.workflowRuns["acme/shop"] = [
      {
        id: 101,
        name: "CI",
        head_sha: A,
        head_branch: "main",
        event: "push",
        status: "completed",
        conclusion: "success",
        run_attempt: 2,
        // Attempt 1: the tests failed; re-running the failed jobs passed on the same commit.
        previousAttempts: [[job(1001, "test", "failure", TEST_LOG), job(1002, "lint", "success")]],
        jobs: [job(1003, "test", "success"), job(1004, "lint", "success")],
      },
      {
        id: 102,
        name: "CI",
        head_sha: B,
        head_branch: "main",
        event: "push",
        status: "completed",
        conclusion: "failure",
        jobs: [job(1005, "test", "success"), job(1006, "lint", "failure", LINT_LOG)],
      },
      {
        id: 103,
        name: "CI",
        head_sha: C,
        head_branch: "feature",
        event: "push",
        status: "completed",
        conclusion: "failure",
        jobs: [job(1007, "test", "failure", TEST_LOG)],
      },
    ];
    env = {
      LOOPD_HOME: join(root, "home"),
      GITHUB_TOKEN: TOKEN,
      GITHUB_API_URL: github.apiUrl,
      HTTPS_PROXY: "http://127.0.0.1:9",
      NO_PROXY: "127.0.0.1,localhost",
    };
    github.state.repos["acme/lab"] = { bare, default_branch: "main" };
    github.state.workflowRuns["acme/lab"] = [
      {
        id: 201,
        name: "CI",
        head_sha: A,
        head_branch: "main",
        event: "push",
        status: "completed",
        conclusion: "success",
        run_attempt: 2,
        previousAttempts: [[job(2001, "test", "failure", TEST_LOG)]],
        jobs: [job(2002, "test", "success")],
        artifacts: [
          { id: 301, name: "junit-attempt-1", files: { "reports/junit.xml": junit("fail") } },
          { id: 302, name: "coverage", files: { "coverage/cobertura.xml": "<coverage/>" } },
          { id: 303, name: "junit-attempt-2", files: { "reports/junit.xml": junit("pass") } },
        ],
      },
      {
        id: 202,
        name: "CI",
        head_sha: B,
        head_branch: "main",
        event: "push",
        status: "completed",
        conclusion: "failure",
        jobs: [job(2003, "test", "failure", TEST_LOG)],
        artifacts: [
          { id: 304, name: "junit-attempt-1", files: { "junit.xml": junit("fail") }, expired: true },
        ],
      },
    ];
    writeFileSync(
      join(root, "loopd.yaml"),
      `routines:
  - name: workflows
    template: ci-health
    params: { source: github-actions, repo: acme/shop }
  - name: artifacts
    template: ci-health
    params: { source: github-actions, repo: acme/lab, artifact: "junit-*" }
`,
    );
    const applied = await loopd("apply");
    expect(applied.code, applied.stderr).toBe(0);
  });

  afterAll(async () => {
    await github?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("classifies jobs from the default branch's runs and reports each change once", async () => {
    const first = await tick();
    expect(first.status, first.summary ?? "").toBe("succeeded");
    expect(first.summary).toContain("Newly broken (1)\n- `CI / lint` failing since bbbbbbb");
    expect(first.summary).toContain(
      "Newly flaky (1)\n- `CI / test` flake rate 50% over 2 run(s): failed tests: src/cart.test.ts > cart > applies a coupon",
    );
    const seen = await classes();
    expect(seen["CI / test"]).toMatchObject({ class: "flaky" });
    expect(seen["CI / lint"]).toMatchObject({
      class: "broken",
      lastFailure: expect.stringContaining("Lint found 1 error"),
    });
    // The feature branch's run is not the default branch's health.
    expect(seen["CI / test"]?.lastFailure).not.toContain("1007");

    // Nothing ran since: one list request, no jobs read, nothing to say.
    const before = github.requests.length;
    const idle = await tick();
    expect(idle.summary).toContain("no change since the last digest");
    expect(github.requests.slice(before).filter((request) => request.path.includes("/jobs"))).toEqual([]);

    // A new commit passes lint: recovered, said once.
    runs().push({
      id: 104,
      name: "CI",
      head_sha: C,
      head_branch: "main",
      event: "push",
      status: "completed",
      conclusion: "success",
      jobs: [job(1008, "test", "success"), job(1009, "lint", "success")],
    });
    const fixed = await tick();
    expect(fixed.summary).toContain("Recovered (1)\n- `CI / lint` passing since ccccccc");
    expect((await classes())["CI / lint"]).toMatchObject({ class: "recovered" });
  });

  it("reads tests from JUnit artifacts across attempts, and a run's job logs when its artifact expired", async () => {
    const before = github.requests.length;
    const first = await tick("artifacts");
    expect(first.status, first.summary ?? "").toBe("succeeded");
    const seen = await classes("artifacts");
    // From the artifacts: failed in attempt 1, passed in attempt 2 of the same commit.
    expect(seen["src/cart.test.ts::cart > applies a coupon"]).toMatchObject({
      class: "flaky",
      lastFailure: expect.stringContaining("expected 90 to be 81"),
    });
    expect(seen["src/cart.test.ts::cart > sums prices"]?.class).not.toBe("flaky");
    // Run 202's artifact expired: its job log is read, the job is the unit.
    expect(seen["CI / test"]).toMatchObject({ class: "broken" });
    expect(first.summary).toContain("Newly flaky (1)\n- `src/cart.test.ts::cart > applies a coupon`");
    const mine = github.requests.slice(before);
    // Only the matching, unexpired artifacts were downloaded; run 201's jobs were not read.
    expect(mine.filter((request) => request.path.endsWith("/zip")).map((request) => request.path)).toEqual([
      "/repos/acme/lab/actions/artifacts/301/zip",
      "/repos/acme/lab/actions/artifacts/303/zip",
    ]);
    expect(mine.some((request) => request.path === "/repos/acme/lab/actions/runs/201/jobs")).toBe(false);
    expect(mine.some((request) => request.path === "/repos/acme/lab/actions/runs/202/jobs")).toBe(true);
    // The blob storage got the signed URL only, never the token.
    expect(github.blobRequests).toEqual([
      expect.objectContaining({ authorization: undefined, status: 200 }),
      expect.objectContaining({ authorization: undefined, status: 200 }),
    ]);
    const idle = await tick("artifacts");
    expect(idle.summary).toContain("no change since the last digest");
    expect(github.blobRequests).toHaveLength(2);
  });
});
