/** Keeping secrets out of the store: every event, summary and error of a run goes through its redactor. */
import type { HarnessEvent, HarnessResult } from "../harness/harness.js";

export function redactEvent(event: HarnessEvent, redact: (text: string) => string): HarnessEvent {
  if (event.type === "log") return { ...event, line: redact(event.line) };
  return { type: event.type, data: redactDeep(event.data, redact) };
}

export function redactDeep(value: unknown, redact: (text: string) => string): unknown {
  if (typeof value === "string") return redact(value);
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, redact));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactDeep(item, redact)]));
  }
  return value;
}

export function redactResult(result: HarnessResult, redact: (text: string) => string): HarnessResult {
  return {
    ...result,
    summary: result.summary === null ? null : redact(result.summary),
    error: result.error ? { ...result.error, message: redact(result.error.message) } : null,
    ...(result.finalMessage ? { finalMessage: redact(result.finalMessage) } : {}),
  };
}

export function redactError<T extends { message: string }>(
  error: T | null,
  redact: (text: string) => string,
): T | null {
  return error ? { ...error, message: redact(error.message) } : null;
}
