/**
 * The fake GitHub's objects in the shapes of GitHub's OpenAPI description (`simple-user`,
 * `repository`, `issue`, `pull-request`, `issue-comment`, `label` in @octokit/openapi-types):
 * the fields loopd reads plus enough of the rest (ids, URLs) that a client written against
 * the real API finds what it expects. Shas come from the fixture, else from the repository's
 * bare repo, else a stable made-up one.
 */
import { createHash } from "node:crypto";
import { revParse } from "./bare-repo.js";
import type { CommentFixture, FakeGithubState, IssueFixture, PullFixture } from "./state.js";

export interface RestContext {
  state: FakeGithubState;
  /** Where API URLs point: http://127.0.0.1:PORT, plus /api/v3 in Enterprise mode. */
  apiOrigin: string;
  /** http://127.0.0.1:PORT: where the fake serves git (/<owner>/<repo>.git, as GitHub does) and job logs (/_logs/…). */
  serverOrigin: string;
  /** Where web URLs (html_url) point: https://github.com or the Enterprise host. */
  webOrigin: string;
}

export const EPOCH = "2026-01-05T09:00:00Z";

/** A stable fake commit sha for a name. */
export function sha(name: string): string {
  return createHash("sha1").update(name).digest("hex");
}

export function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}

/** A `simple-user`. */
export function user(login: string) {
  return {
    login,
    id: login.length * 1000 + login.charCodeAt(0),
    node_id: `U_${login}`,
    avatar_url: `https://avatars.githubusercontent.com/${login}`,
    gravatar_id: "",
    url: `https://api.github.com/users/${login}`,
    html_url: `https://github.com/${login}`,
    type: "User",
    site_admin: false,
  };
}

export function defaultBranch(ctx: RestContext, fullName: string): string {
  return ctx.state.repos[fullName]?.default_branch ?? "main";
}

/** The head of `ref` in the repository's bare repo, else a made-up sha. */
export function branchSha(ctx: RestContext, fullName: string, ref: string): string {
  const bare = ctx.state.repos[fullName]?.bare;
  return (bare ? revParse(bare, ref) : null) ?? sha(`${fullName}@${ref}`);
}

/** A `repository` (the full object repos.get answers; a `minimal-repository` is its prefix). */
export function repository(ctx: RestContext, owner: string, repo: string) {
  const fullName = `${owner}/${repo}`;
  const fixture = ctx.state.repos[fullName];
  return {
    id: 500,
    node_id: `R_${owner}_${repo}`,
    name: repo,
    full_name: fullName,
    owner: user(owner),
    private: fixture?.private ?? false,
    html_url: `${ctx.webOrigin}/${fullName}`,
    description: null,
    fork: false,
    url: `${ctx.apiOrigin}/repos/${fullName}`,
    clone_url: fixture?.bare ? `${ctx.serverOrigin}/${fullName}.git` : `${ctx.webOrigin}/${fullName}.git`,
    git_url: `git://github.com/${fullName}.git`,
    ssh_url: `git@github.com:${fullName}.git`,
    default_branch: defaultBranch(ctx, fullName),
    visibility: fixture?.private ? "private" : "public",
    archived: false,
    disabled: false,
    created_at: EPOCH,
    updated_at: EPOCH,
    pushed_at: EPOCH,
  };
}

/** `label` objects for names. */
export function labels(names: string[] | undefined) {
  return (names ?? []).map((name, index) => ({
    id: 9000 + index,
    node_id: `LA_${name}`,
    url: `https://api.github.com/labels/${encodeURIComponent(name)}`,
    name,
    description: null,
    color: "ededed",
    default: false,
  }));
}

export function issueBody(
  ctx: RestContext,
  owner: string,
  repo: string,
  number: number,
  fixture: IssueFixture,
) {
  const api = `${ctx.apiOrigin}/repos/${owner}/${repo}`;
  const closed = fixture.state === "closed";
  const comments = ctx.state.comments[`${owner}/${repo}#${number}`]?.length;
  return {
    id: 1000 + number,
    node_id: `I_${number}`,
    url: `${api}/issues/${number}`,
    repository_url: api,
    labels_url: `${api}/issues/${number}/labels{/name}`,
    comments_url: `${api}/issues/${number}/comments`,
    events_url: `${api}/issues/${number}/events`,
    html_url: `${ctx.webOrigin}/${owner}/${repo}/issues/${number}`,
    number,
    state: fixture.state,
    state_reason: fixture.state_reason ?? (closed ? "completed" : null),
    title: fixture.title,
    body: fixture.body ?? null,
    user: user(fixture.user ?? "octocat"),
    labels: labels(fixture.labels),
    assignee: null,
    assignees: [],
    milestone: null,
    locked: false,
    active_lock_reason: null,
    comments: fixture.comments ?? comments ?? 0,
    closed_at: fixture.closed_at ?? (closed ? (fixture.updated_at ?? EPOCH) : null),
    created_at: EPOCH,
    updated_at: fixture.updated_at ?? EPOCH,
    closed_by: closed ? user("octocat") : null,
    author_association: "MEMBER",
  };
}

