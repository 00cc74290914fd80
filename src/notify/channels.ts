/**
 * The channel registry: one delivery function per channel type in loopd.yaml, and
 * `deliver`, the single entry point the outbox dispatcher calls for one event on one
 * channel. Every outcome comes back as a DeliveryResult, never as a throw, so a broken
 * channel costs its own row a retry and nothing else.
 */
import type { Channel } from "../domain/config-schema.js";
import { errorMessage } from "../lib/error-message.js";
import { deliverCommand } from "./channels/command.js";
import { deliverDesktop } from "./channels/desktop.js";
import { deliverDiscord } from "./channels/discord.js";
import { deliverEmail } from "./channels/email.js";
import { deliverLog } from "./channels/log.js";
import { deliverSlack } from "./channels/slack.js";
import { deliverWebhook } from "./channels/webhook.js";
import type { DeliverOptions, DeliveryResult, NotificationEvent } from "./event.js";

export type ChannelType = Channel["type"];

export async function deliver(
  channel: Channel,
  event: NotificationEvent,
  options?: DeliverOptions,
): Promise<DeliveryResult> {
  try {
    return await deliverTo(channel, event, options);
  } catch (error) {
    // The channels classify what they expect; anything else is a surprise worth another try.
    return { ok: false, retryable: true, error: errorMessage(error) };
  }
}

/** Exhaustive over `channelSchema`: a new channel type fails to compile until it is delivered here. */
function deliverTo(
  channel: Channel,
  event: NotificationEvent,
  options?: DeliverOptions,
): Promise<DeliveryResult> {
  switch (channel.type) {
    case "webhook":
      return deliverWebhook(channel, event, options);
    case "slack":
      return deliverSlack(channel, event, options);
    case "discord":
      return deliverDiscord(channel, event, options);
    case "email":
      return deliverEmail(channel, event, options);
    case "desktop":
      return deliverDesktop(channel, event, options);
    case "command":
      return deliverCommand(channel, event, options);
    case "log":
      return deliverLog(channel, event, options);
    default: {
      const unknown: never = channel;
      throw new Error(`unknown channel type ${(unknown as { type: string }).type}`);
    }
  }
}
