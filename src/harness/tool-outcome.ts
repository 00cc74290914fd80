/**
 * How a run's tool calls ended, read from its events whatever the harness: every adapter
 * reports a finished call as a `tool` event with `failed` (and a command's `exitCode` where
 * the agent reports one), so the executor can tell when the attempt's last call failed. A
 * success with no `verify` after a failed last call is flagged `unverified`, never silent.
 */
import type { HarnessEvent } from "./harness.js";

/** Whether a `tool` event reports a finished call, and if so whether it failed; null otherwise. */
export function finishedTool(event: HarnessEvent): { failed: boolean } | null {
  if (event.type !== "tool" || event.data === null || typeof event.data !== "object") return null;
  const failed = (event.data as { failed?: unknown }).failed;
  return typeof failed === "boolean" ? { failed } : null;
}

/** Follows an attempt's events; `lastFailed` is whether its last finished tool call failed. */
export class ToolOutcomes {
  lastFailed = false;
  finished = 0;

  observe(event: HarnessEvent): void {
    const tool = finishedTool(event);
    if (!tool) return;
    this.finished += 1;
    this.lastFailed = tool.failed;
  }
}
