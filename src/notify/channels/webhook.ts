/**
 * Generic webhook: the event itself as the JSON body, signed per Standard Webhooks
 * (standardwebhooks.com) so receivers can verify it with any of the spec's libraries.
 * `webhook-id` is the event id, identical on every retry, which is what receivers dedupe on.
 */
import { Webhook } from "standardwebhooks";
import type { Channel } from "../../domain/config-schema.js";
import type { DeliverOptions, DeliveryResult, NotificationEvent } from "../event.js";
import { postJson } from "./http-post.js";

export type WebhookChannel = Extract<Channel, { type: "webhook" }>;

export async function deliverWebhook(
  channel: WebhookChannel,
  event: NotificationEvent,
  options?: DeliverOptions,
): Promise<DeliveryResult> {
  const body = JSON.stringify(event);
  return postJson(channel.url, body, webhookHeaders(channel.secret, event.id, new Date(), body), options);
}

/**
 * The spec's three headers. Without a secret there is nothing to sign with, but the id and
 * timestamp still let a receiver dedupe and reject stale replays.
 */
export function webhookHeaders(
  secret: string | undefined,
  id: string,
  timestamp: Date,
  body: string,
): Record<string, string> {
  const headers: Record<string, string> = {
    "webhook-id": id,
    // Seconds, and the same instant that is signed: the signature covers `${id}.${seconds}.${body}`.
    "webhook-timestamp": String(Math.floor(timestamp.getTime() / 1000)),
  };
  if (secret) headers["webhook-signature"] = new Webhook(secret).sign(id, timestamp, body);
  return headers;
}
