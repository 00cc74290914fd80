/**
 * Where a notification stands in the outbox: "held" waits for its channel's digest window,
 * "digested" went out inside a digest, never on its own.
 */
export const DELIVERY_STATUSES = ["pending", "delivered", "dead", "held", "digested"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
