/**
 * Every GitHub client method against the fake GitHub over real HTTP: pagination, conditional
 * requests (a second idle read costs GitHub nothing), rate limits (a short retry-after waited
 * out, a long one a LoopdError with no further requests), refused tokens, and the writes the
 * loops make, some against a real bare repository (update-branch merges in it).
 */
import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { seedRepo } from "../../test/support/fake-github/git-fixture.js";
import { type FakeGithub, startFakeGithub } from "../../test/support/fake-github/server.js";
import { GithubClient } from "./client.js";
import { openOrUpdatePull } from "./open-pull.js";
import { upsertStickyComment } from "./sticky-comment.js";

const TOKEN = "ghp_client_test";
const REPO = { owner: "acme", repo: "web" };
let github: FakeGithub;
let tmp: string;

beforeEach(async () => {
  github = await startFakeGithub({ token: TOKEN });
  tmp = realpathSync(mkdtempSync(join(tmpdir(), "loopd-github-")));
});
afterEach(async () => {
  await github.close();
  rmSync(tmp, { recursive: true, force: true });
});

const client = (token: string | null = TOKEN, options = {}) =>
  new GithubClient({ apiUrl: github.apiUrl, token, tokenSource: token ? "GITHUB_TOKEN" : null }, options);
const counted = () => github.requests.filter((request) => request.status !== 304).length;

