/**
 * Log channel: the notification as one line in the output of the daemon that delivers it
 * (`loopd serve`'s terminal, or its JSON lines with `--json`). It needs no setup, so the
 * demo and a first `loopd remind` have somewhere to ping. The daemon hands its printer in
 * through `DeliverOptions.log`; without one (a test, a library caller) the line goes to
 * stderr. Never fails: printing a line cannot be retried into working.
 */
import type { Channel } from "../../domain/config-schema.js";
import type { DeliverOptions, DeliveryResult, NotificationEvent } from "../event.js";
import { describeEvent, truncate } from "../message.js";

export type LogChannel = Extract<Channel, { type: "log" }>;

/** A terminal line, not a report: the rest is in `loopd show` and the dashboard. */
const LINE_MAX = 400;

export async function deliverLog(
  _channel: LogChannel,
  event: NotificationEvent,
  options: DeliverOptions = {},
): Promise<DeliveryResult> {
  const line = logLine(event);
  if (options.log) options.log(line);
  else process.stderr.write(`${line}\n`);
  return { ok: true };
}

/** `🔔 watch-ci is not satisfied · checks on acme/web#7 are pending · Link: …` */
export function logLine(event: NotificationEvent): string {
  const description = describeEvent(event);
  const body = description.lines.map((line) => line.split("\n")[0]?.trim() ?? "").filter(Boolean);
  return truncate([`${description.emoji} ${description.title}`, ...body].join(" · "), LINE_MAX);
}
