/**
 * Slack incoming webhook. `text` is what Slack shows in the push notification and in
 * clients without Block Kit; `blocks` is the message itself: a header, the summary, the
 * facts as two-column fields, and a link to the run.
 */
import type { Channel } from "../../domain/config-schema.js";
import type { DeliverOptions, DeliveryResult, NotificationEvent } from "../event.js";
import { describeEvent, truncate } from "../message.js";
import { postJson } from "./http-post.js";

export type SlackChannel = Extract<Channel, { type: "slack" }>;

export interface SlackMessage {
  text: string;
  blocks: Array<Record<string, unknown>>;
}

// Block Kit limits; past them Slack rejects the whole message with invalid_blocks.
const HEADER_MAX = 150;
const SECTION_MAX = 3000;
const FIELD_MAX = 2000;
const FIELDS_MAX = 10;

export async function deliverSlack(
  channel: SlackChannel,
  event: NotificationEvent,
  options?: DeliverOptions,
): Promise<DeliveryResult> {
  return postJson(channel.url, JSON.stringify(slackMessage(event)), {}, options);
}

export function slackMessage(event: NotificationEvent): SlackMessage {
  const description = describeEvent(event);
  const headline = `${description.emoji} ${description.title}`;
  const blocks: Array<Record<string, unknown>> = [
    { type: "header", text: { type: "plain_text", text: truncate(headline, HEADER_MAX), emoji: true } },
  ];
  if (description.summary) {
    blocks.push({ type: "section", text: mrkdwn(truncate(escapeMrkdwn(description.summary), SECTION_MAX)) });
  }
  if (description.fields.length > 0) {
    blocks.push({
      type: "section",
      fields: description.fields
        .slice(0, FIELDS_MAX)
        .map((field) => mrkdwn(truncate(`*${field.label}*\n${escapeMrkdwn(field.value)}`, FIELD_MAX))),
    });
  }
  const context = [`loopd · ${event.type} · ${event.at}`];
  if (description.url) context.unshift(`<${description.url}|View run>`);
  blocks.push({ type: "context", elements: context.map((part) => mrkdwn(part)) });
  const summaryLine = description.summary?.split("\n")[0];
  return { text: summaryLine ? `${headline}: ${truncate(summaryLine, 200)}` : headline, blocks };
}

function mrkdwn(text: string): { type: "mrkdwn"; text: string } {
  return { type: "mrkdwn", text };
}

/** Slack reads <…> as links and mentions; an agent's summary must not ping @channel. */
function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
