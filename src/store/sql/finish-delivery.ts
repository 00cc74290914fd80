/**
 * Finish: record what one delivery attempt came to. The update is fenced on
 * (id, attempts = attempt, pending): a sender that outlived its lease, whose row was claimed
 * again (attempts moved on) or settled meanwhile, changes nothing. One statement, so the
 * fence and the write are atomic in both dialects without an explicit lock.
 */
import type { Store } from "../store.js";

export type DeliveryOutcome =
  | { kind: "delivered" }
  /** Try again at `at`; `error` is what this attempt saw. */
  | { kind: "retry"; at: number; error: string }
  /** Give up: the receiver refused for good, the channel is gone, or attempts ran out. */
  | { kind: "dead"; error: string };

export interface DeliveryFinish {
  id: string;
  /** The attempt number `claimDeliveries` handed out. */
  attempt: number;
  now: number;
  outcome: DeliveryOutcome;
}

/** False when the fence rejected the finish (another attempt owns the row now). */
export async function finishDelivery(store: Store, finish: DeliveryFinish): Promise<boolean> {
  const { outcome } = finish;
  const result = await store.db
    .updateTable("outbox")
    .set(
      outcome.kind === "delivered"
        ? { status: "delivered", delivered_at: finish.now }
        : outcome.kind === "retry"
          ? { next_attempt_at: outcome.at, last_error: outcome.error }
          : { status: "dead", last_error: outcome.error },
    )
    .where("id", "=", finish.id)
    .where("attempts", "=", finish.attempt)
    .where("status", "=", "pending")
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}
