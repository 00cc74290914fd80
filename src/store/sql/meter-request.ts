/**
 * Metering one model request of a gateway-metered attempt (src/engine/metering.ts): admit
 * holds the request's bounded estimate, record replaces the hold with what it cost.
 *
 * Holds. Open rows of budget_reservations are the attempts' reservations (reserveBudget's
 * estimate, lowered by what the attempt has spent since: the part not yet in the ledger) and
 * one hold per request in flight (its estimate: body size priced as input + its output
 * ceiling, an upper bound of what it can cost).
 *
 * Admission. A request is admitted while every cap has headroom left:
 *
 *   spent + held < limit
 *
 * spent: the cap's ledger window (the per-run cap: this attempt's rows); held: every open
 * reservation and hold in its scope except this attempt's own reservation (which its requests
 * draw from; their cost is in the ledger). The check and the hold's insert are one serialised
 * transaction (SQLite's BEGIN IMMEDIATE; the budget advisory lock on PostgreSQL, as reserve
 * and settle take), and record closes the hold, appends the ledger row and lowers the
 * attempt's reservation in one transaction.
 *
 * Invariant: a cap is exceeded by less than one request, however many attempts run at once.
 * Take the last request admitted against it: at its admission everything admitted before was
 * either spent or held at no less than its cost, and spent + held < limit; so the final spend
 * is below limit + its own cost. Requests are not refused for their estimate alone (a Claude
 * request's 32k-token ceiling would refuse a $0.05 run its first request); the estimate is
 * what every concurrent admission counts it at.
 *
 * Holds of attempts that died are closed by releaseStaleReservations (settle-budget.ts) like
 * their reservations, and by closeRequestHolds when the attempt ends.
 */
import { sql } from "kysely";
import { type Cap, capWindow, isRoutineScope, withinCap } from "../../domain/budget.js";
import { type LedgerEntry, recordLedger, spentUsd } from "../ledger.js";
import type { Db, Store } from "../store.js";
import { insertReservation, lockBudgets } from "./reserve-budget.js";

export interface AdmitRequest {
  runId: number;
  attempt: number;
  routineId: number | null;
  /** The attempt's own reservation (reserveBudget), left out of what its requests compete with. */
  attemptReservationId: number | null;
  /** The request's bounded estimate, USD. */
  amountUsd: number;
  caps: readonly Cap[];
  /** The routine's spend-velocity limit (USD in the last minute); null = none. */
  velocity: { limitUsd: number; windowMs: number } | null;
  now: number;
}

export type AdmitResult =
  | { ok: true; holdId: number }
  | { ok: false; kind: "cap"; cap: Cap; spentUsd: number; reservedUsd: number }
  | { ok: false; kind: "velocity"; limitUsd: number; spentUsd: number };

export async function admitRequest(store: Store, request: AdmitRequest): Promise<AdmitResult> {
  if (!Number.isFinite(request.amountUsd) || request.amountUsd < 0)
    throw new RangeError(`a request hold needs a non-negative amount, got ${request.amountUsd}`);
  return store.writeTransaction(async (trx) => {
    await lockBudgets(store, trx);
    if (request.velocity && request.routineId !== null) {
      const recent = await spentUsd(trx, {
        routineId: request.routineId,
        from: request.now - request.velocity.windowMs,
        to: request.now + 1,
      });
      if (!withinCap(recent, request.velocity.limitUsd))
        return { ok: false, kind: "velocity", limitUsd: request.velocity.limitUsd, spentUsd: recent };
    }
    const heldByScope = new Map<"routine" | "global", number>();
    for (const cap of request.caps) {
      const window = capWindow(cap.scope, request.now);
      let spent: number;
      let held: number;
      if (window === null) {
        spent = await attemptSpentUsd(trx, request.runId, request.attempt);
        held = await openHoldsUsd(trx, {
          runId: request.runId,
          attempt: request.attempt,
          except: request.attemptReservationId,
        });
      } else {
        const routineScoped = isRoutineScope(cap.scope);
        if (routineScoped && request.routineId === null) continue;
        spent = await spentUsd(trx, {
          ...window,
          ...(routineScoped ? { routineId: request.routineId! } : {}),
        });
        const scope = routineScoped ? "routine" : "global";
        held =
          heldByScope.get(scope) ??
          (await openHoldsUsd(trx, {
            ...(routineScoped ? { routineId: request.routineId! } : {}),
            except: request.attemptReservationId,
          }));
        heldByScope.set(scope, held);
      }
      if (!hasHeadroom(spent + held, cap.limitUsd))
        return { ok: false, kind: "cap", cap, spentUsd: spent, reservedUsd: held };
    }
    return { ok: true, holdId: await insertReservation(trx, request) };
  });
}

export interface RecordRequest {
  /** The hold admit made; null when the request was never held (its hold is unknown). */
  holdId: number | null;
  attemptReservationId: number | null;
  /** The request's ledger row; null when the response carried no usage (nothing spent). */
  entry: LedgerEntry | null;
  now: number;
}

