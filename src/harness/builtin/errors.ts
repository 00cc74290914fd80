/**
 * Turning what the AI SDK throws into loopd's run errors: rejected credentials
 * (HTTP 401/403) are LOOPD_AUTH_EXPIRED so the routine is paused for a human, a missing key
 * is LOOPD_AUTH_MISSING, and any other API failure is LOOPD_AGENT_FAILED with its status.
 */
import { APICallError, LoadAPIKeyError, RetryError } from "ai";

export interface RunError {
  code: string;
  message: string;
}

const MAX_MESSAGE = 500;

/** The error that decided the outcome: retries wrap the last attempt's error. */
function unwrap(error: unknown): unknown {
  return RetryError.isInstance(error) ? (error.lastError ?? error) : error;
}

export function isAuthRejection(error: unknown): boolean {
  const cause = unwrap(error);
  return APICallError.isInstance(cause) && (cause.statusCode === 401 || cause.statusCode === 403);
}

export function isAbort(error: unknown): boolean {
  const cause = unwrap(error);
  return cause instanceof Error && (cause.name === "AbortError" || cause.name === "TimeoutError");
}

/** Failures a sub-agent must pass up to stop the whole run rather than report to the model. */
export function isFatal(error: unknown): boolean {
  return isAuthRejection(error) || isAbort(error) || LoadAPIKeyError.isInstance(unwrap(error));
}

export function toRunError(error: unknown, model: string): RunError {
  const cause = unwrap(error);
  if (APICallError.isInstance(cause)) {
    const status = cause.statusCode ?? "no status";
    const detail = `${model}: HTTP ${status}: ${cut(cause.message)}`;
    if (cause.statusCode === 401 || cause.statusCode === 403) {
      return { code: "LOOPD_AUTH_EXPIRED", message: `the model API rejected the credentials (${detail})` };
    }
    return { code: "LOOPD_AGENT_FAILED", message: `model API error (${detail})` };
  }
  if (LoadAPIKeyError.isInstance(cause)) return { code: "LOOPD_AUTH_MISSING", message: cut(cause.message) };
  if (isAbort(cause)) return { code: "LOOPD_AGENT_FAILED", message: "the run was aborted" };
  const message = cause instanceof Error ? cause.message : String(cause);
  return { code: "LOOPD_AGENT_FAILED", message: `${model}: ${cut(message)}` };
}

function cut(text: string): string {
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE - 1)}…` : text;
}
