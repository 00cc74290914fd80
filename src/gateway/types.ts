/**
 * The metering gateway's contract (issue 19). One loopback HTTP server per process that runs
 * attempts; each attempt registers as a tenant and gets, for every upstream model endpoint it
 * may use, a base URL of the form `http://127.0.0.1:<port>/m/<secret>/<n>` that stands in for
 * that upstream. The gateway forwards each request unchanged (headers, auth, streamed bodies),
 * reads the usage out of the response (JSON or SSE; Anthropic, OpenAI Responses, Chat
 * Completions, Gemini), and reports it to the tenant as the request completes. The engine owns
 * the tenant (ledger writes, caps); the gateway knows nothing about the store.
 */
import type { TokenUsage } from "../domain/run-report.js";

/** The response shapes the gateway can read usage from. */
export type WireFormat = "anthropic" | "openai-responses" | "openai-chat" | "gemini" | "unknown";

/** What the gateway saw of a request before forwarding it. */
export interface MeteredRequest {
  format: WireFormat;
  /** The model the request names (body `model`, or Gemini's `/models/<id>:…` path). */
  model: string | null;
  /** `max_tokens` / `max_output_tokens` / `maxOutputTokens` / `max_completion_tokens`, if any. */
  maxOutputTokens: number | null;
  /** Size of the request body in bytes: a bound on its prompt tokens (≈ bytes / 4, priced as input). */
  bodyBytes: number;
  stream: boolean;
  method: string;
  /** Path below the upstream base, e.g. `/v1/messages`. */
  path: string;
}

/** What was read out of the response once it completed (or was cut off). */
export interface MeteredResponse {
  status: number;
  /** The model the response names, else the request's. */
  model: string | null;
  /** Null when the response carried no usage (errors, model lists, a stream cut before usage). */
  usage: TokenUsage | null;
  /** Time from the request's arrival to the end of the response, ms. */
  durationMs: number;
  /** The client went away or the upstream failed mid-response. */
  aborted: boolean;
}

export type Admission =
  | { ok: true }
  /**
   * Refused: the gateway answers in the upstream format's own error shape with a status the
   * agents do not retry, so the agent stops cleanly; the tenant stops the run.
   */
  | { ok: false; code: string; message: string };

/** One attempt's side of the gateway; implemented by the engine. */
export interface GatewayTenant {
  /** Called before forwarding; over a cap it refuses. Calls for one tenant may overlap. */
  admit(request: MeteredRequest): Promise<Admission>;
  /** Called once per admitted request, after its response completed or was cut off. */
  record(request: MeteredRequest, response: MeteredResponse): Promise<void>;
}

export interface GatewayRegistration {
  /**
   * The base URL that stands in for `upstream` (same path semantics: append what you would
   * have). It keeps the upstream's path: `http://h/v1` → `http://127.0.0.1:P/m/<secret>/0/v1`,
   * and the gateway forwards `/m/<secret>/0` + rest to the upstream's origin + rest. So a
   * harness that strips `/v1` (Claude Code) or `/v1beta` (Gemini CLI) from its base URL and adds
   * it back per request still reaches the right upstream path. Throws for an upstream that was
   * not registered.
   */
  baseUrl(upstream: string): string;
  /** Forget the tenant: later requests with its secret get 403. In-flight requests finish. */
  close(): void;
}

export interface GatewayOptions {
  /**
   * A tenant callback threw, or forwarding failed in a way the client was told about (502/500
   * in the provider's shape). The gateway keeps serving; this is for the log.
   */
  onError?(error: unknown, context: { phase: "admit" | "record" | "forward"; path: string }): void;
}

export interface MeteringGateway {
  readonly port: number;
  /**
   * Registers an attempt. `upstreams` are the base URLs the attempt's harness would otherwise
   * call (e.g. `https://api.anthropic.com`, `http://127.0.0.1:4000/v1`).
   */
  register(tenant: GatewayTenant, upstreams: readonly string[]): GatewayRegistration;
  close(): Promise<void>;
}
