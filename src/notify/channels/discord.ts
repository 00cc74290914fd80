/**
 * Discord webhook: a one-line `content` (what the push notification shows) and one embed
 * coloured by severity, with the summary as its description and the facts as fields.
 */
import type { Channel } from "../../domain/config-schema.js";
import type { DeliverOptions, DeliveryResult, NotificationEvent } from "../event.js";
import { describeEvent, truncate } from "../message.js";
import { postJson } from "./http-post.js";

export type DiscordChannel = Extract<Channel, { type: "discord" }>;

export interface DiscordEmbed {
  title: string;
  description?: string;
  color: number;
  url?: string;
  timestamp: string;
  fields: Array<{ name: string; value: string; inline: boolean }>;
  footer: { text: string };
}

export interface DiscordMessage {
  content: string;
  embeds: DiscordEmbed[];
  /** The summary is agent-written: it must not be able to ping @everyone or a role. */
  allowed_mentions: { parse: never[] };
}

// Discord's embed limits; past them the whole message is rejected with 400.
const TITLE_MAX = 256;
const DESCRIPTION_MAX = 4096;
const FIELD_VALUE_MAX = 1024;
const CONTENT_MAX = 2000;

export async function deliverDiscord(
  channel: DiscordChannel,
  event: NotificationEvent,
  options?: DeliverOptions,
): Promise<DeliveryResult> {
  return postJson(channel.url, JSON.stringify(discordMessage(event)), {}, options);
}

export function discordMessage(event: NotificationEvent): DiscordMessage {
  const description = describeEvent(event);
  const embed: DiscordEmbed = {
    title: truncate(description.title, TITLE_MAX),
    color: description.color,
    timestamp: event.at,
    fields: description.fields.map((field) => ({
      name: field.label,
      value: truncate(field.value, FIELD_VALUE_MAX),
      // Short facts sit side by side; an error message needs the full width.
      inline: field.label !== "Error" && field.label !== "Reason",
    })),
    footer: { text: `loopd · ${event.type}` },
  };
  if (description.summary) embed.description = truncate(description.summary, DESCRIPTION_MAX);
  if (description.url) embed.url = description.url;
  return {
    content: truncate(`${description.emoji} ${description.title}`, CONTENT_MAX),
    embeds: [embed],
    allowed_mentions: { parse: [] },
  };
}
