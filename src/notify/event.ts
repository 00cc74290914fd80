/**
 * What a notification channel delivers: one outbox event, and what came of one attempt.
 * The outbox dispatcher decides about retries from `retryable`; channels never retry
 * themselves, so one call is always one attempt and one line in `loopd deliveries`.
 */

export interface NotificationEvent {
  /** Stable `evt_…` id: the same on every retry, so receivers can dedupe on it. */
  id: string;
  /** "run.failed" | "run.succeeded" | "run.timed_out" | "run.started" | "run.skipped" | "routine.paused" | "budget.exceeded" | … */
  type: string;
  /** ISO 8601 instant the event happened. */
  at: string;
  routine: string | null;
  runId: number | null;
  /** e.g. { summary, error: { code, message }, costUsd, durationMs, attempt, reason, url } */
  payload: Record<string, unknown>;
}

export type DeliveryResult = { ok: true } | { ok: false; retryable: boolean; error: string };

export interface DeliverOptions {
  /** Per attempt; default {@link DEFAULT_DELIVERY_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** For HTTP channels; the global fetch by default. */
  fetch?: typeof fetch;
  /** For the `log` channel: where its line goes (the daemon's output); stderr by default. */
  log?: (line: string) => void;
}

/** Long enough for a slow receiver, short enough that one dead endpoint cannot stall the outbox. */
export const DEFAULT_DELIVERY_TIMEOUT_MS = 10_000;

/** The columns of an outbox row the event is built from (`store/schema.ts` OutboxTable). */
export interface OutboxEventRow {
  id: string;
  type: string;
  run_id: number | null;
  created_at: number;
  payload: string;
}

/**
 * The outbox stores `{ type, at, ...payload }` as JSON (`store/outbox.ts`); the routine's
 * name travels in the payload because rows only hold its id.
 */
export function eventFromOutboxRow(row: OutboxEventRow): NotificationEvent {
  const parsed: unknown = JSON.parse(row.payload);
  const { type: _type, at, ...payload } = isRecord(parsed) ? parsed : {};
  return {
    id: row.id,
    type: row.type,
    at: typeof at === "string" ? at : new Date(row.created_at).toISOString(),
    routine: typeof payload.routine === "string" ? payload.routine : null,
    runId: row.run_id,
    payload,
  };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
