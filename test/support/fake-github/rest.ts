/**
 * The REST half of the fake GitHub: the five read endpoints a github check calls, answering
 * in the shapes of GitHub's OpenAPI description (`issue`, `pull-request`,
 * `pull-request-review`, `check-run`, `combined-commit-status` in @octokit/openapi-types).
 * Objects carry the fields loopd reads plus enough of the rest (ids, URLs, users) that a
 * client written against the real API finds what it expects.
 */
import { createHash } from "node:crypto";
import type { FakeGithubState } from "./state.js";

export interface RestContext {
  state: FakeGithubState;
  /** Where API URLs point: http://127.0.0.1:PORT, plus /api/v3 in Enterprise mode. */
  apiOrigin: string;
  /** Where web URLs (html_url) point: https://github.com or the Enterprise host. */
  webOrigin: string;
}

/** A JSON answer; `page` marks a list the server slices and links (`per_page`, `page`, `Link`). */
export type RestAnswer =
  | { status: number; body: unknown }
  | { status: 200; page: unknown[]; wrap?: (items: unknown[], total: number) => unknown };

type Route = {
  method: "GET";
  path: RegExp;
  answer: (ctx: RestContext, match: string[]) => RestAnswer | null;
};

const EPOCH = "2026-01-05T09:00:00Z";

/** Routes; `null` from an answer means "no such thing here" and becomes GitHub's 404. */
export const REST_ROUTES: Route[] = [
  {
    method: "GET",
    path: /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)$/,
    answer: (ctx, [, owner, repo, number]) => {
      const fixture = ctx.state.issues[`${owner}/${repo}#${number}`];
      return fixture ? { status: 200, body: issueBody(ctx, owner!, repo!, Number(number), fixture) } : null;
    },
  },
  {
    method: "GET",
    path: /^\/repos\/([^/]+)\/([^/]+)\/pulls\/(\d+)$/,
    answer: (ctx, [, owner, repo, number]) => {
      const fixture = ctx.state.pulls[`${owner}/${repo}#${number}`];
      return fixture ? { status: 200, body: pullBody(ctx, owner!, repo!, Number(number), fixture) } : null;
    },
  },
  {
    method: "GET",
    path: /^\/repos\/([^/]+)\/([^/]+)\/pulls\/(\d+)\/reviews$/,
    answer: (ctx, [, owner, repo, number]) => {
      const key = `${owner}/${repo}#${number}`;
      if (!ctx.state.pulls[key]) return null;
      const pullUrl = `${ctx.apiOrigin}/repos/${owner}/${repo}/pulls/${number}`;
      const page = (ctx.state.reviews[key] ?? []).map((review, index) => ({
        id: 80 + index,
        node_id: `PRR_${index}`,
        user: user(review.user),
        body: "",
        state: review.state,
        html_url: `${ctx.webOrigin}/${owner}/${repo}/pull/${number}#pullrequestreview-${80 + index}`,
        pull_request_url: pullUrl,
        _links: {
          html: { href: `${ctx.webOrigin}/${owner}/${repo}/pull/${number}#pullrequestreview-${80 + index}` },
          pull_request: { href: pullUrl },
        },
        ...(review.state === "PENDING" ? {} : { submitted_at: review.submitted_at ?? EPOCH }),
        commit_id: sha(`${key}:head`),
        author_association: "MEMBER",
      }));
      return { status: 200, page };
    },
  },
  {
    method: "GET",
    path: /^\/repos\/([^/]+)\/([^/]+)\/commits\/(.+)\/check-runs$/,
    answer: (ctx, [, owner, repo, rawRef]) => {
      const ref = decodeURIComponent(rawRef!);
      const headSha = /^[0-9a-f]{40}$/.test(ref) ? ref : sha(`${owner}/${repo}@${ref}`);
      const page = (ctx.state.checkRuns[`${owner}/${repo}@${ref}`] ?? []).map((run, index) => {
        const completed = run.status === "completed";
        return {
          id: 4000 + index,
          head_sha: headSha,
          node_id: `CR_${index}`,
          external_id: "",
          url: `${ctx.apiOrigin}/repos/${owner}/${repo}/check-runs/${4000 + index}`,
          html_url: `${ctx.webOrigin}/${owner}/${repo}/runs/${4000 + index}`,
          details_url: `${ctx.webOrigin}/${owner}/${repo}/runs/${4000 + index}`,
          status: run.status,
          conclusion: completed ? (run.conclusion ?? "success") : null,
          started_at: EPOCH,
          completed_at: completed ? EPOCH : null,
          output: {
            title: null,
            summary: null,
            text: null,
            annotations_count: 0,
            annotations_url: `${ctx.apiOrigin}/repos/${owner}/${repo}/check-runs/${4000 + index}/annotations`,
          },
          name: run.name,
          check_suite: { id: 300 },
          app: null,
          pull_requests: [],
        };
      });
      return { status: 200, page, wrap: (items, total) => ({ total_count: total, check_runs: items }) };
    },
  },
  {
    method: "GET",
    path: /^\/repos\/([^/]+)\/([^/]+)\/commits\/(.+)\/status$/,
    answer: (ctx, [, owner, repo, rawRef]) => {
      const ref = decodeURIComponent(rawRef!);
      const commitSha = /^[0-9a-f]{40}$/.test(ref) ? ref : sha(`${owner}/${repo}@${ref}`);
      const statuses = (ctx.state.statuses[`${owner}/${repo}@${ref}`] ?? []).map((status, index) => ({
        url: `${ctx.apiOrigin}/repos/${owner}/${repo}/statuses/${commitSha}`,
        avatar_url: null,
        id: 7000 + index,
        node_id: `SC_${index}`,
        state: status.state,
        description: status.description ?? null,
        target_url: null,
        context: status.context,
        created_at: EPOCH,
        updated_at: EPOCH,
      }));
      // GitHub's combined state: failure if any failed or errored, pending if any pending or none at all.
      const states = statuses.map((status) => status.state);
      const combined = states.some((state) => state === "failure" || state === "error")
        ? "failure"
        : states.length === 0 || states.includes("pending")
          ? "pending"
          : "success";
      const body = {
        state: combined,
        statuses,
        sha: commitSha,
        total_count: statuses.length,
        repository: repository(ctx, owner!, repo!),
        commit_url: `${ctx.apiOrigin}/repos/${owner}/${repo}/commits/${commitSha}`,
        url: `${ctx.apiOrigin}/repos/${owner}/${repo}/commits/${commitSha}/status`,
      };
      return { status: 200, body };
    },
  },
];

