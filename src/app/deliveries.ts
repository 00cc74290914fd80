/** Use-cases on notification deliveries (the outbox): list them, send one again by hand. */
import type { z } from "zod";
import type { DeliveryStatus } from "../domain/delivery-status.js";
import { LoopdError } from "../domain/errors.js";
import {
  countDeliveriesByStatus,
  type Delivery,
  findDelivery,
  listDeliveries,
  retryDelivery,
} from "../store/deliveries.js";
import type { Store } from "../store/store.js";
import type { DeliveryViewSchema } from "./view-schemas.js";

/** One delivery as `--json` and the API show it (view-schemas.ts declares the shape). */
export type DeliveryView = z.infer<typeof DeliveryViewSchema>;

export function deliveryView(delivery: Delivery): DeliveryView {
  return {
    id: delivery.id,
    type: delivery.type,
    channel: delivery.channel,
    routine: delivery.routineName,
    runId: delivery.runId,
    status: delivery.status,
    attempts: delivery.attempts,
    nextAttemptAt: delivery.status === "pending" ? iso(delivery.nextAttemptAt) : null,
    deliveredAt: delivery.deliveredAt === null ? null : iso(delivery.deliveredAt),
    digestUntil:
      delivery.status === "held" && delivery.digestUntil !== null ? iso(delivery.digestUntil) : null,
    lastError: delivery.lastError,
    createdAt: iso(delivery.createdAt),
  };
}

export async function listDeliveryViews(
  store: Store,
  options: { failed?: boolean; limit?: number },
): Promise<DeliveryView[]> {
  const deliveries = await listDeliveries(store.db, {
    failedOnly: options.failed === true,
    limit: options.limit ?? 20,
  });
  return deliveries.map(deliveryView);
}

export function deliveryCounts(store: Store): Promise<Record<DeliveryStatus, number>> {
  return countDeliveriesByStatus(store.db);
}

/** Makes a pending or dead delivery due now; `idOrPrefix` may be the short id the table shows. */
export async function retryDeliveryById(
  store: Store,
  idOrPrefix: string,
  now: number,
): Promise<DeliveryView> {
  const { delivery, ambiguous } = await findDelivery(store.db, idOrPrefix);
  if (ambiguous.length > 1) {
    throw new LoopdError("LOOPD_USAGE", `"${idOrPrefix}" matches ${ambiguous.length} deliveries`, {
      hint: `Give more of the id, e.g. ${ambiguous[0]}.`,
    });
  }
  if (!delivery) {
    throw new LoopdError("LOOPD_NOT_FOUND", `no delivery ${idOrPrefix}`, {
      hint: "Run `loopd deliveries` to see delivery ids (`--failed` for the ones that need a retry).",
    });
  }
  if (delivery.status === "delivered") {
    throw new LoopdError("LOOPD_USAGE", `delivery ${delivery.id} was already delivered`, {
      hint: "Only pending or dead deliveries can be retried.",
    });
  }
  if (delivery.status === "held" || delivery.status === "digested") {
    throw new LoopdError(
      "LOOPD_USAGE",
      delivery.status === "held"
        ? `delivery ${delivery.id} is held for a digest${delivery.digestUntil === null ? "" : ` until ${iso(delivery.digestUntil)}`}`
        : `delivery ${delivery.id} was sent as part of a digest`,
      {
        hint: "Events of a rule with `digest:` go out inside one digest message; retry the digest row (type digest) instead.",
      },
    );
  }
  const after = await retryDelivery(store.db, delivery.id, now);
  return deliveryView(after!);
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}
