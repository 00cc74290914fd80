/**
 * Desktop notification on the machine running loopd (node-notifier: notify-send on Linux,
 * Notification Center on macOS, toasts on Windows). Best effort: a headless server has no
 * desktop, and trying again later will not give it one, so failures are never retryable,
 * and nothing here throws.
 */
import notifier from "node-notifier";
import type { Channel } from "../../domain/config-schema.js";
import { errorMessage } from "../../lib/error-message.js";
import {
  DEFAULT_DELIVERY_TIMEOUT_MS,
  type DeliverOptions,
  type DeliveryResult,
  type NotificationEvent,
} from "../event.js";
import { describeEvent, truncate } from "../message.js";

export type DesktopChannel = Extract<Channel, { type: "desktop" }>;

/** A toast shows a few lines; the rest is one click away in the dashboard. */
const MESSAGE_LINES = 3;
const MESSAGE_MAX = 300;

export async function deliverDesktop(
  _channel: DesktopChannel,
  event: NotificationEvent,
  options: DeliverOptions = {},
): Promise<DeliveryResult> {
  const { title, message } = desktopMessage(event);
  const timeoutMs = options.timeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS;
  return new Promise<DeliveryResult>((resolve) => {
    const timer = setTimeout(
      () =>
        resolve({ ok: false, retryable: false, error: `no answer from the notifier within ${timeoutMs}ms` }),
      timeoutMs,
    );
    const settle = (result: DeliveryResult) => {
      clearTimeout(timer);
      resolve(result);
    };
    try {
      // wait: false — loopd does not care whether anyone clicks; waiting would hold the
      // notifier process (and this promise) until the toast is dismissed.
      notifier.notify({ title, message, wait: false }, (error) => {
        // notify-send reports through stderr, which node-notifier passes as the first argument.
        if (error)
          settle({ ok: false, retryable: false, error: errorMessage(error).trim() || "notifier failed" });
        else settle({ ok: true });
      });
    } catch (error) {
      settle({ ok: false, retryable: false, error: errorMessage(error) });
    }
  });
}

export function desktopMessage(event: NotificationEvent): { title: string; message: string } {
  const description = describeEvent(event);
  const lines = description.lines.slice(0, MESSAGE_LINES).map((line) => line.split("\n")[0] ?? "");
  // node-notifier refuses an empty message; the event type is always something to show.
  const message = lines.join("\n").trim() || event.type;
  return { title: `${description.emoji} ${description.title}`, message: truncate(message, MESSAGE_MAX) };
}
