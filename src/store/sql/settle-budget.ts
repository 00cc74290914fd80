/**
 * Settle: when a run attempt ends, its reservation gives way to what it really cost. The
 * ledger rows (which carry the cost that caps count) and the reservation's closing are one
 * transaction, so a concurrent reservation sees either the estimate or the actual cost,
 * never both and never neither.
 *
 * Release: a reservation whose run died (its attempt no longer running) would hold budget
 * forever. Releasing closes it with no actual cost (`settled_at` set, `actual_usd` null) and
 * keeps the row, so a worker that was only presumed dead can still settle it later ("late"):
 * money that was spent always reaches the ledger, and a repeated settle never counts twice.
 */
import { sql } from "kysely";
import { type LedgerEntry, recordLedger } from "../ledger.js";
import type { Store } from "../store.js";
import { lockBudgets } from "./reserve-budget.js";

export interface SettleRequest {
  reservationId: number;
  /** What the attempt cost, kept on the reservation; default the ledger rows' sum. */
  actualUsd?: number;
  now: number;
  /** The attempt's spend, one row per model; may be empty (a run that never called a model). */
  ledger: readonly LedgerEntry[];
}

/**
 * settled: an open reservation closed. late: one already released as stale, settled now.
 * duplicate: already settled; nothing written (a retried settle).
 */
export type SettleOutcome = "settled" | "late" | "duplicate";

export async function settleBudget(store: Store, request: SettleRequest): Promise<SettleOutcome> {
  const actualUsd = request.actualUsd ?? request.ledger.reduce((sum, entry) => sum + entry.costUsd, 0);
  return store.writeTransaction(async (trx) => {
    await lockBudgets(store, trx);
    const reservation = await trx
      .selectFrom("budget_reservations")
      .select(["settled_at", "actual_usd"])
      .where("id", "=", request.reservationId)
      // Release does not take the budget lock; the row lock orders it against this settle.
      .$if(store.dialect === "postgres", (query) => query.forUpdate())
      .executeTakeFirst();
    if (!reservation) throw new Error(`no budget reservation ${request.reservationId}`);
    if (reservation.actual_usd !== null) return "duplicate";
    await trx
      .updateTable("budget_reservations")
      .set({ settled_at: request.now, actual_usd: actualUsd })
      .where("id", "=", request.reservationId)
      .execute();
    await recordLedger(trx, request.ledger);
    return reservation.settled_at === null ? "settled" : "late";
  });
}

export interface ReleaseOptions {
  /**
   * Only reservations made before this instant. The grace period covers the moment between a
   * run finishing and its worker settling, when the run is no longer running but the
   * reservation is about to be settled properly.
   */
  createdBefore: number;
  now: number;
}

/** Releases open reservations whose attempt is no longer running; returns their ids. */
export async function releaseStaleReservations(store: Store, options: ReleaseOptions): Promise<number[]> {
  return store.writeTransaction(async (trx) => {
    const released = await trx
      .updateTable("budget_reservations")
      .set({ settled_at: options.now })
      .where("settled_at", "is", null)
      .where("created_at", "<", options.createdBefore)
      // Its run finished, was removed, or was recovered and runs again as a later attempt.
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom("runs")
              .select(sql.lit(1).as("one"))
              .whereRef("runs.id", "=", "budget_reservations.run_id")
              .whereRef("runs.attempt", "=", "budget_reservations.attempt")
              .where("runs.status", "=", "running"),
          ),
        ),
      )
      .returning("id")
      .execute();
    return released.map((row) => row.id).sort((a, b) => a - b);
  });
}
