/**
 * What each kind of GitHub subject means for a `github` check: reads the issue, pull request,
 * check runs and commit statuses, or discussion, and turns the fields read into a verdict, a
 * one-line summary and evidence. Reviews, mergeability, behind-ness and new comments live in
 * github-pull-states.ts; transport and failures in github.ts.
 */
import type { Octokit } from "@octokit/rest";
import type { CheckResult, CheckSpec } from "../domain/check.js";
import { formatDuration } from "../domain/duration.js";
import {
  evaluateBehind,
  evaluateMergeable,
  evaluateNewComments,
  evaluateReviews,
} from "./github-pull-states.js";

/** What every reader needs: a client for the right GitHub, the repository, and shared evidence. */
export interface GithubReadContext {
  octokit: Octokit;
  owner: string;
  repo: string;
  /** acme/web#12 or acme/web@main */
  subject: string;
  /** url, apiUrl, want: part of every result's evidence. */
  base: Record<string, unknown>;
  /** Waits before re-reading a PR whose `mergeable` GitHub is still computing (default MERGEABLE_RECHECK_MS). */
  mergeableRecheckMs?: readonly number[];
}

export async function evaluateIssue(
  ctx: GithubReadContext,
  number: number,
  state: string,
  since?: string,
): Promise<CheckResult> {
  const { data } = await ctx.octokit.rest.issues.get({
    owner: ctx.owner,
    repo: ctx.repo,
    issue_number: number,
  });
  const evidence = {
    ...ctx.base,
    url: data.html_url,
    title: data.title,
    state: data.state,
    stateReason: data.state_reason ?? null,
    comments: data.comments,
    updatedAt: data.updated_at,
    closedAt: data.closed_at,
  };
  const name = `${ctx.subject} "${data.title}"`;
  const open = data.state === "open";
  // Issues closed before GitHub recorded reasons have none; GitHub shows them as completed.
  const reason = data.state_reason ?? "completed";
  const activity = `${plural(data.comments, "comment")}, updated ${ago(data.updated_at)}`;
  const closedAs = `${name} was closed as ${reason.replace("_", " ")} ${ago(data.closed_at)}`;
  switch (state) {
    case "open":
      return verdict(open, open ? `${name} is open (${activity})` : closedAs, evidence);
    case "closed":
      return verdict(!open, open ? `${name} is still open (${activity})` : closedAs, evidence);
    case "fixed": {
      const fixed = !open && reason === "completed";
      const summary = open
        ? `${name} is still open (${activity})`
        : fixed
          ? closedAs
          : `${closedAs}, not fixed`;
      return verdict(fixed, summary, evidence);
    }
    case "new-comments":
      return evaluateNewComments(ctx, number, since, false, name, evidence);
  }
  throw new Error(`unknown issue state: ${state}`);
}