function issueBody(
  ctx: RestContext,
  owner: string,
  repo: string,
  number: number,
  fixture: FakeGithubState["issues"][string],
) {
  const api = `${ctx.apiOrigin}/repos/${owner}/${repo}`;
  const closed = fixture.state === "closed";
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
    body: null,
    user: user("octocat"),
    labels: [],
    assignee: null,
    assignees: [],
    milestone: null,
    locked: false,
    active_lock_reason: null,
    comments: fixture.comments ?? 0,
    closed_at: fixture.closed_at ?? (closed ? (fixture.updated_at ?? EPOCH) : null),
    created_at: EPOCH,
    updated_at: fixture.updated_at ?? EPOCH,
    closed_by: closed ? user("octocat") : null,
    author_association: "MEMBER",
  };
}

function pullBody(
  ctx: RestContext,
  owner: string,
  repo: string,
  number: number,
  fixture: FakeGithubState["pulls"][string],
) {
  const api = `${ctx.apiOrigin}/repos/${owner}/${repo}`;
  const html = `${ctx.webOrigin}/${owner}/${repo}/pull/${number}`;
  const merged = fixture.merged ?? false;
  const closedAt = fixture.closed_at ?? (fixture.state === "closed" ? (fixture.updated_at ?? EPOCH) : null);
  const branch = (ref: string, branchSha: string) => ({
    label: `${owner}:${ref}`,
    ref,
    sha: branchSha,
    user: user(owner),
    repo: repository(ctx, owner, repo),
  });
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
    statuses_url: `${api}/statuses/${fixture.head.sha}`,
    number,
    state: fixture.state,
    locked: false,
    title: fixture.title,
    user: user("octocat"),
    body: null,
    labels: [],
    milestone: null,
    active_lock_reason: null,
    created_at: EPOCH,
    updated_at: fixture.updated_at ?? EPOCH,
    closed_at: closedAt,
    merged_at: fixture.merged_at ?? (merged ? closedAt : null),
    merge_commit_sha: merged ? sha(`${owner}/${repo}#${number}:merge`) : null,
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    requested_teams: [],
    head: branch(fixture.head.ref, fixture.head.sha),
    base: branch("main", sha(`${owner}/${repo}@main`)),
    _links: {
      self: { href: `${api}/pulls/${number}` },
      html: { href: html },
      issue: { href: `${api}/issues/${number}` },
      comments: { href: `${api}/issues/${number}/comments` },
      review_comments: { href: `${api}/pulls/${number}/comments` },
      review_comment: { href: `${api}/pulls/comments{/number}` },
      commits: { href: `${api}/pulls/${number}/commits` },
      statuses: { href: `${api}/statuses/${fixture.head.sha}` },
    },
    author_association: "MEMBER",
    auto_merge: null,
    draft: fixture.draft ?? false,
    merged,
    mergeable: fixture.state === "open" ? true : null,
    rebaseable: fixture.state === "open" ? true : null,
    mergeable_state: fixture.state === "open" ? "clean" : "unknown",
    merged_by: merged ? user("octocat") : null,
    comments: fixture.comments ?? 0,
    review_comments: fixture.review_comments ?? 0,
    maintainer_can_modify: false,
    commits: 1,
    additions: 10,
    deletions: 2,
    changed_files: 1,
  };
}

/** A `simple-user`. */
function user(login: string) {
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

/** The leading fields of a `minimal-repository`. */
function repository(ctx: RestContext, owner: string, repo: string) {
  return {
    id: 500,
    node_id: `R_${owner}_${repo}`,
    name: repo,
    full_name: `${owner}/${repo}`,
    owner: user(owner),
    private: false,
    html_url: `${ctx.webOrigin}/${owner}/${repo}`,
    description: null,
    fork: false,
    url: `${ctx.apiOrigin}/repos/${owner}/${repo}`,
  };
}

/** A stable fake commit sha for a name. */
export function sha(name: string): string {
  return createHash("sha1").update(name).digest("hex");
}
