/**
 * A fake GitHub for tests: real HTTP on 127.0.0.1 speaking the REST and GraphQL shapes the
 * github check reads, from fixtures a test mutates between calls. It behaves like GitHub where
 * clients notice: `Link`-header pagination (`per_page` up to 100, `page`), 401 "Bad
 * credentials" for a wrong token, 404 (not 401) for REST without a token — GitHub hides
 * private repositories that way — and 401 for GraphQL without one, 403 with
 * `x-ratelimit-remaining: 0` (or a secondary limit with `retry-after`) when rate limited.
 *
 *   const github = await startFakeGithub({ token: "ghp_test" });
 *   github.state.issues["acme/web#34"] = { title: "Crash on save", state: "open" };
 *   new Octokit({ baseUrl: github.apiUrl, auth: "ghp_test" });
 *
 * `enterprise: true` serves REST under /api/v3 and GraphQL under /api/graphql, as GitHub
 * Enterprise Server does; otherwise REST is at the root and GraphQL at /graphql.
 *
 * GETs carry an ETag and answer 304 to a matching `If-None-Match`; a 304 is not counted in
 * `state.rateUsed` (nor in x-ratelimit-used), as on GitHub. Repositories backed by bare git
 * repositories (`state.repos[…].bare`) are served over git's smart HTTP at their clone_url
 * (git-http.ts), and job logs download from /_logs/… after GitHub's 302; artifact zips from
 * /_blobs/…, which answers 400 to a request carrying an Authorization header (as GitHub's
 * blob storage does: the signed URL is the credential).
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { artifactZip, findArtifact, jobLogText } from "./actions.js";
import { type GitExchange, isGitRequest, serveGit } from "./git-http.js";
import { answerGraphql, type GraphqlRequest, graphqlRateLimited } from "./graphql.js";
import { REST_ROUTES, type RestAnswer } from "./rest.js";
import { emptyState, type FakeGithubState } from "./state.js";

export interface FakeGithubOptions {
  /** When set, requests must carry `authorization: token <it>` or `Bearer <it>`. */
  token?: string;
  /** Serve REST under /api/v3 and GraphQL under /api/graphql (GitHub Enterprise Server). */
  enterprise?: boolean;
  /** The web origin in html_url fields (default https://github.com). */
  webOrigin?: string;
}

export interface RecordedGithubRequest {
  method: string;
  /** The path without the Enterprise prefix, e.g. /repos/acme/web/issues/34 or /graphql. */
  path: string;
  query: Record<string, string>;
  authorization: string | undefined;
  /** Of a conditional request: the ETag it presented. */
  ifNoneMatch: string | undefined;
  body: unknown;
  /** The status answered (304 for a conditional hit). */
  status: number;
}

export interface FakeGithub {
  /** http://127.0.0.1:PORT */
  url: string;
  /** The REST base a client is given: `url`, or `url`/api/v3 in Enterprise mode. */
  apiUrl: string;
  state: FakeGithubState;
  requests: RecordedGithubRequest[];
  /** git smart-HTTP exchanges with the bare repositories, with the Authorization each carried. */
  gitRequests: GitExchange[];
  /** Downloads from the blob storage (artifact zips), with the Authorization each carried. */
  blobRequests: Array<{ path: string; authorization: string | undefined; status: number }>;
  close(): Promise<void>;
}

const DOCS = "https://docs.github.com/rest";
const RATE_LIMIT_DOCS = "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api";
const MAX_PER_PAGE = 100;