/** Closes the hold, appends the ledger row and draws the cost from the attempt's reservation. */
export async function recordRequest(store: Store, request: RecordRequest): Promise<void> {
  const costUsd = request.entry?.costUsd ?? 0;
  await store.writeTransaction(async (trx) => {
    await lockBudgets(store, trx);
    if (request.holdId !== null) {
      const hold = await trx
        .selectFrom("budget_reservations")
        .select("actual_usd")
        .where("id", "=", request.holdId)
        .$if(store.dialect === "postgres", (query) => query.forUpdate())
        .executeTakeFirst();
      // Recorded already (a retried record): the ledger has the row.
      if (hold && hold.actual_usd !== null) return;
      await trx
        .updateTable("budget_reservations")
        .set({ settled_at: request.now, actual_usd: costUsd })
        .where("id", "=", request.holdId)
        .execute();
    }
    if (request.entry) await recordLedger(trx, [request.entry]);
    if (request.attemptReservationId !== null && costUsd > 0) {
      await trx
        .updateTable("budget_reservations")
        .set({
          amount_usd: sql<number>`case when amount_usd > ${costUsd} then amount_usd - ${costUsd} else 0 end`,
        })
        .where("id", "=", request.attemptReservationId)
        .where("settled_at", "is", null)
        .execute();
    }
  });
}

/**
 * Closes the holds an attempt still has open (requests cut off without a record yet). Like a
 * stale release, `actual_usd` stays null: a record that arrives later still writes its row.
 */
export async function closeRequestHolds(
  store: Store,
  attempt: { runId: number; attempt: number; except: number | null; now: number },
): Promise<void> {
  await store.db
    .updateTable("budget_reservations")
    .set({ settled_at: attempt.now })
    .where("run_id", "=", attempt.runId)
    .where("attempt", "=", attempt.attempt)
    .where("settled_at", "is", null)
    .$if(attempt.except !== null, (query) => query.where("id", "!=", attempt.except!))
    .execute();
}

/** Whether something is left: spent + held < limit, forgiving float rounding (withinCap's epsilon). */
function hasHeadroom(usedUsd: number, limitUsd: number): boolean {
  return !withinCap(limitUsd, usedUsd);
}

/** USD in the ledger for one attempt of a run. */
export async function attemptSpentUsd(db: Db, runId: number, attempt: number): Promise<number> {
  const row = await db
    .selectFrom("ledger")
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>("cost_usd"), eb.lit(0)).as("spent"))
    .where("run_id", "=", runId)
    .where("attempt", "=", attempt)
    .executeTakeFirstOrThrow();
  return Number(row.spent);
}

/** Open reservations and holds (of a routine, of one attempt, or all), less one reservation. */
async function openHoldsUsd(
  db: Db,
  scope: { routineId?: number; runId?: number; attempt?: number; except: number | null },
): Promise<number> {
  const row = await db
    .selectFrom("budget_reservations")
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>("amount_usd"), eb.lit(0)).as("held"))
    .where("settled_at", "is", null)
    .$if(scope.routineId !== undefined, (query) => query.where("routine_id", "=", scope.routineId!))
    .$if(scope.runId !== undefined, (query) =>
      query.where("run_id", "=", scope.runId!).where("attempt", "=", scope.attempt!),
    )
    .$if(scope.except !== null, (query) => query.where("id", "!=", scope.except!))
    .execute()
    .then((rows) => rows[0]!);
  return Number(row.held);
}

/**
 * How the run's spend was counted, and for a gateway-metered attempt what its harness reported
 * (added up over attempts, like the run's own totals).
 */
export async function recordRunMetering(
  db: Db,
  run: {
    runId: number;
    metering: "gateway" | "reported";
    reported: { tokensIn: number; tokensOut: number; tokensCached: number; costUsd: number } | null;
  },
): Promise<void> {
  const add = (column: string, value: number) => sql<number>`coalesce(${sql.ref(column)}, 0) + ${value}`;
  await db
    .updateTable("runs")
    .set({
      metering: run.metering,
      ...(run.reported
        ? {
            reported_tokens_in: add("reported_tokens_in", run.reported.tokensIn),
            reported_tokens_out: add("reported_tokens_out", run.reported.tokensOut),
            reported_tokens_cached: add("reported_tokens_cached", run.reported.tokensCached),
            reported_cost_usd: add("reported_cost_usd", run.reported.costUsd),
          }
        : {}),
    })
    .where("id", "=", run.runId)
    .execute();
}

export interface RunMetering {
  metering: "gateway" | "reported" | null;
  /** A gateway-metered run's own report from its harness; null otherwise. */
  reported: { tokensIn: number; tokensOut: number; tokensCached: number; costUsd: number } | null;
}

export async function findRunMetering(db: Db, runId: number): Promise<RunMetering> {
  const row = await db
    .selectFrom("runs")
    .select([
      "metering",
      "reported_tokens_in",
      "reported_tokens_out",
      "reported_tokens_cached",
      "reported_cost_usd",
    ])
    .where("id", "=", runId)
    .executeTakeFirst();
  const metering = row?.metering === "gateway" || row?.metering === "reported" ? row.metering : null;
  if (!row || metering !== "gateway" || row.reported_cost_usd === null) return { metering, reported: null };
  return {
    metering,
    reported: {
      tokensIn: Number(row.reported_tokens_in ?? 0),
      tokensOut: Number(row.reported_tokens_out ?? 0),
      tokensCached: Number(row.reported_tokens_cached ?? 0),
      costUsd: Number(row.reported_cost_usd),
    },
  };
}
