/**
 * One connection to one GitHub (an API base + a token), shared by every call a loop makes so
 * that its memory pays off across ticks:
 *
 * - Conditional requests: every GET remembers its ETag and answer; the next identical GET
 *   sends `If-None-Match`, and GitHub's 304 — which does not count against the rate limit —
 *   is answered from memory. An idle tick that re-reads the same pull requests costs nothing.
 * - Rate limits: a 403/429 that is a rate limit (primary, or secondary with `retry-after`)
 *   becomes LOOPD_GITHUB_RATE_LIMITED, and until the time GitHub named this client sends
 *   nothing (GitHub penalises clients that keep knocking); a short `retry-after` is waited
 *   out once instead. A response saying the quota is spent blocks the client the same way.
 * - Every other failure is a LoopdError with a stable code (errors.ts), never Octokit's.
 */
import { Octokit } from "@octokit/rest";
import type { GithubAccess } from "./access.js";
import { githubError, RateLimitBlocked, type RateLimitInfo, rateLimitOf } from "./errors.js";

export interface GithubApiOptions {
  /** Per request (default 30 s). */
  timeoutMs?: number;
  /** A `retry-after` up to this long is waited out and the request sent again once (default 5 s). */
  maxRetryWaitMs?: number;
  /** Answers remembered for conditional requests (default 500, oldest forgotten first). */
  cacheEntries?: number;
}

/** What this client has cost: `requests` GitHub counted, `notModified` 304s it did not. */
export interface GithubApiStats {
  requests: number;
  notModified: number;
}

interface CachedAnswer {
  etag: string;
  response: unknown;
}

export class GithubApi {
  readonly octokit: Octokit;
  readonly stats: GithubApiStats = { requests: 0, notModified: 0 };
  private readonly cache = new Map<string, CachedAnswer>();
  private blocked: RateLimitInfo | null = null;

  constructor(
    readonly access: GithubAccess,
    options: GithubApiOptions = {},
  ) {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const maxRetryWaitMs = options.maxRetryWaitMs ?? 5_000;
    const cacheEntries = options.cacheEntries ?? 500;
    const silent = () => {};
    this.octokit = new Octokit({
      baseUrl: access.apiUrl,
      ...(access.token ? { auth: access.token } : {}),
      userAgent: "loopd",
      // Failures become LoopdErrors; Octokit's own request log would only duplicate them.
      log: { debug: silent, info: silent, warn: silent, error: silent },
    });
    this.octokit.hook.wrap("request", async (request, options) => {
      if (this.blocked && this.blocked.until > Date.now()) throw new RateLimitBlocked(this.blocked);
      const isRead = options.method === "GET" || options.method === "HEAD";
      const key = isRead ? this.octokit.request.endpoint(options).url : null;
      const cached = key === null ? undefined : this.cache.get(key);
      // The hook chain binds `options` once (before-after-hook): changes must be made in place.
      if (cached) options.headers["if-none-match"] = cached.etag;
      const send = async () => {
        options.request = { ...options.request, signal: AbortSignal.timeout(timeoutMs) };
        try {
          return await request(options);
        } catch (error) {
          const status = (error as { status?: number }).status;
          if (status === 304) this.stats.notModified += 1;
          else if ((error as { response?: unknown }).response !== undefined) this.stats.requests += 1;
          throw error;
        }
      };
      try {
        const response = await send().catch(async (error: unknown) => {
          const limit = rateLimitOf(error);
          if (!limit || limit.until - Date.now() > maxRetryWaitMs) throw error;
          await new Promise((resolve) => setTimeout(resolve, Math.max(0, limit.until - Date.now())));
          return send();
        });
        this.stats.requests += 1;
        this.noteQuota(response.headers);
        const etag = response.headers.etag;
        if (key !== null && typeof etag === "string") this.remember(key, { etag, response }, cacheEntries);
        return response;
      } catch (error) {
        if ((error as { status?: number }).status === 304 && cached && key !== null) {
          this.remember(key, cached, cacheEntries);
          return cached.response as Awaited<ReturnType<typeof request>>;
        }
        const limit = rateLimitOf(error);
        if (limit) this.blocked = limit;
        throw error;
      }
    });
  }

  /** A response that spent the last request of the quota blocks the client until the reset. */
  private noteQuota(headers: Record<string, string | number | undefined>): void {
    if (String(headers["x-ratelimit-remaining"]) !== "0") return;
    const reset = Number(headers["x-ratelimit-reset"]) * 1000;
    if (Number.isFinite(reset)) this.blocked = { until: reset, retryAfterSeconds: null, secondary: false };
  }

  /** Most recently used last, so the oldest entry is the first forgotten. */
  private remember(key: string, answer: CachedAnswer, limit: number): void {
    this.cache.delete(key);
    this.cache.set(key, answer);
    if (this.cache.size > limit) this.cache.delete(this.cache.keys().next().value!);
  }

  /** Runs one call, turning GitHub's failures into LoopdErrors that say `what` was asked. */
  async call<T>(what: string, operation: (octokit: Octokit) => Promise<T>): Promise<T> {
    try {
      return await operation(this.octokit);
    } catch (error) {
      throw githubError(error, what, this.access);
    }
  }
}
