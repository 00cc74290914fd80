/**
 * Is the key actually accepted? Presence is not enough: a revoked key or an expired login
 * looks fine until the agent's first model call, after the workspace is made and the agent
 * started. So preflight asks the provider one free question with the key the run will use —
 * the model list (`GET <base>/v1/models`; Gemini: `GET <base>/v1beta/models`) at the endpoint
 * the run will talk to — and a 401/403 fails the run before anything starts.
 *
 * A network error, a timeout, a 5xx or an endpoint without a model list (some proxies) is
 * "unknown": the run goes ahead, since a flaky network is no reason to skip work. Answers are
 * cached in this process per (endpoint, key fingerprint) for a few minutes, so a daemon
 * starting many runs asks once; the key itself is never kept, only a hash of it. Node's fetch
 * does not use HTTPS_PROXY: behind a mandatory proxy the probe cannot get out and says
 * "unknown".
 */
import { createHash } from "node:crypto";
import type { PreflightResult } from "./harness.js";

export type ProbeProvider = "anthropic" | "openai" | "gemini";

export interface ProbeTarget {
  provider: ProbeProvider;
  /**
   * The base URL the run's client uses (the tier's `baseUrl`, else the provider's variable
   * such as ANTHROPIC_BASE_URL or OPENAI_BASE_URL); null = the provider's public endpoint.
   */
  baseUrl: string | null;
  key: string;
  /** How the key is sent: the provider's key header (default) or `Authorization: Bearer`. */
  scheme?: "key" | "bearer";
}

export type ProbeAnswer =
  | { state: "ok"; url: string }
  /** The endpoint refused the key (401/403, or Gemini's API_KEY_INVALID): what it said. */
  | { state: "rejected"; url: string; status: number; message: string }
  /** The key could not be checked; `message` says why. */
  | { state: "unknown"; url: string; message: string };

export interface ProbeOptions {
  /**
   * Default 5 s: a probe must not hold up a run that would otherwise start. (No abort signal:
   * the request is shared by every run asking at the time, so one run's cancel must not end it.)
   */
  timeoutMs?: number;
  now?: () => number;
}

const PUBLIC_BASE: Readonly<Record<ProbeProvider, string>> = {
  anthropic: "https://api.anthropic.com",
  openai: "https://api.openai.com/v1",
  gemini: "https://generativelanguage.googleapis.com",
};

/** How long an answer holds. A failed check is repeated sooner, so a network blip passes. */
const TTL_MS: Readonly<Record<ProbeAnswer["state"], number>> = {
  ok: 5 * 60_000,
  rejected: 5 * 60_000,
  unknown: 30_000,
};
const DEFAULT_TIMEOUT_MS = 5_000;

interface CacheEntry {
  answer: Promise<ProbeAnswer>;
  /** Set once the answer is in. */
  expiresAt: number | null;
}
const cache = new Map<string, CacheEntry>();

/** Probes one endpoint with one key; concurrent and repeated probes share one request. */
export function probeAuth(target: ProbeTarget, options: ProbeOptions = {}): Promise<ProbeAnswer> {
  const now = options.now ?? Date.now;
  const url = modelListUrl(target.provider, target.baseUrl);
  const scheme = target.scheme ?? "key";
  const cacheKey = `${target.provider} ${url} ${scheme} ${fingerprint(target.key)}`;
  const cached = cache.get(cacheKey);
  if (cached && (cached.expiresAt === null || cached.expiresAt > now())) return cached.answer;

  const entry: CacheEntry = { answer: ask(target, url, scheme, options), expiresAt: null };
  cache.set(cacheKey, entry);
  void entry.answer.then((answer) => {
    entry.expiresAt = now() + TTL_MS[answer.state];
  });
  return entry.answer;
}

/** Who holds the key, for the answer's message and hint. */
export interface KeyHolder {
  harness: string;
  /** Where the key comes from: "ANTHROPIC_API_KEY", … */
  source: string;
  /** What to do when it is rejected: the variable to replace, the login command. */
  hint: string;
}

/** A probe's answer as preflight fields: rejected is LOOPD_AUTH_EXPIRED, unknown lets the run go. */
export function probedAuth(
  answer: ProbeAnswer,
  holder: KeyHolder,
): Pick<PreflightResult, "auth" | "authSource" | "authDetail" | "error"> {
  const authSource = holder.source;
  switch (answer.state) {
    case "ok":
      return { auth: "ok", authSource, authDetail: `accepted by ${answer.url}`, error: null };
    case "unknown":
      return { auth: "unknown", authSource, authDetail: `${answer.message}; runs go ahead`, error: null };
    case "rejected":
      return {
        auth: "expired",
        authSource,
        authDetail: `rejected by ${answer.url}`,
        error: {
          code: "LOOPD_AUTH_EXPIRED",
          message: `${holder.harness}: ${holder.source} was rejected by ${answer.url} (HTTP ${answer.status}${answer.message ? `: ${answer.message}` : ""})`,
          hint: holder.hint,
        },
      };
  }
}

