/**
 * GitHub's failures as loopd errors: a refused token, a rate limit, a missing thing, a refused
 * change and an unreachable GitHub each get their own stable code, with GitHub's own words in
 * the message and what the loop can act on (status, rate-limit reset) in `details`.
 */
import { LoopdError } from "../domain/errors.js";
import { type GithubAccess, TOKEN_HINT } from "./access.js";

/** The parts of Octokit's RequestError and GraphqlResponseError that decide the code. */
interface GithubFailure extends Error {
  status?: number;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
  errors?: Array<{ type?: string; message?: string }>;
  headers?: Record<string, string | number | undefined>;
}

export interface RateLimitInfo {
  /** When GitHub accepts requests again (epoch ms). */
  until: number;
  retryAfterSeconds: number | null;
  secondary: boolean;
}

const MAX_GITHUB_MESSAGE = 300;

/** Whether a failure is GitHub's rate limit, and until when; null for anything else. */
export function rateLimitOf(error: unknown, now = Date.now()): RateLimitInfo | null {
  const failure = error as GithubFailure;
  if (!(failure instanceof Error)) return null;
  const graphqlLimited = failure.errors?.some((entry) => entry.type === "RATE_LIMITED") ?? false;
  const status = failure.status ?? 0;
  const headers = failure.response?.headers ?? failure.headers ?? {};
  const message = githubMessageOf(failure);
  const limited =
    graphqlLimited ||
    ((status === 403 || status === 429) &&
      (String(headers["x-ratelimit-remaining"]) === "0" ||
        headers["retry-after"] !== undefined ||
        /rate limit/i.test(message)));
  if (!limited) return null;
  const retryAfter = Number(headers["retry-after"] ?? Number.NaN);
  const reset = Number(headers["x-ratelimit-reset"] ?? Number.NaN) * 1000;
  const secondary = /secondary rate limit/i.test(message) || Number.isFinite(retryAfter);
  // GitHub's advice for a secondary limit without retry-after: wait at least a minute.
  const until = Number.isFinite(retryAfter)
    ? now + retryAfter * 1000
    : Number.isFinite(reset) && !secondary
      ? reset
      : now + 60_000;
  return { until, retryAfterSeconds: Number.isFinite(retryAfter) ? retryAfter : null, secondary };
}

/** Thrown by a client that sends nothing until a rate limit GitHub named has passed. */
export class RateLimitBlocked extends Error {
  override readonly name = "RateLimitBlocked";
  constructor(readonly limit: RateLimitInfo) {
    super("GitHub rate limit in force");
  }
}

/** The loopd error for a rate limit that holds until `limit.until`. */
export function rateLimitedError(what: string, limit: RateLimitInfo, now = Date.now()): LoopdError {
  const seconds = Math.max(1, Math.ceil((limit.until - now) / 1000));
  const kind = limit.secondary ? "a secondary rate limit" : "its rate limit";
  return new LoopdError(
    "LOOPD_GITHUB_RATE_LIMITED",
    `GitHub refused ${what}: the token is over ${kind} until ${new Date(limit.until).toISOString()} (in ${seconds}s)`,
    {
      details: {
        until: new Date(limit.until).toISOString(),
        retryAfterSeconds: seconds,
        secondary: limit.secondary,
      },
    },
  );
}

/**
 * A failed request as a LoopdError. `what` says what was asked ("reading acme/web#12",
 * "updating the branch of acme/web#12"); errors that are not GitHub's (a bug) pass through.
 */
