/**
 * Email over SMTP (nodemailer), one message per event: subject "[loopd] <routine> <outcome>",
 * a plain-text body and the same content as simple HTML. A server that cannot be reached or
 * answers 4xx may do better later; a 5xx answer (unknown mailbox, relay denied, bad login)
 * will be the same on every retry.
 */
import { hostname } from "node:os";
import nodemailer from "nodemailer";
import type { Channel } from "../../domain/config-schema.js";
import { errorMessage } from "../../lib/error-message.js";
import {
  DEFAULT_DELIVERY_TIMEOUT_MS,
  type DeliverOptions,
  type DeliveryResult,
  isRecord,
  type NotificationEvent,
} from "../event.js";
import { describeEvent } from "../message.js";

export type EmailChannel = Extract<Channel, { type: "email" }>;

/** A local MTA (postfix, a relay container) is the usual setup on a host running a daemon. */
export const DEFAULT_SMTP_URL = "smtp://localhost:25";

export interface EmailMessage {
  subject: string;
  text: string;
  html: string;
}

export async function deliverEmail(
  channel: EmailChannel,
  event: NotificationEvent,
  options: DeliverOptions = {},
): Promise<DeliveryResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS;
  const transport = nodemailer.createTransport({
    url: channel.smtp ?? DEFAULT_SMTP_URL,
    // nodemailer bounds each phase separately (connect, greeting, idle socket); the same
    // budget for each keeps a dead server from holding the outbox longer than a slow one.
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  try {
    const message = emailMessage(event);
    await transport.sendMail({
      from: channel.from ?? `loopd <loopd@${hostname()}>`,
      to: channel.to,
      ...message,
      // Threads by event id in clients that thread, and lets a receiving script dedupe.
      headers: { "X-Loopd-Event-Id": event.id, "X-Loopd-Event-Type": event.type },
    });
    return { ok: true };
  } catch (error) {
    return { ok: false, retryable: isRetryableSmtpError(error), error: errorMessage(error) };
  } finally {
    transport.close();
  }
}

export function emailMessage(event: NotificationEvent): EmailMessage {
  const description = describeEvent(event);
  const footer = `loopd · ${event.type} · ${event.at} · ${event.id}`;
  const text = [...description.lines, "", `-- ${footer}`].join("\n");
  const paragraphs = description.summary
    ? description.summary
        .split(/\n{2,}/)
        .map((paragraph) => `<p>${escapeHtml(paragraph).replace(/\n/g, "<br>")}</p>`)
    : [];
  const rows = description.fields.map(
    (field) =>
      `<tr><th align="left" style="padding-right:12px">${escapeHtml(field.label)}</th><td>${escapeHtml(field.value)}</td></tr>`,
  );
  const html = [
    `<h2>${escapeHtml(`${description.emoji} ${description.title}`)}</h2>`,
    ...paragraphs,
    ...(rows.length > 0 ? [`<table>${rows.join("")}</table>`] : []),
    ...(description.url ? [`<p><a href="${escapeHtml(description.url)}">View run</a></p>`] : []),
    `<p style="color:#888;font-size:small">${escapeHtml(footer)}</p>`,
  ].join("\n");
  return { subject: `[loopd] ${description.title}`, text, html };
}

/** nodemailer marks 5xx replies `permanent`; an envelope it refuses locally is permanent too. */
export function isRetryableSmtpError(error: unknown): boolean {
  if (!isRecord(error)) return true;
  if (error.permanent === true) return false;
  if (typeof error.responseCode === "number") return error.responseCode < 500;
  return error.code !== "EENVELOPE" && error.code !== "EAUTH";
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
