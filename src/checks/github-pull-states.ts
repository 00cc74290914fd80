/**
 * The pull request states people ask about besides open/merged: reviews (approved, changes
 * requested), mergeability (GitHub's `mergeable`: conflicts or not), how far the head is
 * behind its base (the compare API), and comments made since a watch began (issue and review
 * comments; issues have the first kind only).
 *
 * GitHub computes `mergeable` lazily: the first read after a push starts the computation and
 * answers `null`. A null is looked at again after a short wait; still null, it is an `error`
 * ("GitHub is still computing") so the watch looks again later — never a verdict either way.
 */
import type { CheckResult } from "../domain/check.js";
import { ago, type GithubReadContext, githubError, plural, verdict } from "./github-verdicts.js";

/** Waits before re-reading a pull request whose `mergeable` GitHub has not computed yet. */
export const MERGEABLE_RECHECK_MS: readonly number[] = [1_000, 3_000];

/** The fields of `GET /repos/{o}/{r}/pulls/{n}` these states read. */
export interface PullFacts {
  state: string;
  merged: boolean;
  mergeable: boolean | null;
  mergeable_state: string;
  head: { sha: string; ref: string };
  base: { ref: string };
}

/** GitHub's rule: each reviewer's latest approving, blocking or dismissed review counts; comments do not. */
export async function evaluateReviews(
  ctx: GithubReadContext,
  number: number,
  wanted: "approved" | "changes-requested",
  name: string,
  evidence: Record<string, unknown>,
): Promise<CheckResult> {
  const reviews = await ctx.octokit.paginate(ctx.octokit.rest.pulls.listReviews, {
    owner: ctx.owner,
    repo: ctx.repo,
    pull_number: number,
    per_page: 100,
  });
  const latest = new Map<string, string>();
  for (const review of reviews) {
    const login = review.user?.login;
    if (login && ["APPROVED", "CHANGES_REQUESTED", "DISMISSED"].includes(review.state))
      latest.set(login, review.state);
  }
  const by = (state: string) =>
    [...latest].filter(([, latestState]) => latestState === state).map(([login]) => login);
  const approvedBy = by("APPROVED");
  const changesRequestedBy = by("CHANGES_REQUESTED");
  const facts = { ...evidence, reviews: reviews.length, approvedBy, changesRequestedBy };
  const approvals = approvedBy.length > 0 ? `; approved by ${approvedBy.join(", ")}` : "";
  const blocked = `${name} has changes requested by ${changesRequestedBy.join(", ")}${approvals}`;
  if (wanted === "changes-requested") {
    if (changesRequestedBy.length > 0) return verdict(true, blocked, facts);
    const state =
      approvedBy.length > 0
        ? `is approved by ${approvedBy.join(", ")}`
        : `has no review requesting changes (${plural(reviews.length, "review")})`;
    return verdict(false, `${name} ${state}`, facts);
  }
  if (changesRequestedBy.length > 0) return verdict(false, blocked, facts);
  if (approvedBy.length > 0) return verdict(true, `${name} is approved by ${approvedBy.join(", ")}`, facts);
  return verdict(false, `${name} has no approving review yet (${plural(reviews.length, "review")})`, facts);
}

/** `mergeable` / `conflicting`: GitHub's own answer, re-read while it is still computing. */
export async function evaluateMergeable(
  ctx: GithubReadContext,
  number: number,
  first: PullFacts,
  wanted: "mergeable" | "conflicting",
  name: string,
  evidence: Record<string, unknown>,
  ended: string | null,
  recheckMs: readonly number[] = MERGEABLE_RECHECK_MS,
): Promise<CheckResult> {
  if (ended !== null) return verdict(false, ended, { ...evidence, mergeable: first.mergeable });
  let pr = first;
  let looks = 1;
  for (const wait of recheckMs) {
    if (pr.mergeable !== null) break;
    await new Promise((resolve) => setTimeout(resolve, wait));
    pr = (await ctx.octokit.rest.pulls.get({ owner: ctx.owner, repo: ctx.repo, pull_number: number })).data;
    looks++;
  }
  const facts = { ...evidence, mergeable: pr.mergeable, mergeableState: pr.mergeable_state, looks };
  if (pr.mergeable === null) {
    return githubError(
      ctx,
      "LOOPD_CHECK_ERROR",
      `GitHub is still computing whether ${ctx.subject} can be merged (mergeable unknown after ${plural(looks, "look")}); the next look will know`,
      facts,
    );
  }
  const conflicting = pr.mergeable === false || pr.mergeable_state === "dirty";
  const note = MERGEABLE_STATE_NOTES[pr.mergeable_state];
  const summary = conflicting
    ? `${name} has merge conflicts with ${pr.base.ref}`
    : `${name} has no merge conflicts with ${pr.base.ref}${note ? ` (${note})` : ""}`;
  return verdict(wanted === "conflicting" ? conflicting : !conflicting, summary, facts);
}

