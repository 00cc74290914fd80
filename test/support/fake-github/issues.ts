/**
 * Conversation routes of the fake GitHub, shared by issues and pull requests as on GitHub:
 * the issue list (state, labels), comments (list, create, edit; authored by the token's
 * user) and labels (add, remove).
 */
import type { Route } from "./rest.js";
import { commentBody, issueBody, labels, now, pullAsIssue, type RestContext } from "./shapes.js";

/** The issue or pull request fixture a number names (labels live on both). */
function subject(ctx: RestContext, key: string): { labels?: string[] } | undefined {
  return ctx.state.issues[key] ?? ctx.state.pulls[key];
}

export const issueRoutes: Route[] = [
  {
    method: "GET",
    path: /^\/repos\/([^/]+)\/([^/]+)\/issues$/,
    answer: (ctx, [, owner, repo], { query }) => {
      // Like GitHub, the list holds pull requests too (with a `pull_request` key).
      const prefix = `${owner}/${repo}#`;
      const state = query.get("state") ?? "open";
      const wanted = (query.get("labels") ?? "").split(",").filter(Boolean);
      const numbers = [...new Set([...Object.keys(ctx.state.issues), ...Object.keys(ctx.state.pulls)])]
        .filter((key) => key.startsWith(prefix))
        .map((key) => Number(key.slice(prefix.length)))
        .sort((a, b) => (query.get("direction") === "asc" ? a - b : b - a));
      const page = numbers.flatMap((number) => {
        const key = `${prefix}${number}`;
        const issue = ctx.state.issues[key];
        const pull = ctx.state.pulls[key];
        const fixture = issue ?? pull!;
        if (state !== "all" && fixture.state !== state) return [];
        if (!wanted.every((label) => (fixture.labels ?? []).includes(label))) return [];
        return [
          issue
            ? issueBody(ctx, owner!, repo!, number, issue)
            : pullAsIssue(ctx, owner!, repo!, number, pull!),
        ];
      });
      return { status: 200, page };
    },
  },
  {
    method: "GET",
    path: /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/,
    answer: (ctx, [, owner, repo, number], { query }) => {
      const key = `${owner}/${repo}#${number}`;
      if (!subject(ctx, key)) return null;
      // GitHub's `since` keeps comments updated at or after it.
      const since = query.get("since");
      const comments = (ctx.state.comments[key] ?? []).filter(
        (comment) => since === null || Date.parse(comment.updated_at) >= Date.parse(since),
      );
      const page = comments.map((comment) => commentBody(ctx, owner!, repo!, Number(number), comment));
      return { status: 200, page };
    },
  },
  {
    method: "POST",
    path: /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/,
    answer: (ctx, [, owner, repo, number], { body }) => {
      const key = `${owner}/${repo}#${number}`;
      if (!subject(ctx, key)) return null;
      if (typeof body.body !== "string" || body.body === "") {
        return {
          status: 422,
          body: { message: 'Invalid request.\n\n"body" wasn\'t supplied.', status: "422" },
        };
      }
      const time = now();
      const comment = {
        id: ctx.state.nextId++,
        body: body.body,
        user: ctx.state.user,
        created_at: time,
        updated_at: time,
      };
      ctx.state.comments[key] = [...(ctx.state.comments[key] ?? []), comment];
      return { status: 201, body: commentBody(ctx, owner!, repo!, Number(number), comment) };
    },
  },
  {
    method: "PATCH",
    path: /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/,
    answer: (ctx, [, owner, repo, id], { body }) => {
      for (const [key, comments] of Object.entries(ctx.state.comments)) {
        if (!key.startsWith(`${owner}/${repo}#`)) continue;
        const comment = comments.find((candidate) => candidate.id === Number(id));
        if (!comment) continue;
        if (typeof body.body === "string") comment.body = body.body;
        comment.updated_at = now();
        return { status: 200, body: commentBody(ctx, owner!, repo!, Number(key.split("#")[1]), comment) };
      }
      return null;
    },
  },
  {
    method: "POST",
    path: /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/labels$/,
    answer: (ctx, [, owner, repo, number], { body }) => {
      const target = subject(ctx, `${owner}/${repo}#${number}`);
      if (!target) return null;
      const added = Array.isArray(body.labels) ? body.labels.map(String) : [];
      target.labels = [...new Set([...(target.labels ?? []), ...added])];
      return { status: 200, body: labels(target.labels) };
    },
  },
  {
    method: "DELETE",
    path: /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/labels\/(.+)$/,
    answer: (ctx, [, owner, repo, number, rawName]) => {
      const target = subject(ctx, `${owner}/${repo}#${number}`);
      const name = decodeURIComponent(rawName!);
      if (!target || !(target.labels ?? []).includes(name)) return null;
      target.labels = (target.labels ?? []).filter((label) => label !== name);
      return { status: 200, body: labels(target.labels) };
    },
  },
];
