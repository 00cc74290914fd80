import { describe, expect, it } from "vitest";
import { type ConfigIssue, parseConfigText } from "../config/load-config.js";
import type { LoopdError } from "./errors.js";
import { toRoutineSpec } from "./routine-spec.js";
import {
  branchMatches,
  commitMessage,
  expandBranchPattern,
  parseAuthor,
  pullRequestBody,
  pullRequestTitle,
  withoutCredentials,
} from "./run-delivery.js";

function specsOf(yaml: string) {
  const config = parseConfigText(yaml, "loopd.yaml");
  return config.routines.map((routine, index) =>
    toRoutineSpec(routine, index, { configDir: "/repo", defaultTimeZone: "UTC", config }),
  );
}

function issuesOf(yaml: string): string[] {
  try {
    parseConfigText(yaml, "loopd.yaml");
  } catch (error) {
    return ((error as LoopdError).details as { issues: ConfigIssue[] }).issues.map(
      (issue) => `${issue.path}: ${issue.message}`,
    );
  }
  throw new Error("expected the config to be rejected");
}

describe("deliver in the config", () => {
  it("defaults to commit for agents in a worktree and none for shell, in-place and watches", () => {
    const specs = specsOf(`routines:
  - { name: agent, prompt: "Fix it." }
  - { name: agent-in-place, prompt: "Fix it.", workspace: in-place }
  - { name: tick, command: date }
  - { name: shell-worktree, command: date, workspace: worktree }
  - { name: watch, check: { command: "true" } }
  - { name: pushed, prompt: "Fix it.", deliver: push }
  - { name: custom, prompt: "Fix it.", deliver: push, push: { remote: upstream, branch: "bot/{routine}", force: "bot/**" } }
`);
    expect(specs.map((spec) => [spec.name, spec.deliver])).toEqual([
      ["agent", "commit"],
      ["agent-in-place", "none"],
      ["tick", "none"],
      ["shell-worktree", "none"],
      ["watch", "none"],
      ["pushed", "push"],
      ["custom", "push"],
    ]);
    expect(specs[0]!.push).toBeUndefined();
    expect(specs[5]!.push).toEqual({
      remote: "origin",
      branch: "loopd/{routine}/{run}",
      force: "loopd/{routine}/*",
    });
    expect(specs[6]!.push).toEqual({ remote: "upstream", branch: "bot/{routine}", force: "bot/**" });
  });

  it("rejects delivery without a worktree, push settings without push, and bad branch patterns", () => {
    expect(
      issuesOf(`git: { author: "no email" }
routines:
  - { name: a, command: date, deliver: commit }
  - { name: b, prompt: "x", push: { remote: origin } }
  - { name: c, prompt: "x", deliver: push, push: { branch: "loopd/{name}" } }
  - { name: d, prompt: "x", deliver: push, push: { branch: "bad..name" } }
  - { name: e, check: { command: "true" }, deliver: commit }
`),
    ).toEqual([
      "git.author: `Name <email>`",
      "routines[0].deliver: `deliver: commit` commits on the run's branch of a worktree; set `workspace: worktree`",
      "routines[1].push: `push` settings apply with `deliver: push` or `deliver: pr`",
      "routines[2].push.branch: only `{routine}` and `{run}` are filled in",
      "routines[3].push.branch: a branch name; `{routine}` and `{run}` are filled in",
      "routines[4].deliver: a watch's check delivers no work; drop `deliver`",
    ]);
  });

  it("gives deliver: pr one branch per routine and the pr settings' defaults", () => {
    const [plain, custom] = specsOf(`routines:
  - { name: deps, prompt: "Bump deps.", deliver: pr }
  - name: docs
    prompt: "Fix docs."
    deliver: pr
    push: { remote: upstream }
    pr: { repo: acme/web, base: develop, title: "docs: {routine} run {run}", draft: true, labels: [docs], tokenEnv: DOCS_TOKEN }
`);
    expect(plain).toMatchObject({
      deliver: "pr",
      push: { remote: "origin", branch: "loopd/{routine}", force: "loopd/{routine}" },
      pr: { draft: false, labels: [] },
    });
    expect(custom!.push).toEqual({ remote: "upstream", branch: "loopd/{routine}", force: "loopd/{routine}" });
    expect(custom!.pr).toEqual({
      repo: "acme/web",
      base: "develop",
      title: "docs: {routine} run {run}",
      draft: true,
      labels: ["docs"],
      tokenEnv: "DOCS_TOKEN",
    });
  });

  it("rejects pr settings without deliver: pr, and a repo that is not owner/name", () => {
    expect(
      issuesOf(`routines:
  - { name: a, prompt: "x", pr: { draft: true } }
  - { name: b, prompt: "x", deliver: pr, pr: { repo: "https://github.com/acme/web" } }
  - { name: c, prompt: "x", deliver: pr, workspace: in-place }
`),
    ).toEqual([
      "routines[0].pr: `pr` settings apply with `deliver: pr`",
      "routines[1].pr.repo: owner/name of the GitHub repository",
      "routines[2].deliver: `deliver: pr` commits on the run's branch of a worktree; set `workspace: worktree`",
    ]);
  });

  it("accepts a `git` section with an author and noVerify", () => {
    const config = parseConfigText(`git: { author: "Release Bot <bot@example.com>", noVerify: true }\n`, "x");
    expect(config.git).toEqual({ author: "Release Bot <bot@example.com>", noVerify: true });
  });
});

