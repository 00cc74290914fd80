/**
 * Checks as the store keeps them (normalised from `check:`), and what evaluating one yields:
 * a verdict with evidence. `error` means the check could not be evaluated (network down, a
 * rejected token, an answer that was not the JSON asked for) — never a guess either way.
 */
import type { CheckConfig, GithubCheckConfig } from "./config-checks.js";
import { describeGithubTarget, type GithubTarget, parseGithubTarget } from "./github-ref.js";

export type CheckSpec =
  | { kind: "command"; command: string }
  | { kind: "test-retry"; command: string; retries: number }
  | { kind: "github"; target: GithubTarget; url: string; want: GithubWant }
  | {
      kind: "http";
      url: string;
      method: "GET" | "HEAD" | "POST";
      status: number | "2xx" | "3xx" | "4xx" | "5xx";
      contains?: string;
      matches?: string;
      headers?: Record<string, string>;
    }
  | { kind: "agent"; question: string; subject?: string; tier?: string };

/**
 * What satisfies a GitHub check: a state of the issue/PR/discussion, or green check runs.
 * `since` (new-comments) and `base` (behind, up-to-date) qualify a state.
 */
export type GithubWant = { state: string; since?: string; base?: string } | { checks: "green" };

/**
 * The state a GitHub check waits for when none is given. Here, not beside the `check:` schema
 * in config-checks.ts: `loopd ls` describes stored checks without loading zod.
 */
export const DEFAULT_GITHUB_STATE = { issue: "closed", pr: "merged", discussion: "resolved" } as const;

export type Verdict = "satisfied" | "unsatisfied";

export interface CheckResult {
  status: Verdict | "error";
  /** One line a human (and an agent) can act on: "acme/web#12 is still open (3 comments)". */
  summary: string;
  /** What was looked at and seen: URLs, states, exit codes, tries — stored with the run. */
  evidence: Record<string, unknown>;
  /** For `error`: a stable code and message. */
  error?: { code: string; message: string };
}

export const DEFAULT_TEST_RETRIES = 2;

export function toCheckSpec(check: CheckConfig): CheckSpec {
  if (check.command !== undefined) return { kind: "command", command: check.command };
  if (check.testRetry !== undefined) {
    return {
      kind: "test-retry",
      command: check.testRetry.command,
      retries: check.testRetry.retries ?? DEFAULT_TEST_RETRIES,
    };
  }
  if (check.github !== undefined) return githubSpec(check.github);
  if (check.http !== undefined) {
    const { url, method, status, contains, matches, headers } = check.http;
    return {
      kind: "http",
      url,
      method: method ?? "GET",
      status: status ?? "2xx",
      ...(contains !== undefined ? { contains } : {}),
      ...(matches !== undefined ? { matches } : {}),
      ...(headers !== undefined ? { headers } : {}),
    };
  }
  if (check.agent !== undefined) {
    return {
      kind: "agent",
      question: check.agent.question,
      ...(check.agent.subject !== undefined ? { subject: check.agent.subject } : {}),
      ...(check.agent.tier !== undefined ? { tier: check.agent.tier } : {}),
    };
  }
  // The schema requires exactly one kind; reaching this is a programming error.
  throw new Error("unvalidated check");
}

function githubSpec(check: GithubCheckConfig): CheckSpec {
  const kind = check.issue ? "issue" : check.pr ? "pr" : check.discussion ? "discussion" : "ref";
  const text = check.issue ?? check.pr ?? check.discussion ?? check.ref ?? "";
  const target = parseGithubTarget(text, kind);
  if (!target) throw new Error(`unvalidated GitHub subject: ${text}`);
  const want: GithubWant =
    check.checks !== undefined || target.kind === "ref"
      ? { checks: "green" }
      : {
          state: check.state ?? DEFAULT_GITHUB_STATE[target.kind],
          ...(check.since !== undefined ? { since: check.since } : {}),
          ...(check.base !== undefined ? { base: check.base } : {}),
        };
  return { kind: "github", target, url: text, want };
}

/** The check in words, for tables and notifications. */
export function describeCheck(check: CheckSpec): string {
  switch (check.kind) {
    case "command":
      return `\`${check.command}\` exits 0`;
    case "test-retry":
      return `\`${check.command}\` passes within ${check.retries + 1} tries`;
    case "github": {
      const subject = describeGithubTarget(check.target);
      if ("checks" in check.want) return `checks on ${subject} are green`;
      const noun = { issue: "issue", pr: "PR", discussion: "discussion", ref: "ref" }[check.target.kind];
      return `${noun} ${subject} ${stateWords(check.want)}`;
    }
    case "http":
      return `${check.method} ${check.url} answers ${check.status}${check.contains ? ` with "${check.contains}"` : ""}`;
    case "agent":
      return `a model says yes to "${check.question}"`;
  }
}

/** "is merged", "has merge conflicts", "is behind main", "has new comments since …". */
function stateWords(want: { state: string; since?: string; base?: string }): string {
  switch (want.state) {
    case "changes-requested":
      return "has changes requested";
    case "mergeable":
      return "can be merged (no conflicts)";
    case "conflicting":
      return "has merge conflicts";
    case "behind":
      return `is behind ${want.base ?? "its base branch"}`;
    case "up-to-date":
      return `is up to date with ${want.base ?? "its base branch"}`;
    case "new-comments":
      return `has new comments since ${want.since}`;
    default:
      return `is ${want.state}`;
  }
}
