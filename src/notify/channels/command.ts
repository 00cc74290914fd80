/**
 * Command channel: the user's own script gets the event as JSON on stdin, run by /bin/sh
 * so pipes and redirections in loopd.yaml work. Its environment is deliberately small
 * (PATH, HOME and the event's type and id), so a notification hook never sees the
 * daemon's secrets. Exit 0 is delivered; anything else is retried, since the script
 * alone knows whether trying again helps, and it can always exit 0 to stop.
 */
import { execa } from "execa";
import type { Channel } from "../../domain/config-schema.js";
import { terminateGroup } from "../../lib/process-tree.js";
import {
  DEFAULT_DELIVERY_TIMEOUT_MS,
  type DeliverOptions,
  type DeliveryResult,
  type NotificationEvent,
} from "../event.js";

export type CommandChannel = Extract<Channel, { type: "command" }>;

/** The end of stderr is where a script says why it failed. */
const STDERR_TAIL_MAX = 500;

export async function deliverCommand(
  channel: CommandChannel,
  event: NotificationEvent,
  options: DeliverOptions = {},
): Promise<DeliveryResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS;
  const subprocess = execa("/bin/sh", ["-c", channel.command], {
    input: JSON.stringify(event),
    env: commandEnv(event),
    extendEnv: false,
    // Its own process group, so a timeout stops the shell and whatever it started
    // (`curl … | jq …`), not just the shell while its children hold the pipes open.
    detached: true,
    stdout: "ignore",
    reject: false,
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    if (subprocess.pid !== undefined) terminateGroup(subprocess.pid, subprocess);
  }, timeoutMs);
  try {
    const result = await subprocess;
    if (timedOut) return { ok: false, retryable: true, error: `command timed out after ${timeoutMs}ms` };
    if (result.exitCode === 0) return { ok: true };
    const stderr = tail(String(result.stderr ?? "").trim(), STDERR_TAIL_MAX);
    const status =
      result.exitCode !== undefined
        ? `command exited with ${result.exitCode}`
        : result.signal
          ? `command killed by ${result.signal}`
          : `command failed: ${result.shortMessage}`;
    return { ok: false, retryable: true, error: stderr ? `${status}: ${stderr}` : status };
  } finally {
    clearTimeout(timer);
  }
}

export function commandEnv(event: NotificationEvent): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    LOOPD_EVENT_TYPE: event.type,
    LOOPD_EVENT_ID: event.id,
  };
  if (process.env.HOME) env.HOME = process.env.HOME;
  return env;
}

function tail(text: string, max: number): string {
  return text.length <= max ? text : `…${text.slice(text.length - max + 1)}`;
}