export function githubError(error: unknown, what: string, access: GithubAccess): unknown {
  if (error instanceof LoopdError) return error;
  if (error instanceof RateLimitBlocked) return rateLimitedError(what, error.limit);
  const failure = error as GithubFailure;
  if (!(failure instanceof Error)) return error;
  if (failure.name === "AbortError" || failure.name === "TimeoutError") {
    return new LoopdError(
      "LOOPD_GITHUB_UNAVAILABLE",
      `GitHub (${access.apiUrl}) did not answer ${what} in time`,
      {
        cause: error,
      },
    );
  }
  const graphqlErrors = failure.name === "GraphqlResponseError" ? (failure.errors ?? []) : undefined;
  if (typeof failure.status !== "number" && !graphqlErrors) return error;
  const status = failure.status ?? 0;
  const types = graphqlErrors?.map((entry) => entry.type) ?? [];
  const githubMessage = githubMessageOf(failure);
  const details = { status, githubMessage, tokenSource: access.tokenSource };
  const fail = (code: Parameters<typeof newError>[0], message: string, hint?: string) =>
    newError(code, message, { details, cause: error, ...(hint ? { hint } : {}) });

  const limit = rateLimitOf(error);
  if (limit) return rateLimitedError(what, limit);
  if (status === 401 || status === 403 || types.includes("FORBIDDEN")) {
    return fail(
      "LOOPD_GITHUB_AUTH",
      access.token
        ? `GitHub refused ${what} with the token from ${access.tokenSource} (${githubMessage})`
        : `GitHub needs a token for ${what}`,
      access.token
        ? `The token needs access to the repository (contents, pull requests, issues, actions as the loop uses them); ${TOKEN_HINT} with that access.`
        : `${capitalized(TOKEN_HINT)}.`,
    );
  }
  if (status === 404 || types.includes("NOT_FOUND")) {
    // Without a token GitHub answers 404 for private repositories, so the fix is a token.
    return access.token
      ? fail(
          "LOOPD_GITHUB_NOT_FOUND",
          `GitHub found nothing for ${what} (or the token from ${access.tokenSource} cannot see it)`,
        )
      : fail(
          "LOOPD_GITHUB_AUTH",
          `GitHub found nothing for ${what} without a token`,
          `If the repository is private, ${TOKEN_HINT}.`,
        );
  }
  if (status === 409 || status === 422) {
    return fail("LOOPD_GITHUB_REJECTED", `GitHub refused ${what}: ${githubMessage}`);
  }
  if (graphqlErrors) return fail("LOOPD_GITHUB_REJECTED", `GitHub GraphQL refused ${what}: ${githubMessage}`);
  // Octokit reports a request that got no response at all (refused, DNS, TLS) as 500 without a response.
  if (failure.response === undefined) {
    return fail(
      "LOOPD_GITHUB_UNAVAILABLE",
      `could not reach GitHub at ${access.apiUrl} for ${what}: ${failure.message}`,
    );
  }
  return fail("LOOPD_GITHUB_UNAVAILABLE", `GitHub answered ${status} to ${what}`);
}

function newError(
  code: "LOOPD_GITHUB_AUTH" | "LOOPD_GITHUB_NOT_FOUND" | "LOOPD_GITHUB_REJECTED" | "LOOPD_GITHUB_UNAVAILABLE",
  message: string,
  options: { hint?: string; details: unknown; cause: unknown },
): LoopdError {
  return new LoopdError(code, message, options);
}

/** GitHub's own explanation: the body's message plus its validation errors, cut short. */
function githubMessageOf(failure: GithubFailure): string {
  const data = failure.response?.data as
    | { message?: string; errors?: Array<{ message?: string } | string> }
    | undefined;
  const graphql =
    failure.name === "GraphqlResponseError"
      ? failure.errors?.map((entry) => entry.message).join("; ")
      : undefined;
  const validation = (data?.errors ?? [])
    .map((entry) => (typeof entry === "string" ? entry : entry.message))
    .filter((text): text is string => Boolean(text));
  const base = graphql ?? (typeof data?.message === "string" ? data.message : failure.message);
  const text = validation.length > 0 ? `${base} (${validation.join("; ")})` : base;
  return text.length > MAX_GITHUB_MESSAGE ? `${text.slice(0, MAX_GITHUB_MESSAGE - 1)}…` : text;
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