export async function evaluatePull(
  ctx: GithubReadContext,
  number: number,
  want: Extract<CheckSpec, { kind: "github" }>["want"],
): Promise<CheckResult> {
  const { octokit, owner, repo } = ctx;
  const { data: pr } = await octokit.rest.pulls.get({ owner, repo, pull_number: number });
  const evidence = {
    ...ctx.base,
    url: pr.html_url,
    title: pr.title,
    state: pr.state,
    merged: pr.merged,
    mergedAt: pr.merged_at,
    draft: pr.draft ?? false,
    headRef: pr.head.ref,
    headSha: pr.head.sha,
    comments: pr.comments,
    reviewComments: pr.review_comments,
    updatedAt: pr.updated_at,
  };
  if ("checks" in want)
    return evaluateChecks(ctx, pr.head.sha, `${ctx.subject} (head ${pr.head.sha.slice(0, 7)})`, evidence);
  const name = `${ctx.subject} "${pr.title}"`;
  const activity = `${plural(pr.comments + pr.review_comments, "comment")}, updated ${ago(pr.updated_at)}`;
  const openAs = pr.draft ? "a draft" : "open";
  const ended = pr.merged
    ? `${name} was merged ${ago(pr.merged_at)}`
    : pr.state === "closed"
      ? `${name} was closed without merging ${ago(pr.closed_at)}`
      : null;
  const stillOpen = `${name} is still ${openAs} (${activity})`;
  switch (want.state) {
    case "open":
      return verdict(ended === null, ended ?? `${name} is ${openAs} (${activity})`, evidence);
    // `closed` means off the table, merged or not; `merged` is the stricter wait.
    case "closed":
      return verdict(pr.state === "closed", ended ?? stillOpen, evidence);
    case "merged":
      return verdict(pr.merged, ended ?? stillOpen, evidence);
    case "approved":
    case "changes-requested":
      return evaluateReviews(ctx, number, want.state, name, evidence);
    case "mergeable":
    case "conflicting":
      return evaluateMergeable(ctx, number, pr, want.state, name, evidence, ended, ctx.mergeableRecheckMs);
    case "behind":
    case "up-to-date":
      return evaluateBehind(ctx, pr, want.state, want.base, name, evidence, ended);
    case "new-comments":
      return evaluateNewComments(ctx, number, want.since, true, name, evidence);
  }
  throw new Error(`unknown pull request state: ${want.state}`);
}

const PASSING = new Set(["success", "neutral", "skipped"]);

/** Green = at least one check run or commit status, and every one of them passed. */
export async function evaluateChecks(
  ctx: GithubReadContext,
  ref: string,
  label: string,
  evidence: Record<string, unknown>,
): Promise<CheckResult> {
  const { octokit, owner, repo } = ctx;
  const [runs, combined] = await Promise.all([
    octokit.paginate(octokit.rest.checks.listForRef, { owner, repo, ref, per_page: 100 }),
    octokit.rest.repos.getCombinedStatusForRef({ owner, repo, ref, per_page: 100 }),
  ]);
  const checks = [
    ...runs.map((run) => ({
      name: run.name,
      result: run.status === "completed" ? (run.conclusion ?? "completed") : run.status,
      outcome:
        run.status !== "completed" ? "pending" : PASSING.has(run.conclusion ?? "") ? "passed" : "failed",
    })),
    ...combined.data.statuses.map((status) => ({
      name: status.context,
      result: status.state,
      outcome: status.state === "success" ? "passed" : status.state === "pending" ? "pending" : "failed",
    })),
  ];
  const failed = checks.filter((check) => check.outcome === "failed");
  const pending = checks.filter((check) => check.outcome === "pending");
  const facts = {
    ...evidence,
    sha: combined.data.sha,
    checks: { total: checks.length, passed: checks.length - failed.length - pending.length },
    failed: failed.slice(0, 20).map(({ name, result }) => ({ name, result })),
    pending: pending.slice(0, 20).map(({ name, result }) => ({ name, result })),
  };
  const total = checks.length;
  if (total === 0) return verdict(false, `no checks reported yet on ${label}`, facts);
  if (failed.length > 0) {
    const running = pending.length > 0 ? `; ${pending.length} still running` : "";
    return verdict(
      false,
      `${failed.length} of ${total} checks failed on ${label}: ${names(failed)}${running}`,
      facts,
    );
  }
  if (pending.length > 0) {
    return verdict(
      false,
      `${pending.length} of ${total} checks still running on ${label}: ${names(pending)}`,
      facts,
    );
  }
  return verdict(true, `${total === 1 ? "the only check" : `all ${total} checks`} passed on ${label}`, facts);
}

const DISCUSSION_QUERY = `query ($owner: String!, $repo: String!, $number: Int!) {
  repository(owner: $owner, name: $repo) {
    discussion(number: $number) {
      title url closed stateReason isAnswered answerChosenAt
      answer { url author { login } }
      comments { totalCount }
      updatedAt
    }
  }
}`;

