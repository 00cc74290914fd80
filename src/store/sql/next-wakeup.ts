/**
 * When must this process look again? The earliest of: an active routine's next due time,
 * a queued run's start time, a running run's lease expiry — and for the process's other
 * timers: the outbox's next delivery (a pending row's `next_attempt_at`, a held digest's
 * `digest_until`), the oldest unsettled budget reservation, and the oldest run and finished
 * notification (whether the retention sweep has anything to look at). One round trip; the answer
 * sets the process's single timer and the delivery worker's, so an idle daemon queries
 * nothing until then.
 *
 * `touchWorker` folds the worker's "still alive" (`workers.seen_at`) into the same statement,
 * so an idle daemon's once-a-minute look is its heartbeat too: PostgreSQL runs the update in a
 * CTE next to the select; SQLite answers from the update's RETURNING (scalar subqueries are
 * allowed there). A worker row that is gone returns nothing there: then the plain read answers.
 */
import { type RawBuilder, sql } from "kysely";
import type { Db } from "../store.js";
import { FINISHED_DELIVERIES } from "./prune-runs.js";

export interface Wakeups {
  nextDueAt: number | null;
  nextQueuedAt: number | null;
  /** The earliest queued start still in the future (retry backoff, jitter, waits). */
  nextFutureQueuedAt: number | null;
  nextLeaseExpiry: number | null;
  /** When the delivery worker has something to do: what `nextDeliveryAt` answers. */
  nextDeliveryAt: number | null;
  /** The oldest budget reservation not settled yet (the stale-reservation sweep's gate). */
  oldestOpenReservationAt: number | null;
  /**
   * The retention sweep's gate: the oldest run's `queued_at` (a primary-key probe: ids grow
   * with it) and the oldest finished notification's last attempt. Both younger than
   * `runs.keepFor`: nothing can be pruned, and the sweep costs no query.
   */
  oldestRunQueuedAt: number | null;
  oldestFinishedDeliveryAt: number | null;
}

interface Row {
  due: number | string | null;
  queued: number | string | null;
  future: number | string | null;
  lease: number | string | null;
  pending: number | string | null;
  held: number | string | null;
  reserved: number | string | null;
  oldest_run: number | string | null;
  oldest_sent: number | string | null;
}

function columns(now: number): RawBuilder<unknown> {
  return sql`
      (select min(next_due_at) from routines where state = 'active') as due,
      (select min(not_before) from runs where status = 'queued') as queued,
      (select min(not_before) from runs where status = 'queued' and not_before > ${now}) as future,
      (select min(lease_until) from runs where status = 'running') as lease,
      (select min(next_attempt_at) from outbox where status = 'pending') as pending,
      (select min(digest_until) from outbox where status = 'held') as held,
      (select min(created_at) from budget_reservations where settled_at is null) as reserved,
      (select queued_at from runs order by id limit 1) as oldest_run,
      (select min(next_attempt_at) from outbox
        where status in (${sql.join(FINISHED_DELIVERIES.map((status) => sql.lit(status)))})) as oldest_sent`;
}

export async function nextWakeups(
  db: Db,
  now: number,
  options: { touchWorker?: { id: string; seenAt: number; dialect: "sqlite" | "postgres" } } = {},
): Promise<Wakeups> {
  const touch = options.touchWorker;
  let row: Row | undefined;
  if (touch?.dialect === "sqlite") {
    row = (
      await sql<Row>`update workers set seen_at = ${touch.seenAt} where id = ${touch.id}
        returning ${columns(now)}`.execute(db)
    ).rows[0];
  } else if (touch) {
    row = (
      await sql<Row>`with seen as (update workers set seen_at = ${touch.seenAt} where id = ${touch.id})
        select ${columns(now)}`.execute(db)
    ).rows[0];
  }
  row ??= (await sql<Row>`select ${columns(now)}`.execute(db)).rows[0];
  const num = (value: number | string | null | undefined) =>
    value === null || value === undefined ? null : Number(value);
  const pending = num(row?.pending);
  const held = num(row?.held);
  return {
    nextDueAt: num(row?.due),
    nextQueuedAt: num(row?.queued),
    nextFutureQueuedAt: num(row?.future),
    nextLeaseExpiry: num(row?.lease),
    nextDeliveryAt: pending === null ? held : held === null ? pending : Math.min(pending, held),
    oldestOpenReservationAt: num(row?.reserved),
    oldestRunQueuedAt: num(row?.oldest_run),
    oldestFinishedDeliveryAt: num(row?.oldest_sent),
  };
}