describe("reads", () => {
  it("lists open discussions across GraphQL pages, oldest first, closed ones left out", async () => {
    for (let number = 1; number <= 130; number += 1) {
      github.state.discussions[`acme/web#${number}`] = {
        title: `Idea ${number}`,
        body: `body ${number}`,
        closed: number % 10 === 0,
      };
    }
    const discussions = await client().listOpenDiscussions(REPO);
    expect(discussions).toHaveLength(117);
    expect(discussions[0]).toEqual({
      number: 1,
      title: "Idea 1",
      body: "body 1",
      url: "https://github.com/acme/web/discussions/1",
    });
    expect(discussions.some((discussion) => discussion.number % 10 === 0)).toBe(false);
    expect(github.requests.filter((request) => request.path === "/graphql")).toHaveLength(2);
  });

  it("lists open pull requests across pages, by author and by label, oldest first", async () => {
    for (let number = 1; number <= 130; number += 1) {
      github.state.pulls[`acme/web#${number}`] = {
        title: `PR ${number}`,
        state: number % 10 === 0 ? "closed" : "open",
        head: { ref: `feature-${number}`, sha: "a".repeat(40) },
        user: number % 2 === 0 ? "mona" : "octocat",
        labels: number % 3 === 0 ? ["babysit"] : [],
      };
    }
    const gh = client();
    const all = await gh.listOpenPulls(REPO);
    expect(all).toHaveLength(117);
    expect(all[0]).toMatchObject({ number: 1, title: "PR 1", author: "octocat", head: { ref: "feature-1" } });
    expect(github.requests.filter((request) => request.path === "/repos/acme/web/pulls")).toHaveLength(2);
    // An idle tick: both pages again, both 304, nothing counted.
    const used = github.state.rateUsed;
    expect(await gh.listOpenPulls(REPO)).toEqual(all);
    expect(github.state.rateUsed).toBe(used);
    expect(github.requests.slice(-2).map((request) => request.status)).toEqual([304, 304]);
    expect((await gh.listOpenPulls(REPO, { author: "mona" })).every((pull) => pull.author === "mona")).toBe(
      true,
    );
    const labelled = await gh.listOpenPulls(REPO, { label: "babysit" });
    expect(labelled.map((pull) => pull.number).slice(0, 3)).toEqual([3, 6, 9]);
  });

  it("answers a second identical read from memory with a 304 that GitHub does not count", async () => {
    github.state.pulls["acme/web#12"] = {
      title: "Fix",
      state: "open",
      head: { ref: "fix", sha: "b".repeat(40) },
    };
    const gh = client();
    const first = await gh.pull(REPO, 12);
    const used = github.state.rateUsed;
    const second = await gh.pull(REPO, 12);
    expect(second).toEqual(first);
    expect(github.state.rateUsed).toBe(used);
    expect(github.requests.at(-1)).toMatchObject({ status: 304, ifNoneMatch: expect.stringMatching(/^W\//) });
    expect(gh.api.stats).toEqual({ requests: 1, notModified: 1 });
    // A change on GitHub's side is seen at once.
    github.state.pulls["acme/web#12"]!.title = "Fix the crash";
    expect((await gh.pull(REPO, 12)).title).toBe("Fix the crash");
    expect(github.state.rateUsed).toBe(used + 1);
  });

  it("reads a pull request's detail, a fork's head, and how far behind its base it is (real git)", async () => {
    const origin = seedRepo(join(tmp, "repo"));
    origin.commit("feature", { "a.txt": "a\n" }, "Add a");
    origin.commit("main", { "b.txt": "b\n" }, "Add b");
    origin.commit("main", { "c.txt": "c\n" }, "Add c");
    github.state.repos["acme/web"] = { bare: origin.bare, default_branch: "main", protected: ["main"] };
    github.state.pulls["acme/web#4"] = {
      title: "Feature",
      state: "open",
      head: { ref: "feature" },
      mergeable_state: "behind",
    };
    github.state.pulls["acme/web#5"] = {
      title: "From a fork",
      state: "open",
      head: { ref: "patch-1", sha: "c".repeat(40), repo: "mona/web" },
      maintainer_can_modify: true,
    };
    const gh = client();
    const pull = await gh.pull(REPO, 4);
    expect(pull).toMatchObject({
      number: 4,
      mergeable: true,
      mergeableState: "behind",
      fromFork: false,
      head: { ref: "feature", sha: origin.head("feature"), repo: "acme/web" },
      base: { ref: "main", sha: origin.head("main"), repo: "acme/web" },
    });
    expect(pull.head.cloneUrl).toBe(`${github.url}/acme/web.git`);
    expect(await gh.behindBy(REPO, pull)).toBe(2);
    expect(await gh.compare(REPO, "main", "feature")).toEqual({
      status: "diverged",
      aheadBy: 1,
      behindBy: 2,
    });
    expect(await gh.pull(REPO, 5)).toMatchObject({
      fromFork: true,
      maintainerCanModify: true,
      head: { repo: "mona/web" },
    });
    expect(await gh.repository(REPO)).toMatchObject({
      defaultBranch: "main",
      fullName: "acme/web",
      cloneUrl: pull.head.cloneUrl,
    });
    expect(await gh.branchProtected(REPO, "main")).toBe(true);
    expect(await gh.branchProtected(REPO, "feature")).toBe(false);
    expect(await gh.authenticatedUser()).toEqual({ login: "octocat" });
  });

  it("reads every check run of a commit (paginated) and the latest status per context", async () => {
    const sha = "d".repeat(40);
    github.state.checkRuns[`acme/web@${sha}`] = Array.from({ length: 105 }, (_, index) => ({
      name: `job ${index}`,
      status: "completed" as const,
      conclusion: index === 104 ? ("failure" as const) : ("success" as const),
    }));
    github.state.statuses[`acme/web@${sha}`] = [
      { context: "ci/jenkins", state: "failure" },
      { context: "ci/jenkins", state: "success" },
      { context: "deploy", state: "pending" },
    ];
    const gh = client();
    const runs = await gh.checkRuns(REPO, sha);
    expect(runs).toHaveLength(105);
    expect(runs[104]).toMatchObject({ name: "job 104", status: "completed", conclusion: "failure" });
    expect(await gh.commitStatuses(REPO, sha)).toEqual([
      { context: "ci/jenkins", state: "failure", description: null, targetUrl: null },
      { context: "deploy", state: "pending", description: null, targetUrl: null },
    ]);
  });

  it("finds a commit's failed workflow job, downloads its log cut to the failing step, and re-runs it", async () => {
    const sha = "e".repeat(40);
    github.state.workflowRuns["acme/web"] = [
      {
        id: 31,
        name: "CI",
        head_sha: sha,
        status: "completed",
        conclusion: "failure",
        jobs: [
          {
            id: 901,
            name: "test",
            status: "completed",
            conclusion: "failure",
            steps: [
              { name: "Set up job" },
              { name: "Run npm ci" },
              { name: "Run npm test", conclusion: "failure" },
            ],
            log: [
              "2026-01-05T09:00:00.0000000Z ##[group]Run npm ci",
              "2026-01-05T09:00:01.0000000Z added 200 packages",
              "2026-01-05T09:00:02.0000000Z ##[group]Run npm test",
              "2026-01-05T09:00:03.0000000Z FAIL src/cart.test.ts > total > adds tax",
              "2026-01-05T09:00:03.0000000Z AssertionError: expected 108 to be 110",
              "2026-01-05T09:00:04.0000000Z ##[error]Process completed with exit code 1.",
              "2026-01-05T09:00:05.0000000Z Post job cleanup.",
            ].join("\n"),
          },
        ],
      },
      { id: 32, name: "Lint", head_sha: "f".repeat(40), status: "completed", conclusion: "success" },
    ];
    const gh = client();
    const runs = await gh.workflowRuns(REPO, sha);
    expect(runs.map((run) => [run.id, run.conclusion])).toEqual([[31, "failure"]]);
    const [job] = await gh.jobs(REPO, 31);
    expect(job).toMatchObject({
      id: 901,
      conclusion: "failure",
      steps: [{}, {}, { name: "Run npm test", conclusion: "failure" }],
    });
    const log = await gh.jobLog(REPO, job!);
    expect(log).toMatchObject({
      jobId: 901,
      step: "Run npm test",
      firstError: "Process completed with exit code 1.",
      truncated: true,
    });
    expect(log.text).toBe(
      [
        "##[group]Run npm test",
        "FAIL src/cart.test.ts > total > adds tax",
        "AssertionError: expected 108 to be 110",
        "##[error]Process completed with exit code 1.",
      ].join("\n"),
    );
    await gh.rerunFailedJobs(REPO, 31);
    expect(github.state.workflowRuns["acme/web"]![0]).toMatchObject({ status: "queued", run_attempt: 2 });
    await expect(gh.rerunFailedJobs(REPO, 31)).rejects.toMatchObject({ code: "LOOPD_GITHUB_AUTH" });
  });
});

describe("writes", () => {
  it("updates a branch behind its base with a real merge, refusing a stale expected head", async () => {
    const origin = seedRepo(join(tmp, "repo"));
    const featureSha = origin.commit("feature", { "a.txt": "a\n" }, "Add a");
    origin.commit("main", { "b.txt": "b\n" }, "Add b");
    github.state.repos["acme/web"] = { bare: origin.bare };
    github.state.pulls["acme/web#4"] = { title: "Feature", state: "open", head: { ref: "feature" } };
    const gh = client();
    await expect(gh.updateBranch(REPO, 4, "0".repeat(40))).rejects.toMatchObject({
      code: "LOOPD_GITHUB_REJECTED",
      message: expect.stringContaining("expected head sha"),
    });
    await gh.updateBranch(REPO, 4, featureSha);
    const merged = origin.head("feature");
    expect(origin.git("rev-list", "--parents", "-n", "1", merged).split(" ")).toEqual([
      merged,
      featureSha,
      origin.head("main"),
    ]);
    expect(await gh.behindBy(REPO, await gh.pull(REPO, 4))).toBe(0);
  });

  it("opens a pull request once and updates it after; GitHub's duplicate refusal is a stable error", async () => {
    const origin = seedRepo(join(tmp, "repo"));
    origin.commit("loopd/deps", { "package.json": "{}\n" }, "Bump deps");
    github.state.repos["acme/web"] = { bare: origin.bare };
    const gh = client();
    const draft = {
      branch: "loopd/deps",
      base: "main",
      title: "Bump deps",
      body: "First run",
      labels: ["loopd"],
    };
    const opened = await openOrUpdatePull(gh, REPO, draft);
    expect(opened).toMatchObject({
      created: true,
      pull: { number: 1, title: "Bump deps", labels: ["loopd"], author: "octocat" },
    });
    const again = await openOrUpdatePull(gh, REPO, { ...draft, title: "Bump deps (2)", body: "Second run" });
    expect(again).toMatchObject({
      created: false,
      pull: { number: 1, title: "Bump deps (2)", body: "Second run" },
    });
    expect(Object.keys(github.state.pulls)).toEqual(["acme/web#1"]);
    await expect(
      gh.createPull(REPO, { head: "loopd/deps", base: "main", title: "x", body: "" }),
    ).rejects.toMatchObject({
      code: "LOOPD_GITHUB_REJECTED",
      message: expect.stringContaining("A pull request already exists for acme:loopd/deps"),
    });
    expect(await gh.findPullsByHead(REPO, "loopd/deps")).toHaveLength(1);
    await gh.updatePull(REPO, 1, { state: "closed" });
    expect((await openOrUpdatePull(gh, REPO, draft)).pull.number).toBe(2);
  });

  it("keeps one sticky comment per key: created, left alone when unchanged, edited after", async () => {
    github.state.pulls["acme/web#7"] = {
      title: "Fix",
      state: "open",
      head: { ref: "fix", sha: "a".repeat(40) },
    };
    github.state.comments["acme/web#7"] = [
      {
        id: 1,
        body: "LGTM",
        user: "mona",
        created_at: "2026-01-05T09:00:00Z",
        updated_at: "2026-01-05T09:00:00Z",
      },
      {
        id: 2,
        body: "> <!-- loopd:babysit -->\nquoted",
        user: "mona",
        created_at: "2026-01-05T09:00:00Z",
        updated_at: "2026-01-05T09:00:00Z",
      },
    ];
    const gh = client();
    const created = await upsertStickyComment(gh, REPO, 7, "babysit", "CI is red: fixing `adds tax`");
    expect(created.action).toBe("created");
    const writes = () => github.requests.filter((request) => request.method !== "GET").length;
    const before = writes();
    expect((await upsertStickyComment(gh, REPO, 7, "babysit", "CI is red: fixing `adds tax`")).action).toBe(
      "unchanged",
    );
    expect(writes()).toBe(before);
    const updated = await upsertStickyComment(gh, REPO, 7, "babysit", "Fixed in abc123");
    expect(updated).toMatchObject({ action: "updated", comment: { id: created.comment.id } });
    const comments = await gh.issueComments(REPO, 7);
    expect(comments).toHaveLength(3);
    expect(comments[2]).toMatchObject({ author: "octocat", body: "<!-- loopd:babysit -->\nFixed in abc123" });
  });

  it("adds and removes labels and reads issues and review comments", async () => {
    github.state.issues["acme/web#34"] = {
      title: "Crash on save",
      state: "open",
      body: "Steps…",
      labels: ["bug"],
    };
    github.state.pulls["acme/web#35"] = {
      title: "Fix",
      state: "open",
      head: { ref: "fix", sha: "a".repeat(40) },
    };
    github.state.reviewComments["acme/web#35"] = [
      { body: "Rename this", path: "src/a.ts", line: 3, user: "mona" },
    ];
    const gh = client();
    expect(await gh.issue(REPO, 34)).toMatchObject({
      title: "Crash on save",
      body: "Steps…",
      labels: ["bug"],
      isPull: false,
    });
    expect((await gh.issue(REPO, 35)).isPull).toBe(true);
    expect(await gh.addLabels(REPO, 34, ["loopd:working"])).toEqual(["bug", "loopd:working"]);
    await gh.removeLabel(REPO, 34, "bug");
    await gh.removeLabel(REPO, 34, "never-there");
    expect((await gh.issue(REPO, 34)).labels).toEqual(["loopd:working"]);
    expect(await gh.reviewComments(REPO, 35)).toEqual([
      expect.objectContaining({
        body: "Rename this",
        path: "src/a.ts",
        line: 3,
        author: "mona",
        commitSha: "a".repeat(40),
      }),
    ]);
    github.state.issues["acme/web#36"] = { title: "Old bug", state: "closed", labels: ["loopd:working"] };
    github.state.issues["acme/web#37"] = { title: "Another", state: "open", labels: ["loopd:working", "ui"] };
    github.state.pulls["acme/web#35"]!.labels = ["loopd:working"];
    expect((await gh.listOpenIssues(REPO, { label: "loopd:working" })).map((issue) => issue.number)).toEqual([
      34, 37,
    ]);
    expect((await gh.listOpenIssues(REPO)).map((issue) => issue.number)).toEqual([34, 37]);
    const comment = await gh.createComment(REPO, 34, "Working on it");
    expect((await gh.updateComment(REPO, comment.id, "Opened #36")).body).toBe("Opened #36");
  });
});

describe("failures", () => {
  it("waits out a short retry-after once and carries on", async () => {
    github.state.issues["acme/web#34"] = { title: "Crash", state: "open" };
    github.state.rateLimit = {
      resetAt: Math.floor(Date.now() / 1000) + 3600,
      secondary: true,
      retryAfter: 1,
      refusals: 1,
    };
    const started = Date.now();
    expect((await client().issue(REPO, 34)).title).toBe("Crash");
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it("turns a long secondary limit into LOOPD_GITHUB_RATE_LIMITED and sends nothing until it passes", async () => {
    github.state.issues["acme/web#34"] = { title: "Crash", state: "open" };
    github.state.rateLimit = {
      resetAt: Math.floor(Date.now() / 1000) + 3600,
      secondary: true,
      retryAfter: 120,
    };
    const gh = client();
    const error = await gh.issue(REPO, 34).catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: "LOOPD_GITHUB_RATE_LIMITED",
      message: expect.stringMatching(
        /^GitHub refused reading acme\/web#34: the token is over a secondary rate limit until .* \(in 120s\)$/,
      ),
      details: { retryAfterSeconds: 120, secondary: true },
    });
    const sent = github.requests.length;
    github.state.rateLimit = null;
    await expect(gh.pull(REPO, 1)).rejects.toMatchObject({ code: "LOOPD_GITHUB_RATE_LIMITED" });
    expect(github.requests.length).toBe(sent);
  });

  it("names the primary limit's reset time", async () => {
    const resetAt = Math.floor(Date.now() / 1000) + 600;
    github.state.rateLimit = { resetAt };
    await expect(client().issue(REPO, 34)).rejects.toMatchObject({
      code: "LOOPD_GITHUB_RATE_LIMITED",
      details: { until: new Date(resetAt * 1000).toISOString(), secondary: false },
    });
  });

  it("maps refused tokens, missing things, GitHub errors and an unreachable GitHub to stable codes", async () => {
    github.state.issues["acme/web#34"] = { title: "Crash", state: "open" };
    await expect(client("ghp_wrong").issue(REPO, 34)).rejects.toMatchObject({
      code: "LOOPD_GITHUB_AUTH",
      message: "GitHub refused reading acme/web#34 with the token from GITHUB_TOKEN (Bad credentials)",
    });
    await expect(client(null).issue(REPO, 34)).rejects.toMatchObject({ code: "LOOPD_GITHUB_AUTH" });
    await expect(client().issue(REPO, 99)).rejects.toMatchObject({ code: "LOOPD_GITHUB_NOT_FOUND" });
    github.state.forbidden.push("acme/web");
    await expect(client().issue(REPO, 34)).rejects.toMatchObject({
      code: "LOOPD_GITHUB_AUTH",
      message: expect.stringContaining("Resource not accessible by personal access token"),
    });
    github.state.forbidden = [];
    github.state.serverError = 502;
    await expect(client().issue(REPO, 34)).rejects.toMatchObject({
      code: "LOOPD_GITHUB_UNAVAILABLE",
      message: "GitHub answered 502 to reading acme/web#34",
    });
    await github.close();
    await expect(client().issue(REPO, 34)).rejects.toMatchObject({
      code: "LOOPD_GITHUB_UNAVAILABLE",
      message: expect.stringContaining(`could not reach GitHub at ${github.apiUrl}`),
    });
    github = await startFakeGithub({ token: TOKEN });
    expect(counted()).toBe(0);
  });
});
