/**
 * Pull request routes of the fake GitHub: list (state, head, base filters, sort), create
 * (GitHub's 422 when an open PR for the head exists or the head branch is missing), update,
 * update-branch (a real merge of the base in the bare repo, 422 when `expected_head_sha` is
 * stale or the merge conflicts) and review comments.
 */
import { mergeIntoBranch, revParse } from "./bare-repo.js";
import type { Route } from "./rest.js";
import { defaultBranch, EPOCH, now, pullBody, type RestContext, user, validationFailed } from "./shapes.js";
import type { PullFixture } from "./state.js";

/** The pull requests of one repository, by number. */
function pullsOf(ctx: RestContext, fullName: string): Array<[number, PullFixture]> {
  return Object.entries(ctx.state.pulls)
    .filter(([key]) => key.startsWith(`${fullName}#`))
    .map(([key, fixture]) => [Number(key.slice(fullName.length + 1)), fixture] as [number, PullFixture])
    .sort((a, b) => a[0] - b[0]);
}

/** GitHub numbers issues and pull requests from one sequence. */
function nextNumber(ctx: RestContext, fullName: string): number {
  const numbers = [...Object.keys(ctx.state.pulls), ...Object.keys(ctx.state.issues)]
    .filter((key) => key.startsWith(`${fullName}#`))
    .map((key) => Number(key.slice(fullName.length + 1)));
  return Math.max(0, ...numbers) + 1;
}

