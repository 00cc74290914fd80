/**
 * The REST half of the fake GitHub: the route table. Here the read endpoints a github check
 * calls (`issue`, `pull-request`, `pull-request-review`, `check-run`, commit statuses in the
 * shapes of @octokit/openapi-types); repos.ts, pulls.ts, issues.ts and actions.ts hold the
 * ones the GitHub loops use, writes included.
 */
import { actionsRoutes } from "./actions.js";
import { issueRoutes } from "./issues.js";
import { pullRoutes } from "./pulls.js";
import { repoRoutes } from "./repos.js";
import {
  EPOCH,
  issueBody,
  pullAsIssue,
  pullBody,
  type RestContext,
  repository,
  sha,
  user,
} from "./shapes.js";

export type { RestContext } from "./shapes.js";

/**
 * A JSON answer; `page` marks a list the server slices and links (`per_page`, `page`, `Link`);
 * `redirect` is a 302 to another URL (job logs).
 */
export type RestAnswer =
  | { status: number; body: unknown }
  | { status: 200; page: unknown[]; wrap?: (items: unknown[], total: number) => unknown }
  | { status: 302; redirect: string };

export interface RestRequest {
  query: URLSearchParams;
  /** The parsed JSON body of a write. */
  body: Record<string, unknown>;
}

export type Route = {
  method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
  path: RegExp;
  answer: (ctx: RestContext, match: string[], request: RestRequest) => RestAnswer | null;
};

/** Routes; `null` from an answer means "no such thing here" and becomes GitHub's 404. */
const READ_ROUTES: Route[] = [
  {
    method: "GET",
    path: /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)$/,
    answer: (ctx, [, owner, repo, number]) => {
      const fixture = ctx.state.issues[`${owner}/${repo}#${number}`];
      if (fixture) return { status: 200, body: issueBody(ctx, owner!, repo!, Number(number), fixture) };
      const pull = ctx.state.pulls[`${owner}/${repo}#${number}`];
      return pull ? { status: 200, body: pullAsIssue(ctx, owner!, repo!, Number(number), pull) } : null;
    },
  },
  {
    method: "GET",
    path: /^\/repos\/([^/]+)\/([^/]+)\/pulls\/(\d+)$/,
    answer: (ctx, [, owner, repo, number]) => {
      const fixture = ctx.state.pulls[`${owner}/${repo}#${number}`];
      if (!fixture) return null;
      const body = pullBody(ctx, owner!, repo!, Number(number), fixture);
      if ((fixture.mergeable_pending ?? 0) > 0) {
        fixture.mergeable_pending! -= 1;
        return {
          status: 200,
          body: { ...body, mergeable: null, rebaseable: null, mergeable_state: "unknown" },
        };
      }
      return { status: 200, body };
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
    path: /^\/repos\/([^/]+)\/([^/]+)\/commits\/(.+)\/statuses$/,
    answer: (ctx, [, owner, repo, rawRef]) => {
      const ref = decodeURIComponent(rawRef!);
      const page = (ctx.state.statuses[`${owner}/${repo}@${ref}`] ?? []).map((status, index) => ({
        url: `${ctx.apiOrigin}/repos/${owner}/${repo}/statuses/${ref}`,
        avatar_url: null,
        id: 7000 + index,
        node_id: `SC_${index}`,
        state: status.state,
        description: status.description ?? null,
        target_url: null,
        context: status.context,
        created_at: EPOCH,
        updated_at: EPOCH,
        creator: user("octocat"),
      }));
      return { status: 200, page };
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

/** Every route the fake answers. */
export const REST_ROUTES: Route[] = [
  ...READ_ROUTES,
  ...repoRoutes,
  ...pullRoutes,
  ...issueRoutes,
  ...actionsRoutes,
];