/** A pull request as the issues API shows it (an issue with a `pull_request` link). */
export function pullAsIssue(
  ctx: RestContext,
  owner: string,
  repo: string,
  number: number,
  fixture: PullFixture,
) {
  const api = `${ctx.apiOrigin}/repos/${owner}/${repo}`;
  return {
    ...issueBody(ctx, owner, repo, number, {
      title: fixture.title,
      state: fixture.state,
      body: fixture.body ?? null,
      labels: fixture.labels ?? [],
      user: fixture.user ?? "octocat",
    }),
    html_url: `${ctx.webOrigin}/${owner}/${repo}/pull/${number}`,
    pull_request: {
      url: `${api}/pulls/${number}`,
      html_url: `${ctx.webOrigin}/${owner}/${repo}/pull/${number}`,
      diff_url: `${ctx.webOrigin}/${owner}/${repo}/pull/${number}.diff`,
      patch_url: `${ctx.webOrigin}/${owner}/${repo}/pull/${number}.patch`,
      merged_at: fixture.merged_at ?? null,
    },
  };
}

/** A `pull-request` (the detail shape; lists answer the same object). */
export function pullBody(
  ctx: RestContext,
  owner: string,
  repo: string,
  number: number,
  fixture: PullFixture,
) {
  const fullName = `${owner}/${repo}`;
  const api = `${ctx.apiOrigin}/repos/${fullName}`;
  const html = `${ctx.webOrigin}/${fullName}/pull/${number}`;
  const merged = fixture.merged ?? false;
  const closedAt = fixture.closed_at ?? (fixture.state === "closed" ? (fixture.updated_at ?? EPOCH) : null);
  const headRepo = fixture.head.repo ?? fullName;
  const [headOwner, headName] = headRepo.split("/") as [string, string];
  const headSha = fixture.head.sha ?? branchSha(ctx, headRepo, `refs/heads/${fixture.head.ref}`);
  const baseRef = fixture.base?.ref ?? defaultBranch(ctx, fullName);
  const baseSha = fixture.base?.sha ?? branchSha(ctx, fullName, `refs/heads/${baseRef}`);
  const side = (ref: string, branchOwner: string, branchRepo: string, branchSha: string) => ({
    label: `${branchOwner}:${ref}`,
    ref,
    sha: branchSha,
    user: user(branchOwner),
    repo: { ...repository(ctx, branchOwner, branchRepo), fork: branchOwner !== owner },
  });
  const open = fixture.state === "open";
  return {
    url: `${api}/pulls/${number}`,
    id: 2000 + number,
    node_id: `PR_${number}`,
    html_url: html,
    diff_url: `${html}.diff`,
    patch_url: `${html}.patch`,
    issue_url: `${api}/issues/${number}`,
    commits_url: `${api}/pulls/${number}/commits`,
    review_comments_url: `${api}/pulls/${number}/comments`,
    review_comment_url: `${api}/pulls/comments{/number}`,
    comments_url: `${api}/issues/${number}/comments`,
    statuses_url: `${api}/statuses/${headSha}`,
    number,
    state: fixture.state,
    locked: false,
    title: fixture.title,
    user: user(fixture.user ?? "octocat"),
    body: fixture.body ?? null,
    labels: labels(fixture.labels),
    milestone: null,
    active_lock_reason: null,
    created_at: EPOCH,
    updated_at: fixture.updated_at ?? EPOCH,
    closed_at: closedAt,
    merged_at: fixture.merged_at ?? (merged ? closedAt : null),
    merge_commit_sha: merged ? sha(`${fullName}#${number}:merge`) : null,
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    requested_teams: [],
    head: side(fixture.head.ref, headOwner, headName, headSha),
    base: side(baseRef, owner, repo, baseSha),
    _links: {
      self: { href: `${api}/pulls/${number}` },
      html: { href: html },
      issue: { href: `${api}/issues/${number}` },
      comments: { href: `${api}/issues/${number}/comments` },
      review_comments: { href: `${api}/pulls/${number}/comments` },
      review_comment: { href: `${api}/pulls/comments{/number}` },
      commits: { href: `${api}/pulls/${number}/commits` },
      statuses: { href: `${api}/statuses/${headSha}` },
    },
    author_association: "MEMBER",
    auto_merge: null,
    draft: fixture.draft ?? false,
    merged,
    mergeable: fixture.mergeable !== undefined ? fixture.mergeable : open ? true : null,
    rebaseable: open ? true : null,
    mergeable_state:
      fixture.mergeable_state ?? (open ? (fixture.mergeable === false ? "dirty" : "clean") : "unknown"),
    merged_by: merged ? user("octocat") : null,
    comments: fixture.comments ?? ctx.state.comments[`${fullName}#${number}`]?.length ?? 0,
    review_comments: fixture.review_comments ?? 0,
    maintainer_can_modify: fixture.maintainer_can_modify ?? false,
    commits: 1,
    additions: 10,
    deletions: 2,
    changed_files: 1,
  };
}

/** An `issue-comment`. */
export function commentBody(
  ctx: RestContext,
  owner: string,
  repo: string,
  number: number,
  comment: CommentFixture,
) {
  const api = `${ctx.apiOrigin}/repos/${owner}/${repo}`;
  return {
    id: comment.id,
    node_id: `IC_${comment.id}`,
    url: `${api}/issues/comments/${comment.id}`,
    html_url: `${ctx.webOrigin}/${owner}/${repo}/issues/${number}#issuecomment-${comment.id}`,
    body: comment.body,
    user: user(comment.user),
    created_at: comment.created_at,
    updated_at: comment.updated_at,
    issue_url: `${api}/issues/${number}`,
    author_association: "MEMBER",
  };
}

/** GitHub's 422 "Validation Failed" body. */
export function validationFailed(resource: string, message: string) {
  return {
    status: 422,
    body: {
      message: "Validation Failed",
      errors: [{ resource, code: "custom", message }],
      documentation_url: "https://docs.github.com/rest",
      status: "422",
    },
  };
}