/** What mergeable_state adds when there are no conflicts: the merge button may still be grey. */
const MERGEABLE_STATE_NOTES: Record<string, string> = {
  blocked: "merging is blocked by branch protection: required reviews or checks",
  behind: "the branch must be brought up to date first",
  unstable: "some checks are failing",
  draft: "it is a draft",
};

/** `behind` / `up-to-date`: commits on the base (or the named branch) the head does not have. */
export async function evaluateBehind(
  ctx: GithubReadContext,
  pr: PullFacts,
  wanted: "behind" | "up-to-date",
  base: string | undefined,
  name: string,
  evidence: Record<string, unknown>,
  ended: string | null,
): Promise<CheckResult> {
  if (ended !== null) return verdict(false, ended, evidence);
  const against = base ?? pr.base.ref;
  const { data } = await ctx.octokit.rest.repos.compareCommitsWithBasehead({
    owner: ctx.owner,
    repo: ctx.repo,
    basehead: `${against}...${pr.head.sha}`,
    per_page: 1,
  });
  const facts = {
    ...evidence,
    base: against,
    behindBy: data.behind_by,
    aheadBy: data.ahead_by,
    mergeableState: pr.mergeable_state,
  };
  const behind = data.behind_by > 0;
  const summary = behind
    ? `${name} is ${plural(data.behind_by, "commit")} behind ${against}`
    : `${name} is up to date with ${against}`;
  return verdict(wanted === "behind" ? behind : !behind, summary, facts);
}

/** `new-comments`: conversation comments (and review comments on a PR) created after `since`. */
export async function evaluateNewComments(
  ctx: GithubReadContext,
  number: number,
  since: string | undefined,
  withReviewComments: boolean,
  name: string,
  evidence: Record<string, unknown>,
): Promise<CheckResult> {
  if (since === undefined) throw new Error("new-comments needs `since`");
  const { octokit, owner, repo } = ctx;
  const [conversation, review] = await Promise.all([
    octokit.paginate(octokit.rest.issues.listComments, {
      owner,
      repo,
      issue_number: number,
      since,
      per_page: 100,
    }),
    withReviewComments
      ? octokit.paginate(octokit.rest.pulls.listReviewComments, {
          owner,
          repo,
          pull_number: number,
          since,
          per_page: 100,
        })
      : Promise.resolve([]),
  ]);
  // GitHub's `since` is about updates: an old comment edited today is not a new one.
  const after = Date.parse(since);
  const fresh = [...conversation, ...review]
    .filter((comment) => Date.parse(comment.created_at) > after)
    .sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at))
    .map((comment) => ({
      author: comment.user?.login ?? "ghost",
      createdAt: comment.created_at,
      url: comment.html_url,
      excerpt: (comment.body ?? "").replace(/\s+/g, " ").slice(0, 80),
    }));
  const facts = { ...evidence, since, newComments: fresh.length, comments: fresh.slice(-20) };
  if (fresh.length === 0) return verdict(false, `${name} has no new comments since ${since}`, facts);
  const authors = [...new Set(fresh.map((comment) => comment.author))];
  const latest = fresh.at(-1)!;
  return verdict(
    true,
    `${name} has ${plural(fresh.length, "new comment")} since ${since} by ${authors.join(", ")} (latest ${ago(latest.createdAt)}: "${latest.excerpt}")`,
    facts,
  );
}
