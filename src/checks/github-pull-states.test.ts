/**
 * The pull request states `loopd remind` reads into checks, evaluated against the fake GitHub
 * over real HTTP: mergeability (including GitHub's lazy `mergeable: null`), behind the base
 * (compare against a real bare repository), requested changes, and comments since the watch
 * began — and a sentence read by the parser all the way to a verdict.
 */
import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { seedRepo } from "../../test/support/fake-github/git-fixture.js";
import { type FakeGithub, startFakeGithub } from "../../test/support/fake-github/server.js";
import { type CheckSpec, describeCheck, toCheckSpec } from "../domain/check.js";
import type { CheckConfig, GithubCheckConfig } from "../domain/config-checks.js";
import { checkSchema } from "../domain/config-checks.js";
import { parseReminder } from "../domain/remind-parser.js";
import { evaluateGithubCheck } from "./github.js";

const TOKEN = "ghp_fake_token";
const HEAD = "0123456789abcdef0123456789abcdef01234567";

let github: FakeGithub;
beforeEach(async () => {
  github = await startFakeGithub({ token: TOKEN });
  github.state.pulls["acme/web#12"] = {
    title: "Add sync",
    state: "open",
    head: { ref: "feature/sync", sha: HEAD },
  };
});
afterEach(async () => {
  await github.close();
});

function evaluate(check: GithubCheckConfig, recheckMs: readonly number[] = [20, 20]) {
  // Through the schema, as a watch from loopd.yaml or `loopd remind` would be.
  const parsed = checkSchema.parse({ github: check });
  const spec = toCheckSpec(parsed) as Extract<CheckSpec, { kind: "github" }>;
  return evaluateGithubCheck(spec, {
    access: { apiUrl: github.apiUrl, token: TOKEN, tokenSource: "GITHUB_TOKEN" },
    mergeableRecheckMs: recheckMs,
  });
}

const pullReads = () =>
  github.requests.filter((request) => request.path === "/repos/acme/web/pulls/12").length;

