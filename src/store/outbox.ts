/**
 * Notification events, written in the same transaction as the state change that causes
 * them, one row per channel that asked for the event (delivery is the notifications
 * issue's). With no channel asking, the event is still recorded with channel "" so the
 * dashboard and `loopd deliveries` can show it.
 *
 * Digests: when every rule that sends this event to a channel says `digest: <interval>`,
 * that channel's row is written "held" until the end of the current window (windows are
 * aligned to the epoch, so `30m` windows end on :00 and :30 UTC; the shortest interval among
 * those rules wins). `sql/seal-digests.ts` turns a window's held rows into one message.
 */
import { randomUUID } from "node:crypto";
import type { NotifyEvent } from "../domain/config-schema.js";
import { parseDuration } from "../domain/duration.js";
import type { NotifyRuleSpec } from "../domain/routine-spec.js";
import type { Db } from "./store.js";

export interface OutboxEvent {
  type: string;
  /** The routine's notify rules decide the channels: a rule asking for any of these kinds. */
  kind: NotifyEvent | readonly NotifyEvent[];
  routineId: number | null;
  runId: number | null;
  payload: Record<string, unknown>;
  notify: readonly NotifyRuleSpec[];
  now: number;
}

export async function enqueueEvent(db: Db, event: OutboxEvent): Promise<void> {
  const kinds: readonly NotifyEvent[] = typeof event.kind === "string" ? [event.kind] : event.kind;
  const matching = event.notify.filter((rule) => rule.on.some((on) => kinds.includes(on)));
  const channels = [...new Set(matching.flatMap((rule) => rule.to))];
  const payload = JSON.stringify({
    type: event.type,
    at: new Date(event.now).toISOString(),
    ...event.payload,
  });
  await db
    .insertInto("outbox")
    .values(
      (channels.length > 0 ? channels : [""]).map((channel) => {
        const digestMs = channel === "" ? null : digestIntervalMs(matching, channel);
        const digestUntil = digestMs === null ? null : digestWindowEnd(event.now, digestMs);
        return {
          id: `evt_${randomUUID()}`,
          type: event.type,
          channel,
          routine_id: event.routineId,
          run_id: event.runId,
          payload,
          status: digestUntil === null ? ("pending" as const) : ("held" as const),
          // A held row is not claimed; its next_attempt_at only says when it stops waiting.
          next_attempt_at: digestUntil ?? event.now,
          created_at: event.now,
          digest_until: digestUntil,
        };
      }),
    )
    .execute();
}

/**
 * The digest interval for one channel: the shortest `digest` among the matching rules that
 * send to it, or null (send at once) when any of them has no digest, or one is unreadable.
 */
export function digestIntervalMs(rules: readonly NotifyRuleSpec[], channel: string): number | null {
  let shortest: number | null = null;
  for (const rule of rules) {
    if (!rule.to.includes(channel)) continue;
    if (rule.digest === undefined) return null;
    const parsed = parseDuration(rule.digest);
    if (!parsed.ok) return null;
    shortest = shortest === null ? parsed.ms : Math.min(shortest, parsed.ms);
  }
  return shortest;
}

/**
 * The end of the aligned window `now` falls in. An event exactly on a boundary opens the next
 * window rather than closing the last one, so it is never sealed the instant it is written.
 */
export function digestWindowEnd(now: number, intervalMs: number): number {
  return Math.floor(now / intervalMs) * intervalMs + intervalMs;
}
