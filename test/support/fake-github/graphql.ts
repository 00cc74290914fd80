/**
 * The GraphQL half of the fake GitHub: enough of `POST /graphql` to answer a
 * `repository(owner, name) { discussion(number) { … } }` query, and a `discussions(first,
 * after, states)` list with `pageInfo`, the way GitHub does — no
 * schema, just the arguments read from the query (literal or `$variable`) and the requested
 * discussion fields. A missing discussion or unreadable repository is GitHub's NOT_FOUND
 * error with partial `data` and HTTP 200; anything else asked is an "undefinedField" error.
 */
import type { DiscussionFixture, FakeGithubState } from "./state.js";

export interface GraphqlRequest {
  query?: unknown;
  variables?: unknown;
}

const EPOCH = "2026-01-05T09:00:00Z";

/** The body to send (always HTTP 200, as GitHub answers query-level errors). */
export function answerGraphql(state: FakeGithubState, webOrigin: string, request: GraphqlRequest): unknown {
  const query = typeof request.query === "string" ? request.query : "";
  const variables = (request.variables ?? {}) as Record<string, unknown>;
  const arg = (pattern: RegExp): string | undefined => {
    const raw = pattern.exec(query)?.[1];
    if (raw === undefined) return undefined;
    if (raw.startsWith("$")) return String(variables[raw.slice(1)] ?? "");
    return raw.replace(/^"|"$/g, "");
  };
  const owner = arg(/repository\s*\([^)]*\bowner\s*:\s*(\$\w+|"[^"]*")/);
  const name = arg(/repository\s*\([^)]*\bname\s*:\s*(\$\w+|"[^"]*")/);
  if (owner !== undefined && name !== undefined && /discussions\s*\(/.test(query)) {
    return listDiscussions(state, webOrigin, owner, name, query, arg);
  }
  const number = arg(/discussion\s*\(\s*number\s*:\s*(\$\w+|\d+)/);
  if (owner === undefined || name === undefined || number === undefined) {
    return {
      errors: [
        {
          path: ["query"],
          extensions: { code: "undefinedField", typeName: "Query" },
          locations: [{ line: 1, column: 1 }],
          message: "fake GitHub answers only repository { discussion(number) } queries",
        },
      ],
    };
  }
  if (state.forbidden.includes(`${owner}/${name}`)) {
    return notFound(["repository"], `Could not resolve to a Repository with the name '${owner}/${name}'.`, {
      repository: null,
    });
  }
  const fixture = state.discussions[`${owner}/${name}#${number}`];
  if (!fixture) {
    return notFound(
      ["repository", "discussion"],
      `Could not resolve to a Discussion with the number of ${number}.`,
      { repository: { discussion: null } },
    );
  }
  const url = `${webOrigin}/${owner}/${name}/discussions/${number}`;
  return { data: { repository: { discussion: pick(discussionNode(fixture, url), query) } } };
}

function discussionNode(fixture: DiscussionFixture, url: string): Record<string, unknown> {
  const closed = fixture.closed ?? false;
  const answer = fixture.answer
    ? { url: `${url}#discussioncomment-9001`, author: { login: fixture.answer.author } }
    : null;
  return {
    id: "D_kwDOfake",
    number: Number(url.split("/").pop()),
    title: fixture.title,
    url,
    closed,
    closedAt: closed ? (fixture.updatedAt ?? EPOCH) : null,
    stateReason: fixture.stateReason ?? (closed ? "RESOLVED" : null),
    isAnswered: fixture.isAnswered === undefined ? answer !== null : fixture.isAnswered,
    answerChosenAt: fixture.answerChosenAt ?? (answer ? EPOCH : null),
    answer,
    comments: { totalCount: fixture.comments ?? 0 },
    createdAt: EPOCH,
    updatedAt: fixture.updatedAt ?? EPOCH,
  };
}

/** Only the fields the query names, as a GraphQL server answers (by name; good enough here). */
function pick(node: Record<string, unknown>, query: string): Record<string, unknown> {
  const start = query.search(/discussion\s*\([^)]*\)\s*\{/);
  const selection = query.slice(query.indexOf("{", start));
  return Object.fromEntries(
    Object.entries(node).filter(([field]) => new RegExp(`\\b${field}\\b`).test(selection)),
  );
}

/**
 * `repository { discussions(first, after, states: [OPEN]) { nodes { … } pageInfo { hasNextPage endCursor } } }`,
 * oldest first (GitHub orders by creation by default), the cursor an opaque string.
 */
function listDiscussions(
  state: FakeGithubState,
  webOrigin: string,
  owner: string,
  name: string,
  query: string,
  arg: (pattern: RegExp) => string | undefined,
): unknown {
  if (state.forbidden.includes(`${owner}/${name}`)) {
    return notFound(["repository"], `Could not resolve to a Repository with the name '${owner}/${name}'.`, {
      repository: null,
    });
  }
  const first = Math.min(100, Number(arg(/discussions\s*\([^)]*\bfirst\s*:\s*(\$\w+|\d+)/) ?? 10));
  const after = arg(/discussions\s*\([^)]*\bafter\s*:\s*(\$\w+|"[^"]*")/);
  const openOnly = /discussions\s*\([^)]*\bstates\s*:\s*\[?\s*OPEN\s*\]?/.test(query);
  const prefix = `${owner}/${name}#`;
  const numbers = Object.keys(state.discussions)
    .filter((key) => key.startsWith(prefix))
    .map((key) => Number(key.slice(prefix.length)))
    .filter((number) => !openOnly || !state.discussions[`${prefix}${number}`]!.closed)
    .sort((a, b) => a - b);
  const start = after ? Number(Buffer.from(after, "base64").toString("utf8").replace("cursor:", "")) : 0;
  const page = numbers.slice(start, start + first);
  const nodes = page.map((number) => {
    const fixture = state.discussions[`${prefix}${number}`]!;
    return {
      ...discussionNode(fixture, `${webOrigin}/${owner}/${name}/discussions/${number}`),
      body: fixture.body ?? "",
    };
  });
  const end = start + page.length;
  return {
    data: {
      repository: {
        discussions: {
          nodes,
          pageInfo: {
            hasNextPage: end < numbers.length,
            endCursor: page.length > 0 ? Buffer.from(`cursor:${end}`).toString("base64") : null,
          },
        },
      },
    },
  };
}

function notFound(path: string[], message: string, data: unknown): unknown {
  return { data, errors: [{ type: "NOT_FOUND", path, locations: [{ line: 2, column: 3 }], message }] };
}

/** GitHub's answer when the GraphQL rate limit is spent: HTTP 200 with a RATE_LIMITED error. */
export function graphqlRateLimited(): unknown {
  return {
    errors: [
      {
        type: "RATE_LIMITED",
        code: "graphql_rate_limit",
        message: "API rate limit exceeded for user ID 1.",
      },
    ],
  };
}