describe("github check: mergeable and conflicting", () => {
  it("reads GitHub's mergeable both ways", async () => {
    expect((await evaluate({ pr: "acme/web#12", state: "mergeable" })).status).toBe("satisfied");
    const clean = await evaluate({ pr: "acme/web#12", state: "conflicting" });
    expect(clean.status).toBe("unsatisfied");
    expect(clean.summary).toBe('acme/web#12 "Add sync" has no merge conflicts with main');

    github.state.pulls["acme/web#12"]!.mergeable = false; // mergeable_state: dirty
    const dirty = await evaluate({ pr: "acme/web#12", state: "conflicting" });
    expect(dirty.status).toBe("satisfied");
    expect(dirty.summary).toBe('acme/web#12 "Add sync" has merge conflicts with main');
    expect(dirty.evidence).toMatchObject({ mergeable: false, mergeableState: "dirty" });
    expect((await evaluate({ pr: "acme/web#12", state: "mergeable" })).status).toBe("unsatisfied");
  });

  it("says why the merge button may still be grey without conflicts", async () => {
    github.state.pulls["acme/web#12"]!.mergeable_state = "blocked";
    const result = await evaluate({ pr: "acme/web#12", state: "mergeable" });
    expect(result.status).toBe("satisfied");
    expect(result.summary).toContain("blocked by branch protection");
  });

  it("looks again while GitHub is still computing mergeable, then answers", async () => {
    github.state.pulls["acme/web#12"]!.mergeable_pending = 2;
    const result = await evaluate({ pr: "acme/web#12", state: "mergeable" });
    expect(result.status).toBe("satisfied");
    expect(result.evidence).toMatchObject({ mergeable: true, looks: 3 });
    expect(pullReads()).toBe(3);
  });

  it("never turns an unknown mergeable into a verdict", async () => {
    github.state.pulls["acme/web#12"]!.mergeable_pending = 10;
    for (const state of ["mergeable", "conflicting"]) {
      const result = await evaluate({ pr: "acme/web#12", state });
      expect(result.status).toBe("error");
      expect(result.error?.code).toBe("LOOPD_CHECK_ERROR");
      expect(result.summary).toMatch(/GitHub is still computing whether acme\/web#12 can be merged/);
      expect(result.evidence).toMatchObject({ mergeable: null, mergeableState: "unknown", looks: 3 });
    }
  });

  it("is unsatisfied, with the reason, for a pull request that was merged", async () => {
    Object.assign(github.state.pulls["acme/web#12"]!, { state: "closed", merged: true });
    const result = await evaluate({ pr: "acme/web#12", state: "mergeable" });
    expect(result.status).toBe("unsatisfied");
    expect(result.summary).toMatch(/was merged/);
  });
});

describe("github check: behind and up to date", () => {
  let tmp: string;
  beforeEach(() => {
    tmp = realpathSync(mkdtempSync(join(tmpdir(), "loopd-behind-")));
  });
  afterEach(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  it("counts the base's commits the head lacks, against the base or a named branch", async () => {
    const origin = seedRepo(join(tmp, "repo"));
    origin.commit("feature/sync", { "src/sync.ts": "export {};\n" }, "Add sync");
    origin.commit("develop", { "docs/a.md": "a\n" }, "Docs");
    github.state.repos["acme/web"] = { bare: origin.bare };
    github.state.pulls["acme/web#12"] = { title: "Add sync", state: "open", head: { ref: "feature/sync" } };

    const upToDate = await evaluate({ pr: "acme/web#12", state: "up-to-date" });
    expect(upToDate.status).toBe("satisfied");
    expect(upToDate.summary).toBe('acme/web#12 "Add sync" is up to date with main');

    origin.commit("main", { "CHANGELOG.md": "1\n" }, "Release 1");
    origin.commit("main", { "CHANGELOG.md": "2\n" }, "Release 2");
    const behind = await evaluate({ pr: "acme/web#12", state: "behind" });
    expect(behind.status).toBe("satisfied");
    expect(behind.summary).toBe('acme/web#12 "Add sync" is 2 commits behind main');
    expect(behind.evidence).toMatchObject({ base: "main", behindBy: 2, aheadBy: 1 });
    expect((await evaluate({ pr: "acme/web#12", state: "up-to-date" })).status).toBe("unsatisfied");

    const develop = await evaluate({ pr: "acme/web#12", state: "behind", base: "develop" });
    expect(develop.summary).toBe('acme/web#12 "Add sync" is 1 commit behind develop');
  });
});

describe("github check: reviews", () => {
  it("has changes requested while a reviewer's latest review requests them", async () => {
    github.state.reviews["acme/web#12"] = [
      { user: "alice", state: "APPROVED" },
      { user: "bob", state: "CHANGES_REQUESTED" },
    ];
    const blocked = await evaluate({ pr: "acme/web#12", state: "changes-requested" });
    expect(blocked.status).toBe("satisfied");
    expect(blocked.summary).toBe('acme/web#12 "Add sync" has changes requested by bob; approved by alice');
    expect((await evaluate({ pr: "acme/web#12", state: "approved" })).status).toBe("unsatisfied");

    github.state.reviews["acme/web#12"]!.push({ user: "bob", state: "APPROVED" });
    const approved = await evaluate({ pr: "acme/web#12", state: "changes-requested" });
    expect(approved.status).toBe("unsatisfied");
    expect(approved.summary).toBe('acme/web#12 "Add sync" is approved by alice, bob');
    expect((await evaluate({ pr: "acme/web#12", state: "approved" })).status).toBe("satisfied");
  });

  it("counts comment-only reviews as neither", async () => {
    github.state.reviews["acme/web#12"] = [{ user: "carol", state: "COMMENTED" }];
    const result = await evaluate({ pr: "acme/web#12", state: "changes-requested" });
    expect(result.status).toBe("unsatisfied");
    expect(result.summary).toBe('acme/web#12 "Add sync" has no review requesting changes (1 review)');
  });
});

describe("github check: new comments", () => {
  const SINCE = "2026-12-04T16:00:00+01:00"; // 15:00 UTC
  const comment = (id: number, user: string, created: string, updated = created) => ({
    id,
    body: `comment ${id}`,
    user,
    created_at: created,
    updated_at: updated,
  });

  it("counts conversation and review comments created after `since`, not older ones edited since", async () => {
    github.state.comments["acme/web#12"] = [
      comment(1, "alice", "2026-12-04T14:00:00Z", "2026-12-04T15:30:00Z"), // old, edited after
    ];
    const none = await evaluate({ pr: "acme/web#12", state: "new-comments", since: SINCE });
    expect(none.status).toBe("unsatisfied");
    expect(none.summary).toBe(`acme/web#12 "Add sync" has no new comments since ${SINCE}`);

    github.state.comments["acme/web#12"]!.push(comment(2, "bob", "2026-12-04T15:10:00Z"));
    github.state.reviewComments["acme/web#12"] = [
      { body: "nit: rename", user: "carol", path: "src/sync.ts", created_at: "2026-12-04T15:20:00Z" },
      { body: "old", user: "dave", path: "src/sync.ts", created_at: "2026-12-01T09:00:00Z" },
    ];
    const fresh = await evaluate({ pr: "acme/web#12", state: "new-comments", since: SINCE });
    expect(fresh.status).toBe("satisfied");
    expect(fresh.summary).toMatch(/has 2 new comments since .* by bob, carol \(latest .*: "nit: rename"\)$/);
    expect(fresh.evidence).toMatchObject({ newComments: 2 });
    // `since` goes to GitHub, which filters by update time.
    const asked = github.requests.filter((request) => request.path.endsWith("/comments"));
    expect(asked.map((request) => request.query.since)).toEqual([SINCE, SINCE, SINCE, SINCE]);
  });

  it("reads an issue's conversation comments", async () => {
    github.state.issues["acme/web#34"] = { title: "Crash on save", state: "open" };
    github.state.comments["acme/web#34"] = [comment(5, "erin", "2026-12-04T18:00:00Z")];
    const result = await evaluate({ issue: "acme/web#34", state: "new-comments", since: SINCE });
    expect(result.status).toBe("satisfied");
    expect(result.summary).toMatch(/^acme\/web#34 "Crash on save" has 1 new comment since .* by erin/);
  });

  it("needs `since` in config", () => {
    expect(checkSchema.safeParse({ github: { pr: "acme/web#12", state: "new-comments" } }).success).toBe(
      false,
    );
    expect(
      checkSchema.safeParse({ github: { pr: "acme/web#12", state: "merged", since: SINCE } }).success,
    ).toBe(false);
  });
});

describe("remind sentence to verdict, with no model", () => {
  it.each([
    ["ping me tonight at 11pm if https://github.com/acme/web/pull/12 has merge conflicts", "satisfied"],
    ["tell me when https://github.com/acme/web/pull/12 can be merged", "unsatisfied"],
    ["tomorrow 9am ET ping me if https://github.com/acme/web/pull/12 has changes requested", "satisfied"],
  ] as const)("%s", async (sentence, status) => {
    github.state.pulls["acme/web#12"]!.mergeable = false;
    github.state.reviews["acme/web#12"] = [{ user: "bob", state: "CHANGES_REQUESTED" }];
    const result = parseReminder(sentence, {
      now: Date.parse("2026-12-04T15:00:00Z"),
      timeZone: "Europe/Berlin",
    });
    if (!result.ok) throw new Error(result.reason);
    const check: CheckConfig = result.plan.check;
    const spec = toCheckSpec(check);
    expect(describeCheck(spec)).toMatch(
      /^PR acme\/web#12 (has merge conflicts|can be merged|has changes requested)/,
    );
    expect((await evaluate(check.github!)).status).toBe(status);
  });
});
