/**
 * Reading and repairing the outbox for `loopd deliveries`: list rows (newest first), count
 * them by status, and send a row again by hand. Sending itself is `sql/claim-deliveries.ts`
 * and `sql/finish-delivery.ts`.
 */
import type { Selectable } from "kysely";
import type { DeliveryStatus } from "../domain/delivery-status.js";
import type { OutboxTable } from "./schema.js";
import type { Db } from "./store.js";

export interface Delivery {
  id: string;
  type: string;
  channel: string;
  routineId: number | null;
  /** From the event payload: rows only hold the id, and the routine may be gone since. */
  routineName: string | null;
  runId: number | null;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  createdAt: number;
  /** A "digested" row: when it was sealed into its digest. */
  deliveredAt: number | null;
  /** A "held" row: the end of its digest window, when it goes out inside one message. */
  digestUntil: number | null;
}

export interface DeliveryFilter {
  status?: DeliveryStatus;
  /** Dead rows, and pending rows that have failed at least once (still retrying). */
  failedOnly?: boolean;
  limit?: number;
}

export async function listDeliveries(db: Db, filter: DeliveryFilter = {}): Promise<Delivery[]> {
  const rows = await db
    .selectFrom("outbox")
    .selectAll()
    .$if(filter.status !== undefined, (query) => query.where("status", "=", filter.status!))
    .$if(filter.failedOnly === true, (query) =>
      query.where((eb) =>
        eb.or([
          eb("status", "=", "dead"),
          eb.and([eb("status", "=", "pending"), eb("last_error", "is not", null)]),
        ]),
      ),
    )
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .limit(filter.limit ?? 50)
    .execute();
  return rows.map(toDelivery);
}

/**
 * One row by its full id, or by a unique prefix (the CLI shows ids shortened; "evt_" may be
 * left out). `ambiguous` lists the candidates when a prefix matches several.
 */
export async function findDelivery(
  db: Db,
  idOrPrefix: string,
): Promise<{ delivery: Delivery | undefined; ambiguous: string[] }> {
  const prefix = idOrPrefix.startsWith("evt_") ? idOrPrefix : `evt_${idOrPrefix}`;
  // substr instead of LIKE: "_" in "evt_" would be a LIKE wildcard.
  const rows = await db
    .selectFrom("outbox")
    .selectAll()
    .where((eb) => eb(eb.fn("substr", ["id", eb.val(1), eb.val(prefix.length)]), "=", prefix))
    .orderBy("id")
    .limit(10)
    .execute();
  const exact = rows.find((row) => row.id === prefix);
  if (exact) return { delivery: toDelivery(exact), ambiguous: [] };
  if (rows.length === 1) return { delivery: toDelivery(rows[0]!), ambiguous: [] };
  return { delivery: undefined, ambiguous: rows.map((row) => row.id) };
}

/**
 * Makes a pending or dead row due now. A dead row starts a fresh schedule (attempts back to
 * 0, so it gets the full set of retries), and the history goes into `last_error`; a pending
 * row keeps its attempt count, because a sender may hold it and finishes fenced on that count.
 * Returns the row as it is afterwards, or undefined when there is no such row; a delivered,
 * held or digested row is returned unchanged (the caller decides whether that is an error):
 * held and digested rows are sent inside their digest, never on their own.
 */
export async function retryDelivery(db: Db, id: string, now: number): Promise<Delivery | undefined> {
  const row = await db.selectFrom("outbox").selectAll().where("id", "=", id).executeTakeFirst();
  if (!row) return undefined;
  if (row.status !== "pending" && row.status !== "dead") return toDelivery(row);
  const history = `retried by hand after ${row.attempts} attempt(s)${row.last_error ? `; last error: ${row.last_error}` : ""}`;
  await db
    .updateTable("outbox")
    .set(
      row.status === "dead"
        ? { status: "pending", attempts: 0, next_attempt_at: now, last_error: history }
        : { next_attempt_at: now, last_error: history },
    )
    .where("id", "=", id)
    // Unchanged since it was read: a concurrent sender's finish wins, and we report its result.
    .where("status", "=", row.status)
    .where("attempts", "=", row.attempts)
    .execute();
  const after = await db.selectFrom("outbox").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
  return toDelivery(after);
}

export async function countDeliveriesByStatus(db: Db): Promise<Record<DeliveryStatus, number>> {
  const rows = await db
    .selectFrom("outbox")
    .select(["status", (eb) => eb.fn.countAll<number>().as("count")])
    .groupBy("status")
    .execute();
  const counts: Record<DeliveryStatus, number> = {
    pending: 0,
    delivered: 0,
    dead: 0,
    held: 0,
    digested: 0,
  };
  for (const row of rows) counts[row.status] = Number(row.count);
  return counts;
}

function toDelivery(row: Selectable<OutboxTable>): Delivery {
  return {
    id: row.id,
    type: row.type,
    channel: row.channel,
    routineId: row.routine_id,
    routineName: routineNameOf(row.payload),
    runId: row.run_id,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: Number(row.next_attempt_at),
    lastError: row.last_error,
    createdAt: Number(row.created_at),
    deliveredAt: row.delivered_at === null ? null : Number(row.delivered_at),
    digestUntil: row.digest_until === null ? null : Number(row.digest_until),
  };
}

function routineNameOf(payload: string): string | null {
  try {
    const parsed = JSON.parse(payload) as { routine?: unknown };
    return typeof parsed.routine === "string" ? parsed.routine : null;
  } catch {
    return null;
  }
}