interface DiscussionAnswer {
  repository: {
    discussion: {
      title: string;
      url: string;
      closed: boolean;
      stateReason: string | null;
      isAnswered: boolean | null;
      answerChosenAt: string | null;
      answer: { url: string; author: { login: string } | null } | null;
      comments: { totalCount: number };
      updatedAt: string;
    } | null;
  } | null;
}

export async function evaluateDiscussion(
  ctx: GithubReadContext,
  number: number,
  state: string,
): Promise<CheckResult> {
  const data = await ctx.octokit.graphql<DiscussionAnswer>(DISCUSSION_QUERY, {
    owner: ctx.owner,
    repo: ctx.repo,
    number,
  });
  const discussion = data.repository?.discussion;
  if (!discussion)
    return githubError(ctx, "LOOPD_CHECK_ERROR", `${ctx.subject} not found (or the token cannot see it)`, {});
  const answered = discussion.isAnswered === true;
  const evidence = {
    ...ctx.base,
    url: discussion.url,
    title: discussion.title,
    closed: discussion.closed,
    stateReason: discussion.stateReason,
    isAnswered: discussion.isAnswered,
    answerChosenAt: discussion.answerChosenAt,
    answerUrl: discussion.answer?.url ?? null,
    answerAuthor: discussion.answer?.author?.login ?? null,
    comments: discussion.comments.totalCount,
    updatedAt: discussion.updatedAt,
  };
  const name = `${ctx.subject} "${discussion.title}"`;
  const activity = `${plural(discussion.comments.totalCount, "comment")}, updated ${ago(discussion.updatedAt)}`;
  const closedAs = `${name} was closed as ${(discussion.stateReason ?? "closed").toLowerCase()}`;
  const answer = `${name} was answered by ${evidence.answerAuthor ?? "someone"} ${ago(discussion.answerChosenAt)}`;
  const unanswered = discussion.closed
    ? `${closedAs}, with no chosen answer`
    : `${name} has no chosen answer yet (${activity})`;
  switch (state) {
    case "open":
      return verdict(
        !discussion.closed,
        discussion.closed ? closedAs : `${name} is open (${activity})`,
        evidence,
      );
    case "closed":
      return verdict(
        discussion.closed,
        discussion.closed ? closedAs : `${name} is still open (${activity})`,
        evidence,
      );
    case "answered":
      return verdict(answered, answered ? answer : unanswered, evidence);
    case "resolved": {
      const resolved = discussion.closed && discussion.stateReason === "RESOLVED";
      return verdict(answered || resolved, answered ? answer : resolved ? closedAs : unanswered, evidence);
    }
  }
  throw new Error(`unknown discussion state: ${state}`);
}

/** An `error` result: LOOPD_GITHUB_AUTH for access the user must fix, LOOPD_CHECK_ERROR otherwise. */
export function githubError(
  ctx: GithubReadContext,
  code: "LOOPD_CHECK_ERROR" | "LOOPD_GITHUB_AUTH",
  message: string,
  facts: Record<string, unknown>,
): CheckResult {
  return { status: "error", summary: message, evidence: { ...ctx.base, ...facts }, error: { code, message } };
}

export function verdict(satisfied: boolean, summary: string, evidence: Record<string, unknown>): CheckResult {
  return { status: satisfied ? "satisfied" : "unsatisfied", summary, evidence };
}

function names(checks: Array<{ name: string; result: string }>): string {
  const shown = checks.slice(0, 3).map((check) => `${check.name} (${check.result})`);
  return checks.length > 3 ? `${shown.join(", ")} and ${checks.length - 3} more` : shown.join(", ");
}

export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** "2h ago", "3d ago"; one unit is enough for a summary line. */
export function ago(iso: string | null | undefined): string {
  if (!iso) return "at an unknown time";
  const elapsed = Date.now() - Date.parse(iso);
  return elapsed < 60_000 ? "just now" : `${roughly(elapsed)} ago`;
}

export function roughly(ms: number): string {
  return formatDuration(Math.max(ms, 1000)).replace(/^(\d+[a-z]+).*$/, "$1");
}