export async function startFakeGithub(options: FakeGithubOptions = {}): Promise<FakeGithub> {
  const state = emptyState();
  const requests: RecordedGithubRequest[] = [];
  const gitRequests: GitExchange[] = [];
  const blobRequests: FakeGithub["blobRequests"] = [];
  const prefix = options.enterprise ? "/api/v3" : "";
  const graphqlPath = options.enterprise ? "/api/graphql" : "/graphql";
  const webOrigin = options.webOrigin ?? "https://github.com";

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ message: `fake GitHub failed: ${String(error)}` }));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", `http://${req.headers.host ?? "127.0.0.1"}`);
    const raw = await readBody(req);
    if (isGitRequest(url.pathname)) return serveGit(req, res, raw, state, options.token, gitRequests);
    const blobPath = /^\/_blobs\/([^/]+)\/([^/]+)\/artifacts\/(\d+)\.zip$/.exec(url.pathname);
    if (blobPath) {
      const artifact = findArtifact(state.workflowRuns, `${blobPath[1]}/${blobPath[2]}`, blobPath[3]!);
      const authorization = req.headers.authorization;
      const status = authorization !== undefined ? 400 : artifact ? 200 : 404;
      blobRequests.push({ path: url.pathname, authorization, status });
      if (status !== 200 || !artifact) {
        res.writeHead(status, { "content-type": "application/xml" });
        res.end(
          status === 400
            ? '<?xml version="1.0" encoding="utf-8"?><Error><Code>InvalidAuthenticationInfo</Code><Message>Authentication information is not given in the correct format.</Message></Error>'
            : '<?xml version="1.0" encoding="utf-8"?><Error><Code>BlobNotFound</Code></Error>',
        );
        return;
      }
      const zip = artifactZip(artifact);
      res.writeHead(200, { "content-type": "application/zip", "content-length": String(zip.byteLength) });
      res.end(zip);
      return;
    }
    const logPath = /^\/_logs\/([^/]+)\/([^/]+)\/jobs\/(\d+)$/.exec(url.pathname);
    if (logPath) {
      const text = jobLogText(state.workflowRuns, `${logPath[1]}/${logPath[2]}`, logPath[3]!);
      res.writeHead(text === null ? 404 : 200, { "content-type": "text/plain; charset=utf-8" });
      res.end(text ?? "Not Found");
      return;
    }
    const isGraphql = req.method === "POST" && url.pathname === graphqlPath;
    const path = isGraphql ? "/graphql" : url.pathname.slice(prefix.length);
    const body = raw.length > 0 ? (JSON.parse(raw.toString("utf8")) as unknown) : undefined;
    const recorded: RecordedGithubRequest = {
      method: req.method ?? "GET",
      path,
      query: Object.fromEntries(url.searchParams),
      authorization: req.headers.authorization,
      ifNoneMatch: req.headers["if-none-match"],
      body,
      status: 0,
    };
    requests.push(recorded);
    // Counted when the status is written, so a client that has its answer sees the count.
    const writeHead = res.writeHead.bind(res) as (
      status: number,
      headers?: Record<string, string>,
    ) => ServerResponse;
    res.writeHead = ((status: number, headers?: Record<string, string>) => {
      recorded.status = status;
      if (status !== 304) state.rateUsed += 1;
      return writeHead(status, headers);
    }) as typeof res.writeHead;
    const resource = isGraphql ? "graphql" : "core";

    if (state.serverError !== null) {
      // GitHub's 5xx pages are HTML, not JSON.
      res.writeHead(state.serverError, { "content-type": "text/html" });
      res.end("<html><body><h1>Unicorn!</h1>This page is taking too long to load.</body></html>");
      return;
    }
    const presented = /^(?:token|bearer)\s+(.+)$/i.exec(req.headers.authorization ?? "")?.[1];
    if (presented !== undefined && options.token !== undefined && presented !== options.token) {
      return send(res, 401, { message: "Bad credentials", documentation_url: DOCS, status: "401" });
    }
    if (presented === undefined && options.token !== undefined && isGraphql) {
      return send(res, 401, {
        message: "This endpoint requires you to be authenticated.",
        documentation_url:
          "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql",
      });
    }
    if (state.rateLimit !== null) {
      const { resetAt, secondary, retryAfter = 60 } = state.rateLimit;
      if (state.rateLimit.refusals !== undefined) {
        state.rateLimit.refusals -= 1;
        if (state.rateLimit.refusals <= 0) state.rateLimit = null;
      }
      if (secondary) {
        return send(
          res,
          403,
          {
            message:
              "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.",
            documentation_url: `${RATE_LIMIT_DOCS}#about-secondary-rate-limits`,
            status: "403",
          },
          {
            ...rateHeaders(resource, 4990, resetAt),
            "retry-after": String(retryAfter),
          },
        );
      }
      if (isGraphql) return send(res, 200, graphqlRateLimited(), rateHeaders(resource, 0, resetAt));
      return send(
        res,
        403,
        {
          message: "API rate limit exceeded for user ID 1.",
          documentation_url: RATE_LIMIT_DOCS,
          status: "403",
        },
        rateHeaders(resource, 0, resetAt),
      );
    }
    const headers = rateHeaders(resource, 5000 - state.rateUsed - 1, Math.floor(Date.now() / 1000) + 3600);

    if (isGraphql)
      return send(res, 200, answerGraphql(state, webOrigin, (body ?? {}) as GraphqlRequest), headers);

    const repoMatch = /^\/repos\/([^/]+)\/([^/]+)\//.exec(path);
    const anonymousPrivate = presented === undefined && options.token !== undefined;
    if (repoMatch && state.forbidden.includes(`${repoMatch[1]}/${repoMatch[2]}`) && !anonymousPrivate) {
      return send(
        res,
        403,
        {
          message: "Resource not accessible by personal access token",
          documentation_url: DOCS,
          status: "403",
        },
        headers,
      );
    }
    const route = REST_ROUTES.find(
      (candidate) => candidate.method === req.method && candidate.path.test(path),
    );
    const match = route?.path.exec(path);
    const serverOrigin = `http://${req.headers.host}`;
    const answer =
      route && match && !anonymousPrivate
        ? route.answer(
            { state, apiOrigin: `${serverOrigin}${prefix}`, serverOrigin, webOrigin },
            [...match],
            {
              query: url.searchParams,
              body: (body ?? {}) as Record<string, unknown>,
            },
          )
        : null;
    if (!answer)
      return send(res, 404, { message: "Not Found", documentation_url: DOCS, status: "404" }, headers);
    if ("redirect" in answer) {
      res.writeHead(302, { ...headers, location: answer.redirect });
      res.end();
      return;
    }
    if ("body" in answer) return sendConditional(req, res, answer.status, answer.body, headers);
    return sendPage(req, res, url, answer, headers);
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    apiUrl: `${url}${prefix}`,
    state,
    requests,
    gitRequests,
    blobRequests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** One page of a list, with GitHub's `Link` header (`next`, `last`, `first`, `prev`). */
