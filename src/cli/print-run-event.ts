/** How `loopd run --wait` and `loopd logs` print a run's events: output lines and one line per agent event. */

import type { RunEventView } from "../app/run-event-view.js";
import { runOutcomeWord } from "../domain/run-outcome.js";
import type { CommandContext } from "./context.js";
import { pc } from "./format.js";

/** `hints: false` when the caller prints the run's final error with its hint itself (`run --wait`). */
export function printEvent(
  ctx: CommandContext,
  event: RunEventView,
  options: { hints?: boolean } = {},
): void {
  if (typeof event.data === "string" && event.type === "log") {
    ctx.io.stdout(event.stream === "stderr" ? `${pc.red(event.data)}\n` : `${event.data}\n`);
    return;
  }
  const data = typeof event.data === "string" ? { value: event.data } : event.data;
  if (event.type === "status" && data.event === "started") {
    ctx.io.stdout(pc.dim(`── attempt ${event.attempt} started on ${String(data.worker)}\n`));
  } else if (event.type === "status" && data.event === "finished") {
    const error = data.error as { message?: string; hint?: string } | null;
    ctx.io.stdout(
      pc.dim(
        `── attempt ${event.attempt} ${runOutcomeWord({ status: String(data.outcome), verdict: data.verdict as string | undefined })}${error?.message ? `: ${error.message}` : ""}\n`,
      ),
    );
    if (error?.hint && options.hints !== false) ctx.io.stdout(pc.dim(`   hint: ${error.hint}\n`));
  } else if (event.type === "status" && data.event === "lease-expired") {
    ctx.io.stdout(
      pc.yellow(`── attempt ${event.attempt}: worker ${String(data.worker)} stopped heartbeating\n`),
    );
  } else {
    const line = describeAgentEvent(event.type, data);
    if (line !== null) ctx.io.stdout(`${line}\n`);
  }
}

/** One readable line for an agent's structured events; null for ones not worth a line. */
function describeAgentEvent(type: string, data: Record<string, unknown>): string | null {
  const text = (value: unknown, max = 300) => {
    const value_ = typeof value === "string" ? value : JSON.stringify(value ?? "");
    return value_.length > max ? `${value_.slice(0, max - 1)}…` : value_;
  };
  switch (type) {
    case "message":
      return data.text ? `${pc.cyan("●")} ${text(data.text, 2000)}` : null;
    case "tool":
      return describeTool(data, text);
    case "usage":
      return null; // the totals are on the run (`loopd show-run`)
    case "status":
      switch (data.event) {
        case "preflight":
          return pc.dim(
            `── ${String(data.harness)} ${String(data.version ?? "")} · auth ${String(data.auth)}${data.authSource ? ` (${String(data.authSource)})` : ""}`,
          );
        case "workspace":
          return pc.dim(
            `── workspace ${String(data.path)}${data.branch ? ` on ${String(data.branch)}` : ""}`,
          );
        case "context": {
          const docs = (data.docs as Array<{ path: string; handling: string }> | undefined) ?? [];
          const listed = docs.map(
            (doc) => `${doc.path}${doc.handling === "full" ? "" : ` (${doc.handling})`}`,
          );
          return pc.dim(
            `── context: ${listed.length > 0 ? listed.join(", ") : "no agent docs"}${data.cut ? ` · ${String(data.cut)}` : ""}`,
          );
        }
        case "check":
          return `${data.status === "satisfied" ? pc.green("✓") : data.status === "unsatisfied" ? pc.yellow("✗") : pc.red("!")} check ${String(data.status)}: ${text(data.summary, 500)}`;
        case "delivery":
          return describeDelivery(data);
        case "metering":
          return pc.dim(
            `── metering: ${String(data.metering)}${data.reason ? ` (${String(data.reason)})` : data.metering === "gateway" ? " (every model request, as it happens)" : ""}`,
          );
        case "session":
          return pc.dim(
            `── session ${String(data.sessionId ?? "")}${data.model ? ` · ${String(data.model)}` : ""}`,
          );
        default:
          return pc.dim(`── ${text(data)}`);
      }
    default:
      return pc.dim(`── ${type} ${text(data)}`);
  }
}

/** `── committed … on <branch>`, `── pushed …`, or the delivery's failure in red. */
function describeDelivery(data: Record<string, unknown>): string {
  const error = data.error as { code: string; message: string } | null;
  const commit = typeof data.commit === "string" ? data.commit.slice(0, 12) : null;
  const lines: string[] = [];
  if (commit) lines.push(pc.dim(`── work committed on ${String(data.branch)} @ ${commit}`));
  if (data.pushed) lines.push(pc.dim(`── pushed to ${String(data.remote)} ${String(data.remoteBranch)}`));
  else if (data.skipped) lines.push(pc.dim(`── not pushed: ${String(data.skipped)}`));
  if (error) lines.push(pc.red(`── delivery failed: ${error.code} ${error.message}`));
  return lines.join("\n");
}

/**
 * A tool call: `→ name input` as it starts, and once finished with the command's exit code
 * when it reported one (`→ command … (exit 3)`, red unless 0) or `(failed)`. Claude Code
 * reports results apart from calls: only failed ones get a line, `✗ Bash (exit 3): output`.
 */
function describeTool(
  data: Record<string, unknown>,
  text: (value: unknown, max?: number) => string,
): string | null {
  const finished = typeof data.failed === "boolean";
  const exit = typeof data.exitCode === "number" ? `exit ${data.exitCode}` : data.failed ? "failed" : null;
  if (data.name !== undefined) {
    const line = `→ ${String(data.name)} ${text(data.input ?? data.title ?? data.summary ?? "")}`;
    if (!finished || exit === null) return pc.magenta(line);
    return data.failed ? pc.red(`${line} (${exit})`) : pc.magenta(`${line} (${exit})`);
  }
  if (!(data.failed ?? data.isError)) return null;
  const tool = typeof data.tool === "string" ? `${data.tool} ` : "";
  return pc.red(`  ✗ ${tool}(${exit ?? "failed"}): ${text(data.result, 200)}`);
}
