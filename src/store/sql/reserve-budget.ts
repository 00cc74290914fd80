/**
 * Reserve: before a run attempt spends anything, hold its estimated cost against every cap
 * that applies, so concurrent runs cannot jointly overspend: each sees the others' open
 * reservations. A cap admits the reservation when
 *
 *   spent in its window (ledger) + open reservations in its scope + amount <= limit
 *
 * and the per-run cap when amount <= limit. One refused cap refuses the whole reservation and
 * nothing is written. The check and the insert are one serialised write transaction: SQLite's
 * BEGIN IMMEDIATE already excludes other writers; on PostgreSQL concurrent transactions would
 * each read the same totals, so they queue on an advisory lock first (settleBudget takes the
 * same lock, so a reservation never sees a run half-settled).
 *
 * Open reservations count whatever their age: a run that started yesterday spends into today's
 * window when it settles. Reservations of runs that died are released by
 * releaseStaleReservations (settle-budget.ts).
 */
import { sql } from "kysely";
import { type Cap, capWindow, isRoutineScope, withinCap } from "../../domain/budget.js";
import { spentUsd } from "../ledger.js";
import type { Db, Store } from "../store.js";

export type { Cap } from "../../domain/budget.js";

export interface ReserveRequest {
  runId: number;
  attempt: number;
  /** Null for runs whose routine is gone: only global caps can then count them. */
  routineId: number | null;
  /** The attempt's estimated cost in USD. */
  amountUsd: number;
  caps: readonly Cap[];
  now: number;
}

export type ReserveResult =
  | {
      ok: true;
      reservationId: number;
      /** Headroom left in the tightest windowed cap after this reservation; null without one. */
      remainingUsd: number | null;
    }
  | {
      ok: false;
      /** The first cap (in the order given) the reservation does not fit. */
      cap: Cap;
      /** Ledger spend in the cap's window and scope (0 for the per-run cap). */
      spentUsd: number;
      /** Open reservations in the cap's scope (0 for the per-run cap). */
      reservedUsd: number;
    };

/**
 * Serialises budget decisions on PostgreSQL until the transaction ends (SQLite's write
 * transaction already does). Reserve and settle take it; releasing stale reservations need
 * not, since it only lowers the reserved total.
 */
export async function lockBudgets(store: Store, trx: Db): Promise<void> {
  if (store.dialect === "postgres")
    await sql`select pg_advisory_xact_lock(hashtext('loopd.budget'))`.execute(trx);
}

export async function reserveBudget(store: Store, request: ReserveRequest): Promise<ReserveResult> {
  if (!Number.isFinite(request.amountUsd) || request.amountUsd < 0)
    throw new RangeError(`a reservation needs a non-negative amount, got ${request.amountUsd}`);
  return store.writeTransaction(async (trx) => {
    await lockBudgets(store, trx);
    // Routine-day and routine-month count the same open reservations: read each scope once.
    const reservedByScope = new Map<"routine" | "global", number>();

    let remainingUsd: number | null = null;
    for (const cap of request.caps) {
      const window = capWindow(cap.scope, request.now);
      if (window === null) {
        if (!withinCap(request.amountUsd, cap.limitUsd))
          return { ok: false, cap, spentUsd: 0, reservedUsd: 0 };
        continue;
      }
      const routineScoped = isRoutineScope(cap.scope);
      // A routine cap for a run without a routine has nothing to count against.
      if (routineScoped && request.routineId === null) continue;
      const spent = await spentUsd(trx, {
        ...window,
        ...(routineScoped ? { routineId: request.routineId! } : {}),
      });
      const scope = routineScoped ? "routine" : "global";
      const held =
        reservedByScope.get(scope) ??
        (await reservedUsd(trx, routineScoped ? request.routineId! : undefined));
      reservedByScope.set(scope, held);
      const total = spent + held + request.amountUsd;
      if (!withinCap(total, cap.limitUsd)) return { ok: false, cap, spentUsd: spent, reservedUsd: held };
      remainingUsd = Math.min(remainingUsd ?? Number.POSITIVE_INFINITY, Math.max(0, cap.limitUsd - total));
    }

    return { ok: true, reservationId: await insertReservation(trx, request), remainingUsd };
  });
}

/** USD held by open (unsettled) reservations, of one routine or of all. */
export async function reservedUsd(db: Db, routineId?: number): Promise<number> {
  const row = await db
    .selectFrom("budget_reservations")
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>("amount_usd"), eb.lit(0)).as("reserved"))
    .where("settled_at", "is", null)
    .$if(routineId !== undefined, (query) => query.where("routine_id", "=", routineId!))
    .executeTakeFirstOrThrow();
  return Number(row.reserved);
}

/**
 * An open reservation (a run attempt's estimate, or one model request's hold — meter-request.ts),
 * inside the caller's serialised transaction, after its caps admitted it.
 */
export async function insertReservation(
  trx: Db,
  hold: { runId: number; attempt: number; routineId: number | null; amountUsd: number; now: number },
): Promise<number> {
  const row = await trx
    .insertInto("budget_reservations")
    .values({
      run_id: hold.runId,
      attempt: hold.attempt,
      routine_id: hold.routineId,
      amount_usd: hold.amountUsd,
      created_at: hold.now,
      settled_at: null,
      actual_usd: null,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return row.id;
}