function sendPage(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  answer: Extract<RestAnswer, { page: unknown[] }>,
  headers: Record<string, string>,
): void {
  const perPage = Math.min(MAX_PER_PAGE, Math.max(1, Number(url.searchParams.get("per_page") ?? 30) || 30));
  const page = Math.max(1, Number(url.searchParams.get("page") ?? 1) || 1);
  const items = answer.page.slice((page - 1) * perPage, page * perPage);
  const lastPage = Math.max(1, Math.ceil(answer.page.length / perPage));
  const link = (target: number, rel: string) => {
    const next = new URL(url);
    next.searchParams.set("per_page", String(perPage));
    next.searchParams.set("page", String(target));
    return `<${next.toString()}>; rel="${rel}"`;
  };
  const links = [
    ...(page > 1 ? [link(page - 1, "prev"), link(1, "first")] : []),
    ...(page < lastPage ? [link(page + 1, "next"), link(lastPage, "last")] : []),
  ];
  const body = answer.wrap ? answer.wrap(items, answer.page.length) : items;
  sendConditional(req, res, 200, body, links.length > 0 ? { ...headers, link: links.join(", ") } : headers);
}

/** A GET's 200 carries an ETag of its body; a request presenting that ETag gets an empty 304. */
function sendConditional(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string>,
): void {
  if (req.method !== "GET" || status !== 200) {
    send(res, status, body, headers);
    return;
  }
  const etag = `W/"${createHash("sha1").update(JSON.stringify(body)).digest("hex")}"`;
  if (req.headers["if-none-match"] === etag) {
    res.writeHead(304, { etag, ...headers });
    res.end();
    return;
  }
  send(res, status, body, { ...headers, etag });
}

function rateHeaders(resource: string, remaining: number, resetAt: number): Record<string, string> {
  const limit = 5000;
  return {
    "x-ratelimit-limit": String(limit),
    "x-ratelimit-remaining": String(remaining),
    "x-ratelimit-reset": String(resetAt),
    "x-ratelimit-used": String(limit - remaining),
    "x-ratelimit-resource": resource,
  };
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "x-github-media-type": "github.v3; format=json",
    "x-github-request-id": `FAKE:${Math.random().toString(16).slice(2, 10)}`,
    ...headers,
  });
  res.end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}
