/**
 * Claim outbox rows for sending: pending rows whose `next_attempt_at` has come, longest-due
 * first. Claiming pushes `next_attempt_at` to the end of a lease and spends an attempt in the
 * same transaction, so there is no separate "sending" state to clean up: a sender that dies
 * mid-delivery leaves a row that simply becomes due again when the lease runs out, and the
 * attempt counter fences its late finish (`finish-delivery.ts`). On PostgreSQL the candidates
 * are locked `FOR UPDATE SKIP LOCKED`, so concurrent daemons split the due rows instead of
 * queueing behind each other; on SQLite the write transaction (`BEGIN IMMEDIATE`) is the lock.
 *
 * Rows with channel "" (an event no channel asked for, kept for `loopd deliveries`) have
 * nothing to send: they are marked delivered here, in the same transaction, not handed out.
 */
import type { Store } from "../store.js";

export interface ClaimedDelivery {
  id: string;
  type: string;
  channel: string;
  routine_id: number | null;
  run_id: number | null;
  /** JSON `{ type, at, ...payload }` as `store/outbox.ts` wrote it. */
  payload: string;
  created_at: number;
  /** This attempt's number (1 for the first send): pass it back to `finishDelivery`. */
  attempt: number;
  /** The row becomes due again at this time unless the attempt is finished first. */
  leaseUntil: number;
}

export interface ClaimDeliveriesOptions {
  now: number;
  limit: number;
  /** Longer than one delivery attempt may take (the channel timeout), or rows get sent twice. */
  leaseMs: number;
}

export interface ClaimDeliveriesResult {
  claimed: ClaimedDelivery[];
  /** Channel-less rows marked delivered by this claim. */
  settled: number;
}

export async function claimDeliveries(
  store: Store,
  options: ClaimDeliveriesOptions,
): Promise<ClaimDeliveriesResult> {
  if (options.limit <= 0) return { claimed: [], settled: 0 };
  return store.writeTransaction(async (trx) => {
    const candidates = await trx
      .selectFrom("outbox")
      .select(["id", "type", "channel", "routine_id", "run_id", "payload", "created_at", "attempts"])
      .where("status", "=", "pending")
      .where("next_attempt_at", "<=", options.now)
      // (status, next_attempt_at) is the outbox_pending index; created_at, id keep ties stable.
      .orderBy("next_attempt_at")
      .orderBy("created_at")
      .orderBy("id")
      .limit(options.limit)
      .$if(store.dialect === "postgres", (query) => query.forUpdate().skipLocked())
      .execute();
    if (candidates.length === 0) return { claimed: [], settled: 0 };

    const silent = candidates.filter((row) => row.channel === "").map((row) => row.id);
    const toSend = candidates.filter((row) => row.channel !== "");
    if (silent.length > 0) {
      await trx
        .updateTable("outbox")
        .set({ status: "delivered", delivered_at: options.now })
        .where("id", "in", silent)
        .execute();
    }
    const leaseUntil = options.now + options.leaseMs;
    if (toSend.length > 0) {
      // One statement leases the whole batch.
      await trx
        .updateTable("outbox")
        .set((eb) => ({ attempts: eb("attempts", "+", 1), next_attempt_at: leaseUntil }))
        .where(
          "id",
          "in",
          toSend.map((row) => row.id),
        )
        .execute();
    }
    return {
      settled: silent.length,
      claimed: toSend.map(({ attempts, ...row }) => ({ ...row, attempt: attempts + 1, leaseUntil })),
    };
  });
}

/**
 * When the delivery worker has something to do next: the earliest `next_attempt_at` of a
 * pending row (a claimed row's is its lease end) or `digest_until` of a held row (its digest
 * is sealed then), or null when there is neither. One read, each half an indexed min.
 */
export async function nextDeliveryAt(store: Store): Promise<number | null> {
  const row = await store.db
    .selectNoFrom((eb) => [
      eb
        .selectFrom("outbox")
        .select((inner) => inner.fn.min("next_attempt_at").as("next"))
        .where("status", "=", "pending")
        .as("pending"),
      eb
        .selectFrom("outbox")
        .select((inner) => inner.fn.min("digest_until").as("next"))
        .where("status", "=", "held")
        .as("held"),
    ])
    .executeTakeFirst();
  const times = [row?.pending, row?.held]
    .filter((value) => value !== null && value !== undefined)
    .map((value) => Number(value));
  return times.length === 0 ? null : Math.min(...times);
}
