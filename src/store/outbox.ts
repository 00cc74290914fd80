/**
 * Notification events, written in the same transaction as the state change that causes
 * them, one row per channel that asked for the event (delivery is the notifications
 * issue's). With no channel asking, the event is still recorded with channel "" so the
 * dashboard and `loopd deliveries` can show it.
 */
import { randomUUID } from "node:crypto";
import type { NotifyEvent } from "../domain/config-schema.js";
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
  const channels = [
    ...new Set(
      event.notify.filter((rule) => rule.on.some((on) => kinds.includes(on))).flatMap((rule) => rule.to),
    ),
  ];
  const payload = JSON.stringify({
    type: event.type,
    at: new Date(event.now).toISOString(),
    ...event.payload,
  });
  await db
    .insertInto("outbox")
    .values(
      (channels.length > 0 ? channels : [""]).map((channel) => ({
        id: `evt_${randomUUID()}`,
        type: event.type,
        channel,
        routine_id: event.routineId,
        run_id: event.runId,
        payload,
        status: "pending" as const,
        next_attempt_at: event.now,
        created_at: event.now,
      })),
    )
    .execute();
}
