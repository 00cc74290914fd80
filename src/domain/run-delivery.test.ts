import { describe, expect, it } from "vitest";
import { type ConfigIssue, parseConfigText } from "../config/load-config.js";
import type { LoopdError } from "./errors.js";
import { toRoutineSpec } from "./routine-spec.js";
import {
  branchMatches,
  commitMessage,
  expandBranchPattern,
  parseAuthor,
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
      "routines[1].push: `push` settings apply with `deliver: push`",
      "routines[2].push.branch: only `{routine}` and `{run}` are filled in",
      "routines[3].push.branch: a branch name; `{routine}` and `{run}` are filled in",
      "routines[4].deliver: a watch's check delivers no work; drop `deliver`",
    ]);
  });

  it("accepts a `git` section with an author and noVerify", () => {
    const config = parseConfigText(`git: { author: "Release Bot <bot@example.com>", noVerify: true }\n`, "x");
    expect(config.git).toEqual({ author: "Release Bot <bot@example.com>", noVerify: true });
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
