/**
 * The `github` check of a watch: reads an issue, pull request, discussion or the check runs of
 * a PR/branch from the GitHub API (REST, GraphQL for discussions) and says whether the wanted
 * state holds, with the fields it read as evidence. Anything that stops an honest answer — a
 * refused token, a rate limit, GitHub down — is an `error` result, never a guess or a throw.
 */
import { Octokit } from "@octokit/rest";
import type { CheckResult, CheckSpec } from "../domain/check.js";
import { describeGithubTarget, githubTargetUrl } from "../domain/github-ref.js";
import { apiUrlFor, type GithubAccess, TOKEN_HINT } from "../github/access.js";
import {
  evaluateChecks,
  evaluateDiscussion,
  evaluateIssue,
  evaluatePull,
  type GithubReadContext,
  githubError,
  roughly,
} from "./github-verdicts.js";

// Token and API base are resolved by the GitHub module; re-exported for the engine's watches.
export {
  apiUrlFor,
  DEFAULT_GITHUB_API_URL,
  type GithubAccess,
  resolveGithubAccess,
} from "../github/access.js";

const REQUEST_TIMEOUT_MS = 30_000;

type GithubSpec = Extract<CheckSpec, { kind: "github" }>;

export async function evaluateGithubCheck(
  spec: GithubSpec,
  options: { access: GithubAccess; signal?: AbortSignal; mergeableRecheckMs?: readonly number[] },
): Promise<CheckResult> {
  const { target, want } = spec;
  const apiUrl = apiUrlFor(target, options.access);
  const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  const silent = () => {};
  const octokit = new Octokit({
    baseUrl: apiUrl,
    ...(options.access.token ? { auth: options.access.token } : {}),
    userAgent: "loopd",
    request: { signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout },
    // Failures come back as results; Octokit's own request log would only duplicate them.
    log: { debug: silent, info: silent, warn: silent, error: silent },
  });
  const base = { url: githubTargetUrl(target), apiUrl, want };
  const ctx: GithubReadContext = {
    octokit,
    owner: target.owner,
    repo: target.repo,
    subject: describeGithubTarget(target),
    base,
    ...(options.mergeableRecheckMs ? { mergeableRecheckMs: options.mergeableRecheckMs } : {}),
  };
  try {
    if (target.kind === "ref") return await evaluateChecks(ctx, target.ref, ctx.subject, base);
    if (target.kind === "pr") return await evaluatePull(ctx, target.number, want);
    if (!("state" in want)) throw new Error(`checks: green does not apply to a ${target.kind}`);
    if (target.kind === "issue") return await evaluateIssue(ctx, target.number, want.state, want.since);
    return await evaluateDiscussion(ctx, target.number, want.state);
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    if (timeout.aborted) {
      return githubError(
        ctx,
        "LOOPD_CHECK_ERROR",
        `GitHub (${apiUrl}) did not answer within ${REQUEST_TIMEOUT_MS / 1000}s`,
        {},
      );
    }
    return failureResult(error, ctx, options.access);
  }
}

/** The parts of Octokit's RequestError and GraphqlResponseError that decide the verdict. */
interface GithubFailure extends Error {
  status?: number;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
  errors?: Array<{ type?: string; message?: string }>;
  headers?: Record<string, string | number | undefined>;
}

function failureResult(error: unknown, ctx: GithubReadContext, access: GithubAccess): CheckResult {
  const failure = error as GithubFailure;
  const graphqlErrors =
    failure instanceof Error && failure.name === "GraphqlResponseError" ? failure.errors : undefined;
  if (!(failure instanceof Error) || (typeof failure.status !== "number" && !graphqlErrors)) throw error;
  const headers = failure.response?.headers ?? failure.headers ?? {};
  const githubMessage = (
    (failure.response?.data as { message?: string } | undefined)?.message ??
    graphqlErrors?.map((entry) => entry.message).join("; ") ??
    failure.message
  ).slice(0, 300);
  const status = failure.status ?? 0;
  const types = graphqlErrors?.map((entry) => entry.type) ?? [];
  const repo = `${ctx.owner}/${ctx.repo}`;
  const fail = (code: "LOOPD_CHECK_ERROR" | "LOOPD_GITHUB_AUTH", message: string, extra = {}) =>
    githubError(ctx, code, message, { status, githubMessage, tokenSource: access.tokenSource, ...extra });

  const rateLimited =
    types.includes("RATE_LIMITED") ||
    ((status === 403 || status === 429) &&
      (headers["x-ratelimit-remaining"] === "0" ||
        headers["retry-after"] !== undefined ||
        /rate limit/i.test(githubMessage)));
  if (rateLimited) {
    const retryAfter = Number(headers["retry-after"] ?? Number.NaN);
    const reset = Number(headers["x-ratelimit-reset"] ?? Number.NaN) * 1000;
    const when = Number.isFinite(retryAfter)
      ? `retry after ${retryAfter}s`
      : Number.isFinite(reset)
        ? `it resets at ${new Date(reset).toISOString()} (in ${roughly(reset - Date.now())})`
        : "it resets within the hour";
    const rateLimit = {
      remaining: headers["x-ratelimit-remaining"] ?? null,
      resetAt: Number.isFinite(reset) ? new Date(reset).toISOString() : null,
      retryAfterSeconds: Number.isFinite(retryAfter) ? retryAfter : null,
    };
    return fail("LOOPD_CHECK_ERROR", `GitHub rate limit reached reading ${ctx.subject}; ${when}`, {
      rateLimit,
    });
  }
  if (status === 401 || status === 403 || types.includes("FORBIDDEN")) {
    return fail(
      "LOOPD_GITHUB_AUTH",
      access.token
        ? `GitHub refused the token from ${access.tokenSource} for ${repo} (${githubMessage}); ${TOKEN_HINT} with read access to ${repo}`
        : `GitHub needs a token to read ${ctx.subject}; ${TOKEN_HINT}`,
    );
  }
  if (status === 404 || types.includes("NOT_FOUND")) {
    // Without a token GitHub answers 404 for private repositories, so the fix is a token.
    return access.token
      ? fail(
          "LOOPD_CHECK_ERROR",
          `${ctx.subject} not found (or the token from ${access.tokenSource} cannot see it)`,
        )
      : fail(
          "LOOPD_GITHUB_AUTH",
          `${ctx.subject} was not found without a token; if ${repo} is private, ${TOKEN_HINT}`,
        );
  }
  if (graphqlErrors)
    return fail("LOOPD_CHECK_ERROR", `GitHub GraphQL error reading ${ctx.subject}: ${githubMessage}`);
  // Octokit reports a request that got no response at all (refused, DNS, TLS) as 500 without a response.
  if (failure.response === undefined) {
    return fail("LOOPD_CHECK_ERROR", `could not reach GitHub at ${ctx.base.apiUrl}: ${failure.message}`);
  }
  return fail("LOOPD_CHECK_ERROR", `GitHub answered ${status} reading ${ctx.subject}; try again later`);
}
