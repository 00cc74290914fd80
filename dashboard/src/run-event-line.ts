/**
 * One readable line per run event, the same wording as `loopd run --follow` in the CLI
 * (src/cli/commands/run.ts): log lines as they are, agent messages and tool calls marked,
 * lifecycle events dimmed. Null for events not worth a line (usage totals are on the run).
 */
import { runOutcomeTone, runOutcomeWord } from "../../src/domain/run-outcome.js";
import type { RunEvent } from "./types.js";

export type LineTone = "out" | "err" | "dim" | "message" | "tool" | "bad" | "ok" | "warn";

export interface EventLine {
  text: string;
  tone: LineTone;
}

/**
 * A tool call as `loopd logs` prints it (src/cli/print-run-event.ts): `→ name input`, once
 * finished with the exit code a command reported (`(exit 3)`, in red unless 0) or `(failed)`.
 */
function describeTool(data: Record<string, unknown>): EventLine | null {
  const finished = typeof data.failed === "boolean";
  const exit = typeof data.exitCode === "number" ? `exit ${data.exitCode}` : data.failed ? "failed" : null;
  if (data.name !== undefined) {
    const text = `→ ${String(data.name)} ${clip(data.input ?? data.title ?? data.summary ?? "")}`;
    if (!finished || exit === null) return { text, tone: "tool" };
    return { text: `${text} (${exit})`, tone: data.failed ? "bad" : "tool" };
  }
  if (!(data.failed ?? data.isError)) return null;
  const tool = typeof data.tool === "string" ? `${data.tool} ` : "";
  return { text: `  ✗ ${tool}(${exit ?? "failed"}): ${clip(data.result, 200)}`, tone: "bad" };
}

export function describeRunEvent(event: RunEvent): EventLine | null {
  if (event.type === "log")
    return { text: String(event.data), tone: event.stream === "stderr" ? "err" : "out" };
  const data = parseData(event.data);
  switch (event.type) {
    case "message":
      return data.text ? { text: `● ${clip(data.text, 2000)}`, tone: "message" } : null;
    case "tool":
      return describeTool(data);
    case "usage":
      return null;
    case "status":
      return describeStatus(event.attempt, data);
    default:
      return { text: `── ${event.type} ${clip(data)}`, tone: "dim" };
  }
}

function describeStatus(attempt: number, data: Record<string, unknown>): EventLine {
  switch (data.event) {
    case "started":
      return { text: `── attempt ${attempt} started on ${String(data.worker)}`, tone: "dim" };
    case "finished": {
      const error = data.error as { message?: string } | null;
      const outcome = { status: String(data.outcome), verdict: data.verdict as string | undefined };
      const tone = runOutcomeTone(outcome);
      return {
        text: `── attempt ${attempt} ${runOutcomeWord(outcome)}${error?.message ? `: ${error.message}` : ""}`,
        tone: tone === "ok" ? "dim" : tone === "warn" ? "warn" : "bad",
      };
    }
    case "lease-expired":
      return {
        text: `── attempt ${attempt}: worker ${String(data.worker)} stopped heartbeating`,
        tone: "warn",
      };
    case "preflight":
      return {
        text: `── ${String(data.harness)} ${String(data.version ?? "")} · auth ${String(data.auth)}${data.authSource ? ` (${String(data.authSource)})` : ""}`,
        tone: "dim",
      };
    case "workspace":
      return {
        text: `── workspace ${String(data.path)}${data.branch ? ` on ${String(data.branch)}` : ""}`,
        tone: "dim",
      };
    case "context": {
      const docs = (data.docs as Array<{ path: string; handling: string }> | undefined) ?? [];
      const listed = docs.map((doc) => `${doc.path}${doc.handling === "full" ? "" : ` (${doc.handling})`}`);
      return {
        text: `── context: ${listed.length > 0 ? listed.join(", ") : "no agent docs"}${data.cut ? ` · ${String(data.cut)}` : ""}`,
        tone: "dim",
      };
    }
    case "check": {
      const mark = data.status === "satisfied" ? "✓" : data.status === "unsatisfied" ? "✗" : "!";
      const tone = data.status === "satisfied" ? "ok" : data.status === "unsatisfied" ? "warn" : "bad";
      return { text: `${mark} check ${String(data.status)}: ${clip(data.summary, 500)}`, tone };
    }
    case "delivery": {
      const error = data.error as { code: string; message: string } | null;
      if (error)
        return { text: `── delivery failed: ${error.code} ${clip(error.message, 500)}`, tone: "bad" };
      const commit = typeof data.commit === "string" ? data.commit.slice(0, 12) : "";
      const push = data.pushed
        ? ` · pushed to ${String(data.remote)} ${String(data.remoteBranch)}`
        : data.skipped
          ? ` · not pushed: ${String(data.skipped)}`
          : "";
      return { text: `── work committed on ${String(data.branch)} @ ${commit}${push}`, tone: "dim" };
    }
    case "session":
      return {
        text: `── session ${String(data.sessionId ?? "")}${data.model ? ` · ${String(data.model)}` : ""}`,
        tone: "dim",
      };
    default:
      return { text: `── ${clip(data)}`, tone: "dim" };
  }
}

/** The API sends an event's fields as an object; anything else is shown as it is. */
function parseData(data: RunEvent["data"]): Record<string, unknown> {
  return typeof data === "string" ? { value: data } : data;
}

function clip(value: unknown, max = 300): string {
  const text = typeof value === "string" ? value : JSON.stringify(value ?? "");
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
