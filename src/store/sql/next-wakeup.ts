/**
 * When must this process look again? The earliest of: an active routine's next due time,
 * a queued run's start time, a running run's lease expiry. One round trip; the answer
 * sets the process's single timer, so an idle daemon queries nothing until then.
 */
import { sql } from "kysely";
import type { Db } from "../store.js";

export interface Wakeups {
  nextDueAt: number | null;
  nextQueuedAt: number | null;
  /** The earliest queued start still in the future (retry backoff, jitter, waits). */
  nextFutureQueuedAt: number | null;
  nextLeaseExpiry: number | null;
}

export async function nextWakeups(db: Db, now: number): Promise<Wakeups> {
  const { rows } = await sql<{
    due: number | null;
    queued: number | null;
    future: number | null;
    lease: number | null;
  }>`
    select
      (select min(next_due_at) from routines where state = 'active') as due,
      (select min(not_before) from runs where status = 'queued') as queued,
      (select min(not_before) from runs where status = 'queued' and not_before > ${now}) as future,
      (select min(lease_until) from runs where status = 'running') as lease`.execute(db);
  const row = rows[0];
  const num = (value: number | string | null | undefined) =>
    value === null || value === undefined ? null : Number(value);
  return {
    nextDueAt: num(row?.due),
    nextQueuedAt: num(row?.queued),
    nextFutureQueuedAt: num(row?.future),
    nextLeaseExpiry: num(row?.lease),
  };
}
