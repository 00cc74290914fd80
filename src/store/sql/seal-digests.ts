/**
 * Seal: turn the held outbox rows whose digest window has ended into one pending "digest" row
 * per channel, which the delivery worker then sends like any other row. In one write
 * transaction the held rows are read (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so two daemons
 * never put one event in two digests; SQLite: `BEGIN IMMEDIATE` is the lock), the digests are
 * inserted and the held rows become "digested" (`delivered_at` = when they were sealed).
 *
 * A cheap read first decides whether the transaction is needed at all, so the worker can call
 * this at the start of every pass.
 */
import { randomUUID } from "node:crypto";
import type { Insertable } from "kysely";
import type { OutboxTable } from "../schema.js";
import type { Store } from "../store.js";

/** One event inside a digest's payload. */
export interface DigestEventEntry {
  id: string;
  type: string;
  routine: string | null;
  runId: number | null;
  summary: string | null;
  /** As the event carried it: `{ code, message }` or a string. */
  error: unknown;
  costUsd: number | null;
  at: string;
}

/** The JSON payload of a digest row (type "digest"). */
export interface DigestPayload {
  type: "digest";
  /** When the digest was sealed. */
  at: string;
  /** The earliest event's time and the window's end. */
  from: string;
  to: string;
  count: number;
  failures: number;
  costUsd: number;
  events: DigestEventEntry[];
}

export const DIGEST_EVENT_TYPE = "digest";

/** Held rows sealed per transaction; a longer backlog is sealed by the next call. */
const SEAL_LIMIT = 5000;

/** Returns the number of digest rows written. */
export async function sealDigests(store: Store, now: number): Promise<number> {
  const due = await store.db
    .selectFrom("outbox")
    .select("id")
    .where("status", "=", "held")
    .where("digest_until", "<=", now)
    .limit(1)
    .executeTakeFirst();
  if (!due) return 0;

  return store.writeTransaction(async (trx) => {
    const held = await trx
      .selectFrom("outbox")
      .select(["id", "type", "channel", "run_id", "payload", "created_at", "digest_until"])
      .where("status", "=", "held")
      .where("digest_until", "<=", now)
      .orderBy("created_at")
      .orderBy("id")
      .limit(SEAL_LIMIT)
      .$if(store.dialect === "postgres", (query) => query.forUpdate().skipLocked())
      .execute();
    if (held.length === 0) return 0;

    const byChannel = new Map<string, typeof held>();
    for (const row of held) {
      const rows = byChannel.get(row.channel);
      if (rows) rows.push(row);
      else byChannel.set(row.channel, [row]);
    }

    const digests: Array<Insertable<OutboxTable>> = [];
    for (const [channel, rows] of byChannel) {
      const events = rows.map(digestEntry);
      const failures = events.filter((entry) => isFailure(entry.type)).length;
      const costUsd = events.reduce((sum, entry) => sum + (entry.costUsd ?? 0), 0);
      const until = Math.max(...rows.map((row) => Number(row.digest_until ?? now)));
      const payload: DigestPayload = {
        type: DIGEST_EVENT_TYPE,
        at: new Date(now).toISOString(),
        from: new Date(Math.min(...rows.map((row) => Number(row.created_at)))).toISOString(),
        to: new Date(until).toISOString(),
        count: events.length,
        failures,
        // Float sums drift (0.1 + 0.2); a micro-dollar is finer than any price.
        costUsd: Math.round(costUsd * 1e6) / 1e6,
        events,
      };
      digests.push({
        id: `evt_${randomUUID()}`,
        type: DIGEST_EVENT_TYPE,
        channel,
        routine_id: null,
        run_id: null,
        payload: JSON.stringify(payload),
        status: "pending",
        next_attempt_at: now,
        created_at: now,
        digest_until: null,
      });
    }
    await trx.insertInto("outbox").values(digests).execute();
    await trx
      .updateTable("outbox")
      .set({ status: "digested", delivered_at: now })
      .where(
        "id",
        "in",
        held.map((row) => row.id),
      )
      .execute();
    return digests.length;
  });
}

function digestEntry(row: {
  id: string;
  type: string;
  run_id: number | null;
  payload: string;
  created_at: number;
}): DigestEventEntry {
  let payload: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(row.payload);
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
      payload = parsed as Record<string, unknown>;
    }
  } catch {
    // An unreadable payload still counts as an event; its row's columns say what it was.
  }
  const runId = row.run_id ?? (typeof payload.runId === "number" ? payload.runId : null);
  return {
    id: row.id,
    type: row.type,
    routine: typeof payload.routine === "string" ? payload.routine : null,
    runId: runId === null ? null : Number(runId),
    summary: typeof payload.summary === "string" ? payload.summary : null,
    error: payload.error ?? null,
    costUsd: typeof payload.costUsd === "number" ? payload.costUsd : null,
    at: typeof payload.at === "string" ? payload.at : new Date(Number(row.created_at)).toISOString(),
  };
}

/** Runs that failed or timed out (and event kinds named like failures) count as failures. */
export function isFailure(type: string): boolean {
  return type === "run.failed" || type === "run.timed_out" || /fail|error/.test(type);
}
