/**
 * The stable JSON shape of a run's log events, shared by `loopd logs --json`, `run --wait
 * --json`, the HTTP API (list and SSE), MCP and the dashboard — the same conventions as the
 * views in views.ts: `at` is an ISO-8601 UTC time, and `data` is structured, never JSON
 * inside JSON: an output line (`type: "log"`) is its text, every other event its object.
 */
import type { z } from "zod";
import type { RunEvent } from "../domain/run-event.js";
import type { RunEventViewSchema } from "./view-schemas.js";

export type RunEventView = z.infer<typeof RunEventViewSchema>;

export function runEventView(event: RunEvent): RunEventView {
  return {
    id: event.id,
    runId: event.runId,
    attempt: event.attempt,
    at: new Date(event.at).toISOString(),
    type: event.type,
    stream: event.stream,
    data: event.type === "log" ? event.data : structured(event.data),
  };
}

/** Stored as JSON text; an event written before that rule (or not an object) stays text. */
function structured(text: string): string | Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : text;
  } catch {
    return text;
  }
}