export const pullRoutes: Route[] = [
  {
    method: "GET",
    path: /^\/repos\/([^/]+)\/([^/]+)\/pulls$/,
    answer: (ctx, [, owner, repo], { query }) => {
      const fullName = `${owner}/${repo}`;
      const state = query.get("state") ?? "open";
      const head = query.get("head");
      const base = query.get("base");
      let pulls = pullsOf(ctx, fullName).filter(
        ([, pull]) =>
          (state === "all" || pull.state === state) &&
          (head === null || `${(pull.head.repo ?? fullName).split("/")[0]}:${pull.head.ref}` === head) &&
          (base === null || (pull.base?.ref ?? defaultBranch(ctx, fullName)) === base),
      );
      // GitHub's default order: newest first.
      if ((query.get("direction") ?? "desc") === "desc") pulls = pulls.reverse();
      return { status: 200, page: pulls.map(([number, pull]) => pullBody(ctx, owner!, repo!, number, pull)) };
    },
  },
  {
    method: "POST",
    path: /^\/repos\/([^/]+)\/([^/]+)\/pulls$/,
    answer: (ctx, [, owner, repo], { body }) => {
      const fullName = `${owner}/${repo}`;
      if (!ctx.state.repos[fullName] && !pullsOf(ctx, fullName).length) return null;
      const [headOwner, headRef] = String(body.head ?? "").includes(":")
        ? (String(body.head).split(":", 2) as [string, string])
        : [owner!, String(body.head ?? "")];
      const base = String(body.base ?? "");
      if (!headRef || !base || typeof body.title !== "string") {
        return validationFailed("PullRequest", "head, base and title are required");
      }
      const headRepo = headOwner === owner ? fullName : `${headOwner}/${repo}`;
      const bare = ctx.state.repos[headRepo]?.bare;
      if (bare && revParse(bare, `refs/heads/${headRef}`) === null) {
        return validationFailed("PullRequest", `head branch ${headRef} does not exist`);
      }
      const duplicate = pullsOf(ctx, fullName).some(
        ([, pull]) =>
          pull.state === "open" && pull.head.ref === headRef && (pull.head.repo ?? fullName) === headRepo,
      );
      if (duplicate)
        return validationFailed("PullRequest", `A pull request already exists for ${headOwner}:${headRef}.`);
      const number = nextNumber(ctx, fullName);
      const fixture: PullFixture = {
        title: body.title,
        state: "open",
        draft: body.draft === true,
        head: { ref: headRef, ...(headRepo === fullName ? {} : { repo: headRepo }) },
        base: { ref: base },
        user: ctx.state.user,
        body: typeof body.body === "string" ? body.body : null,
        labels: [],
        updated_at: now(),
      };
      ctx.state.pulls[`${fullName}#${number}`] = fixture;
      return { status: 201, body: pullBody(ctx, owner!, repo!, number, fixture) };
    },
  },
  {
    method: "PATCH",
    path: /^\/repos\/([^/]+)\/([^/]+)\/pulls\/(\d+)$/,
    answer: (ctx, [, owner, repo, number], { body }) => {
      const fixture = ctx.state.pulls[`${owner}/${repo}#${number}`];
      if (!fixture) return null;
      if (typeof body.title === "string") fixture.title = body.title;
      if (typeof body.body === "string") fixture.body = body.body;
      if (body.state === "open" || body.state === "closed") fixture.state = body.state;
      if (typeof body.base === "string") fixture.base = { ref: body.base };
      fixture.updated_at = now();
      return { status: 200, body: pullBody(ctx, owner!, repo!, Number(number), fixture) };
    },
  },
  {
    method: "PUT",
    path: /^\/repos\/([^/]+)\/([^/]+)\/pulls\/(\d+)\/update-branch$/,
    answer: (ctx, [, owner, repo, number], { body }) => {
      const fullName = `${owner}/${repo}`;
      const fixture = ctx.state.pulls[`${fullName}#${number}`];
      if (!fixture) return null;
      const current = pullBody(ctx, owner!, repo!, Number(number), fixture);
      if (typeof body.expected_head_sha === "string" && body.expected_head_sha !== current.head.sha) {
        return {
          status: 422,
          body: {
            message: "expected head sha didn’t match current head ref.",
            documentation_url: "https://docs.github.com/rest/pulls/pulls#update-a-pull-request-branch",
            status: "422",
          },
        };
      }
      const bare = ctx.state.repos[fixture.head.repo ?? fullName]?.bare;
      if (bare) {
        if (mergeIntoBranch(bare, fixture.head.ref, `refs/heads/${current.base.ref}`) === null) {
          return {
            status: 422,
            body: {
              message: "merge conflict between base and head",
              documentation_url: "https://docs.github.com/rest/pulls/pulls#update-a-pull-request-branch",
              status: "422",
            },
          };
        }
        delete fixture.head.sha;
      }
      fixture.updated_at = now();
      return {
        status: 202,
        body: {
          message: "Updating pull request branch.",
          url: `${ctx.webOrigin}/${fullName}/pull/${number}`,
        },
      };
    },
  },
  {
    method: "GET",
    path: /^\/repos\/([^/]+)\/([^/]+)\/pulls\/(\d+)\/comments$/,
    answer: (ctx, [, owner, repo, number], { query }) => {
      const key = `${owner}/${repo}#${number}`;
      if (!ctx.state.pulls[key]) return null;
      const api = `${ctx.apiOrigin}/repos/${owner}/${repo}`;
      // GitHub's `since` keeps comments updated at or after it.
      const since = query.get("since");
      const comments = (ctx.state.reviewComments[key] ?? []).filter(
        (comment) =>
          since === null ||
          Date.parse(comment.updated_at ?? comment.created_at ?? EPOCH) >= Date.parse(since),
      );
      const page = comments.map((comment, index) => {
        const id = comment.id ?? 6000 + index;
        return {
          id,
          node_id: `PRRC_${id}`,
          url: `${api}/pulls/comments/${id}`,
          pull_request_review_id: 80,
          diff_hunk: "@@ -1 +1 @@",
          path: comment.path,
          line: comment.line ?? null,
          commit_id:
            comment.commit_id ?? pullBody(ctx, owner!, repo!, Number(number), ctx.state.pulls[key]!).head.sha,
          original_commit_id: comment.commit_id ?? "",
          user: user(comment.user ?? "octocat"),
          body: comment.body,
          created_at: comment.created_at ?? EPOCH,
          updated_at: comment.updated_at ?? comment.created_at ?? EPOCH,
          html_url: `${ctx.webOrigin}/${owner}/${repo}/pull/${number}#discussion_r${id}`,
          pull_request_url: `${api}/pulls/${number}`,
          author_association: "MEMBER",
          _links: {},
        };
      });
      return { status: 200, page };
    },
  },
];