describe("the pull request of deliver: pr", () => {
  const facts = {
    routine: "deps",
    runId: 42,
    summary: "Bumped vitest to 4.1.\nAll tests pass.",
    costUsd: 0.0312,
    diffStat: "2 files changed, 4 insertions(+), 4 deletions(-)",
    commit: "0123456789abcdef0123",
  };

  it("is titled by the summary's first line, or by pr.title with placeholders filled", () => {
    expect(pullRequestTitle(undefined, facts)).toBe("Bumped vitest to 4.1.");
    expect(pullRequestTitle("chore({routine}): run {run}", facts)).toBe("chore(deps): run 42");
    expect(pullRequestTitle(undefined, { ...facts, summary: null })).toBe("deps: run 42");
  });

  it("says what changed, what it cost and which run did it, under the routine's marker", () => {
    expect(pullRequestBody(facts)).toBe(
      [
        "<!-- loopd:deliver:deps -->",
        "Bumped vitest to 4.1.\nAll tests pass.",
        "",
        "---",
        "- Changes: 2 files changed, 4 insertions(+), 4 deletions(-) (commit 0123456789ab)",
        "- Cost: $0.0312",
        "- Run: 42 of `deps` — `loopd show-run 42`",
        "",
        "Opened by loopd (`deliver: pr`); the next run of this routine updates this pull request.",
      ].join("\n"),
    );
    expect(pullRequestBody({ ...facts, costUsd: null, summary: null })).toContain(
      "The work of run 42 of `deps`.",
    );
  });
});

describe("delivery rules", () => {
  it("parses `Name <email>` authors", () => {
    expect(parseAuthor("loopd <loopd@localhost>")).toEqual({ name: "loopd", email: "loopd@localhost" });
    expect(parseAuthor("Release Bot <bot@example.com>")).toEqual({
      name: "Release Bot",
      email: "bot@example.com",
    });
    expect(parseAuthor("no email")).toBeNull();
  });

  it("makes the commit message from the summary's first line and a Loopd-Run trailer", () => {
    expect(commitMessage({ id: 42, routine: "fix", summary: "Fixed the typo.\nDetails…" })).toEqual([
      "Fixed the typo.",
      "Loopd-Run: 42",
    ]);
    expect(commitMessage({ id: 42, routine: "fix", summary: null })).toEqual([
      "fix: run 42",
      "Loopd-Run: 42",
    ]);
    expect(commitMessage({ id: 1, routine: "fix", summary: "x".repeat(300) })[0]).toHaveLength(200);
  });

  it("fills branch patterns and matches globs within and across segments", () => {
    expect(expandBranchPattern("loopd/{routine}/{run}", { routine: "fix", run: "7-2" })).toBe(
      "loopd/fix/7-2",
    );
    expect(branchMatches("loopd/fix/*", "loopd/fix/7-2")).toBe(true);
    expect(branchMatches("loopd/fix/*", "loopd/fix/a/b")).toBe(false);
    expect(branchMatches("loopd/fix/*", "loopd/fixer/1")).toBe(false);
    expect(branchMatches("bot/**", "bot/a/b")).toBe(true);
    expect(branchMatches("main", "main")).toBe(true);
    expect(branchMatches("", "main")).toBe(false);
  });

  it("removes credentials from URLs", () => {
    expect(withoutCredentials("To https://x-access-token:ghp_abc@github.com/a/b.git")).toBe(
      "To https://***@github.com/a/b.git",
    );
    expect(withoutCredentials("git@github.com:a/b.git")).toBe("git@github.com:a/b.git");
  });
});