/** The hint for a refused key: which variable to replace, or the CLI login to use instead. */
export function rejectedKeyHint(keyVar: string, orLogin: string | null): string {
  return `Replace ${keyVar} in loopd's environment (or the routine's \`secrets\`)${orLogin ? `, or unset it and ${orLogin}` : ""}; then \`loopd resume <routine>\` for each routine it paused.`;
}

/** Forgets every cached answer (tests; a key fixed in place). */
export function clearAuthProbeCache(): void {
  cache.clear();
}

/** The model-list URL for a base URL in the convention that provider's clients use. */
export function modelListUrl(provider: ProbeProvider, baseUrl: string | null): string {
  const base = (baseUrl?.trim() || PUBLIC_BASE[provider]).replace(/\/+$/, "");
  switch (provider) {
    // ANTHROPIC_BASE_URL has no /v1 (Claude Code adds it), but tiers written for SDKs often do.
    case "anthropic":
      return `${base.replace(/\/v1$/, "")}/v1/models`;
    // OpenAI bases include the version (https://api.openai.com/v1): clients append /responses.
    case "openai":
      return `${base}/models`;
    // GOOGLE_GEMINI_BASE_URL is the host; the CLI adds /v1beta.
    case "gemini":
      return `${base.replace(/\/v1(beta)?$/, "")}/v1beta/models`;
  }
}

/** The URL without credentials or query, for messages. */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return url;
  }
}

async function ask(
  target: ProbeTarget,
  url: string,
  scheme: "key" | "bearer",
  options: ProbeOptions,
): Promise<ProbeAnswer> {
  const shown = displayUrl(url);
  const timeout = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  let response: Response;
  let body: string;
  try {
    response = await fetch(url, {
      headers: headersFor(target.provider, scheme, target.key),
      signal: timeout,
      redirect: "follow",
    });
    body = await response.text();
  } catch (error) {
    const why = timeout.aborted
      ? `no answer within ${Math.round((options.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 1000)} s`
      : networkError(error);
    return { state: "unknown", url: shown, message: `could not reach ${shown} (${why})` };
  }
  const said = providerMessage(body);
  if (response.ok) return { state: "ok", url: shown };
  if (
    response.status === 401 ||
    response.status === 403 ||
    // Gemini answers a bad key with 400 INVALID_ARGUMENT, reason API_KEY_INVALID.
    (target.provider === "gemini" &&
      response.status === 400 &&
      /API_KEY_INVALID|API key not valid/i.test(body))
  ) {
    return { state: "rejected", url: shown, status: response.status, message: said };
  }
  const what =
    response.status === 404
      ? "has no model list"
      : response.status === 429
        ? "is rate limiting"
        : `answered ${response.status}`;
  return {
    state: "unknown",
    url: shown,
    message: `${shown} ${what}${said ? ` (${said})` : ""}, so the key was not checked`,
  };
}

function headersFor(provider: ProbeProvider, scheme: "key" | "bearer", key: string): Record<string, string> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (scheme === "bearer") headers.authorization = `Bearer ${key}`;
  else if (provider === "anthropic") headers["x-api-key"] = key;
  else if (provider === "gemini") headers["x-goog-api-key"] = key;
  else headers.authorization = `Bearer ${key}`;
  if (provider === "anthropic") headers["anthropic-version"] = "2023-06-01";
  return headers;
}

/**
 * What the provider said: `error.message` in Anthropic's, OpenAI's and Google's error bodies
 * (with Anthropic's `error.type`), else the start of the body.
 */
export function providerMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: unknown; message?: unknown };
    const error = parsed.error;
    if (error && typeof error === "object") {
      const { message, type, status } = error as { message?: unknown; type?: unknown; status?: unknown };
      const kind = typeof type === "string" ? type : typeof status === "string" ? status : null;
      if (typeof message === "string") return kind ? `${kind}: ${message}` : message;
    }
    if (typeof error === "string") return error;
    if (typeof parsed.message === "string") return parsed.message;
  } catch {
    // not JSON
  }
  const text = body.trim().replace(/\s+/g, " ");
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

function networkError(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } })?.cause;
  if (cause && typeof cause.code === "string") return cause.code;
  if (cause && typeof cause.message === "string") return cause.message;
  return error instanceof Error ? error.message : String(error);
}

/** A short hash of the key: enough to tell keys apart in the cache, useless to anyone else. */
function fingerprint(key: string): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 16);
}
