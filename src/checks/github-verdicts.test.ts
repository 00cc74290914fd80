/**
 * What each GitHub state means, against the fake GitHub over real HTTP: every state of an
 * issue, pull request and discussion both ways, review rules, and check runs plus commit
 * statuses across more than one page.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FakeGithub, startFakeGithub } from "../../test/support/fake-github/server.js";
import type { CheckRunFixture, ReviewFixture } from "../../test/support/fake-github/state.js";
import { type CheckSpec, toCheckSpec } from "../domain/check.js";
import type { GithubCheckConfig } from "../domain/config-checks.js";
import { evaluateGithubCheck } from "./github.js";

const TOKEN = "ghp_fake_token";
const HOURS = 3_600_000;
const hoursAgo = (hours: number) => new Date(Date.now() - hours * HOURS).toISOString();

let github: FakeGithub;
beforeEach(async () => {
  github = await startFakeGithub({ token: TOKEN });
});
afterEach(async () => {
  await github.close();
});

function evaluate(check: GithubCheckConfig) {
  const spec = toCheckSpec({ github: check }) as Extract<CheckSpec, { kind: "github" }>;
  return evaluateGithubCheck(spec, {
    access: { apiUrl: github.apiUrl, token: TOKEN, tokenSource: "GITHUB_TOKEN" },
  });
}

const pagesRequested = (path: string) =>
  github.requests.filter((request) => request.path === path).map((request) => request.query.page ?? "1");

describe("github check: issues", () => {
  beforeEach(() => {
    github.state.issues["acme/web#34"] = {
      title: "Crash on save",
      state: "open",
      comments: 7,
      updated_at: hoursAgo(2),
    };
  });

  it("is unsatisfied for closed while the issue is open, with an actionable summary", async () => {
    const result = await evaluate({ issue: "acme/web#34" });
    expect(result.status).toBe("unsatisfied");
    expect(result.summary).toBe('acme/web#34 "Crash on save" is still open (7 comments, updated 2h ago)');
    expect(result.evidence).toMatchObject({
      url: "https://github.com/acme/web/issues/34",
      title: "Crash on save",
      state: "open",
      comments: 7,
    });
  });

  it("is satisfied for closed once the issue is closed, whatever the reason", async () => {
    github.state.issues["acme/web#34"] = {
      title: "Crash on save",
      state: "closed",
      state_reason: "not_planned",
    };
    const result = await evaluate({ issue: "https://github.com/acme/web/issues/34", state: "closed" });
    expect(result.status).toBe("satisfied");
    expect(result.summary).toMatch(/^acme\/web#34 "Crash on save" was closed as not planned/);
  });

  it("is satisfied for open while open, unsatisfied once closed", async () => {
    expect((await evaluate({ issue: "acme/web#34", state: "open" })).status).toBe("satisfied");
    github.state.issues["acme/web#34"]!.state = "closed";
    const closed = await evaluate({ issue: "acme/web#34", state: "open" });
    expect(closed.status).toBe("unsatisfied");
    expect(closed.summary).toContain("was closed as completed");
  });

  it("is satisfied for fixed when closed as completed", async () => {
    github.state.issues["acme/web#34"] = {
      title: "Crash on save",
      state: "closed",
      state_reason: "completed",
    };
    const result = await evaluate({ issue: "acme/web#34", state: "fixed" });
    expect(result.status).toBe("satisfied");
    expect(result.evidence).toMatchObject({ state: "closed", stateReason: "completed" });
  });

  it("is unsatisfied for fixed when closed as not planned or duplicate, and says it was not fixed", async () => {
    for (const reason of ["not_planned", "duplicate"] as const) {
      github.state.issues["acme/web#34"] = { title: "Crash on save", state: "closed", state_reason: reason };
      const result = await evaluate({ issue: "acme/web#34", state: "fixed" });
      expect(result.status).toBe("unsatisfied");
      expect(result.summary).toMatch(new RegExp(`closed as ${reason.replace("_", " ")} .*, not fixed$`));
    }
  });

  it("is unsatisfied for fixed while the issue is still open", async () => {
    const result = await evaluate({ issue: "acme/web#34", state: "fixed" });
    expect(result.status).toBe("unsatisfied");
    expect(result.summary).toContain("is still open");
  });
});

describe("github check: pull requests", () => {
  const HEAD = "0123456789abcdef0123456789abcdef01234567";
  const pr = (state: "open" | "closed", merged = false) => {
    github.state.pulls["acme/web#12"] = {
      title: "Add sync",
      state,
      merged,
      head: { ref: "feature/sync", sha: HEAD },
      comments: 2,
      review_comments: 1,
      updated_at: hoursAgo(3),
    };
  };

  it.each([
    ["open", "open", false, "satisfied", 'acme/web#12 "Add sync" is open (3 comments, updated 3h ago)'],
    ["open", "closed", true, "unsatisfied", 'acme/web#12 "Add sync" was merged'],
    ["closed", "open", false, "unsatisfied", 'acme/web#12 "Add sync" is still open'],
    ["closed", "closed", false, "satisfied", 'acme/web#12 "Add sync" was closed without merging'],
    ["closed", "closed", true, "satisfied", 'acme/web#12 "Add sync" was merged'],
    ["merged", "closed", true, "satisfied", 'acme/web#12 "Add sync" was merged'],
    ["merged", "closed", false, "unsatisfied", 'acme/web#12 "Add sync" was closed without merging'],
    ["merged", "open", false, "unsatisfied", 'acme/web#12 "Add sync" is still open'],
  ] as const)(
    "state %s with a PR that is %s (merged: %s) is %s",
    async (want, state, merged, status, summary) => {
      pr(state, merged);
      const result = await evaluate({ pr: "acme/web#12", state: want });
      expect(result.status).toBe(status);
      expect(result.summary.startsWith(summary)).toBe(true);
      expect(result.evidence).toMatchObject({ url: "https://github.com/acme/web/pull/12", state, merged });
    },
  );

  it("waits for merged by default", async () => {
    pr("open");
    const result = await evaluate({ pr: "https://github.com/acme/web/pull/12" });
    expect(result.status).toBe("unsatisfied");
    expect(result.evidence.want).toEqual({ state: "merged" });
  });

  describe("approved", () => {
    const reviews = (list: ReviewFixture[]) => {
      pr("open");
      github.state.reviews["acme/web#12"] = list;
    };

    it("is satisfied when a reviewer approved, even after a later comment of theirs", async () => {
      reviews([
        { user: "alice", state: "APPROVED" },
        { user: "alice", state: "COMMENTED" },
      ]);
      const result = await evaluate({ pr: "acme/web#12", state: "approved" });
      expect(result.status).toBe("satisfied");
      expect(result.summary).toBe('acme/web#12 "Add sync" is approved by alice');
    });

    it("is unsatisfied when a reviewer requested changes after approving", async () => {
      reviews([
        { user: "alice", state: "APPROVED" },
        { user: "alice", state: "CHANGES_REQUESTED" },
      ]);
      const result = await evaluate({ pr: "acme/web#12", state: "approved" });
      expect(result.status).toBe("unsatisfied");
      expect(result.summary).toBe('acme/web#12 "Add sync" has changes requested by alice');
    });

    it("is unsatisfied while any other reviewer's latest review requests changes", async () => {
      reviews([
        { user: "bob", state: "CHANGES_REQUESTED" },
        { user: "alice", state: "APPROVED" },
      ]);
      const result = await evaluate({ pr: "acme/web#12", state: "approved" });
      expect(result.status).toBe("unsatisfied");
      expect(result.summary).toContain("changes requested by bob; approved by alice");
      expect(result.evidence).toMatchObject({ approvedBy: ["alice"], changesRequestedBy: ["bob"] });
    });

    it("counts a reviewer's approval that follows their own change request", async () => {
      reviews([
        { user: "bob", state: "CHANGES_REQUESTED" },
        { user: "bob", state: "APPROVED" },
      ]);
      expect((await evaluate({ pr: "acme/web#12", state: "approved" })).status).toBe("satisfied");
    });

    it("is unsatisfied with no reviews", async () => {
      reviews([]);
      const result = await evaluate({ pr: "acme/web#12", state: "approved" });
      expect(result.status).toBe("unsatisfied");
      expect(result.summary).toContain("has no approving review yet (0 reviews)");
    });

    it("reads every page of reviews: a change request on page two blocks the approval", async () => {
      const comments = Array.from(
        { length: 120 },
        (_, index): ReviewFixture => ({
          user: `reader${index}`,
          state: "COMMENTED",
        }),
      );
      reviews([
        { user: "alice", state: "APPROVED" },
        ...comments,
        { user: "alice", state: "CHANGES_REQUESTED" },
      ]);
      const result = await evaluate({ pr: "acme/web#12", state: "approved" });
      expect(result.status).toBe("unsatisfied");
      expect(result.evidence.reviews).toBe(122);
      expect(pagesRequested("/repos/acme/web/pulls/12/reviews")).toEqual(["1", "2"]);
    });
  });

  describe("checks: green", () => {
    const runs = (list: CheckRunFixture[]) => {
      pr("open");
      github.state.checkRuns[`acme/web@${HEAD}`] = list;
    };
    const passing = (count: number) =>
      Array.from(
        { length: count },
        (_, index): CheckRunFixture => ({
          name: `test-${index}`,
          status: "completed",
          conclusion: "success",
        }),
      );

    it("is satisfied when every check run and status on the head commit passed", async () => {
      runs([...passing(3), { name: "docs", status: "completed", conclusion: "skipped" }]);
      github.state.statuses[`acme/web@${HEAD}`] = [{ context: "ci/jenkins", state: "success" }];
      const result = await evaluate({ pr: "acme/web#12", checks: "green" });
      expect(result.status).toBe("satisfied");
      expect(result.summary).toBe("all 5 checks passed on acme/web#12 (head 0123456)");
      expect(result.evidence).toMatchObject({ sha: HEAD, headSha: HEAD, checks: { total: 5, passed: 5 } });
    });

    it("is unsatisfied while checks run, counting them across pages", async () => {
      runs([...passing(148), { name: "e2e", status: "in_progress" }, { name: "lint", status: "queued" }]);
      github.state.statuses[`acme/web@${HEAD}`] = [{ context: "deploy/preview", state: "pending" }];
      const result = await evaluate({ pr: "acme/web#12", checks: "green" });
      expect(result.status).toBe("unsatisfied");
      expect(result.summary).toBe(
        "3 of 151 checks still running on acme/web#12 (head 0123456): e2e (in_progress), lint (queued), deploy/preview (pending)",
      );
      expect(pagesRequested(`/repos/acme/web/commits/${HEAD}/check-runs`)).toEqual(["1", "2"]);
    });

    it("is unsatisfied when checks failed, naming the first few", async () => {
      const failing: CheckRunFixture[] = ["unit", "e2e", "lint", "types"].map((name) => ({
        name,
        status: "completed",
        conclusion: name === "e2e" ? "timed_out" : "failure",
      }));
      runs([...passing(110), ...failing, { name: "slow", status: "in_progress" }]);
      github.state.statuses[`acme/web@${HEAD}`] = [{ context: "ci/legacy", state: "error" }];
      const result = await evaluate({ pr: "acme/web#12", checks: "green" });
      expect(result.status).toBe("unsatisfied");
      expect(result.summary).toBe(
        "5 of 116 checks failed on acme/web#12 (head 0123456): unit (failure), e2e (timed_out), lint (failure) and 2 more; 1 still running",
      );
      expect(result.evidence.failed).toHaveLength(5);
    });

    it("is unsatisfied when nothing has reported yet", async () => {
      runs([]);
      const result = await evaluate({ pr: "acme/web#12", checks: "green" });
      expect(result.status).toBe("unsatisfied");
      expect(result.summary).toBe("no checks reported yet on acme/web#12 (head 0123456)");
    });
  });
});

describe("github check: refs", () => {
  it("is satisfied when the branch's check runs and statuses passed", async () => {
    github.state.checkRuns["acme/web@main"] = [{ name: "build", status: "completed", conclusion: "neutral" }];
    github.state.statuses["acme/web@main"] = [{ context: "ci/circle", state: "success" }];
    const result = await evaluate({ ref: "acme/web@main" });
    expect(result.status).toBe("satisfied");
    expect(result.summary).toBe("all 2 checks passed on acme/web@main");
    expect(result.evidence.url).toBe("https://github.com/acme/web/tree/main");
  });

  it("reads a branch name with a slash and a commit status alone", async () => {
    github.state.statuses["acme/web@release/2.0"] = [{ context: "ci/circle", state: "failure" }];
    const result = await evaluate({ ref: "https://github.com/acme/web/tree/release/2.0" });
    expect(result.status).toBe("unsatisfied");
    expect(result.summary).toBe("1 of 1 checks failed on acme/web@release/2.0: ci/circle (failure)");
  });

  it("is unsatisfied for a ref nothing has reported on", async () => {
    const result = await evaluate({ ref: "acme/web@0123456789abcdef0123456789abcdef01234567" });
    expect(result.status).toBe("unsatisfied");
    expect(result.summary).toMatch(/^no checks reported yet/);
  });
});

describe("github check: discussions", () => {
  const URL = "https://github.com/acme/web/discussions/7";
  const discussion = (fixture: Partial<FakeGithub["state"]["discussions"][string]>) => {
    github.state.discussions["acme/web#7"] = {
      title: "How do I sync?",
      comments: 4,
      updatedAt: hoursAgo(5),
      ...fixture,
    };
  };

  it.each([
    ["open", {}, "satisfied", 'acme/web#7 "How do I sync?" is open (4 comments, updated 5h ago)'],
    ["open", { closed: true, stateReason: "OUTDATED" }, "unsatisfied", "was closed as outdated"],
    ["closed", { closed: true, stateReason: "DUPLICATE" }, "satisfied", "was closed as duplicate"],
    ["closed", {}, "unsatisfied", "is still open (4 comments"],
    ["answered", { isAnswered: true, answer: { author: "maria" } }, "satisfied", "was answered by maria"],
    ["answered", { isAnswered: false }, "unsatisfied", "has no chosen answer yet (4 comments"],
    ["resolved", { isAnswered: true, answer: { author: "maria" } }, "satisfied", "was answered by maria"],
    [
      "resolved",
      { closed: true, stateReason: "RESOLVED", isAnswered: null },
      "satisfied",
      "was closed as resolved",
    ],
    [
      "resolved",
      { closed: true, stateReason: "OUTDATED" },
      "unsatisfied",
      "closed as outdated, with no chosen answer",
    ],
    ["resolved", { isAnswered: false }, "unsatisfied", "has no chosen answer yet"],
  ] as const)("state %s with %j is %s", async (state, fixture, status, summary) => {
    discussion(fixture);
    const result = await evaluate({ discussion: URL, state });
    expect(result.status).toBe(status);
    expect(result.summary).toContain(summary);
    expect(result.evidence).toMatchObject({ url: URL, title: "How do I sync?", comments: 4 });
  });

  it("asks GraphQL for the discussion's state and answer, with the token", async () => {
    discussion({ isAnswered: true, answer: { author: "maria" } });
    const result = await evaluate({ discussion: URL });
    expect(result.evidence).toMatchObject({
      isAnswered: true,
      answerAuthor: "maria",
      answerUrl: `${URL}#discussioncomment-9001`,
    });
    const request = github.requests.find((entry) => entry.path === "/graphql");
    expect(request?.authorization).toBe(`token ${TOKEN}`);
    expect(request?.body).toMatchObject({ variables: { owner: "acme", repo: "web", number: 7 } });
  });
});
