/**
 * Reading `codex exec --json`: its JSONL events (thread.started, turn.*, item.* with
 * agent_message / command_execution / file_change / …, error) become loopd run events and a
 * run state (session, cumulative usage, turns, last message, why it failed). Also decides
 * when the turn cap is hit, since Codex has no cap of its own, and when Codex's sandbox
 * cannot run anything (its stderr, or a command that bubblewrap could not start): Codex goes
 * on and exits 0 with nothing done, so the adapter stops it and says why.
 */
import type { TokenUsage } from "../domain/run-report.js";
import { jsonEvent, num, record, short, str } from "./cli-adapter.js";
import type { HarnessEvent } from "./harness.js";

const TOOL_ITEMS = new Set(["command_execution", "file_change", "mcp_tool_call", "web_search"]);
// Codex answers a rejected key with "unexpected status 401 Unauthorized: …" (and retries it).
const AUTH_ERROR = /\bstatus 40[13]\b|unauthorized|invalid_api_key|incorrect api key|not logged in/i;
// Codex's startup warning when it will not lay out its helper binaries (codex-linux-sandbox,
// apply_patch) under CODEX_HOME, e.g. because CODEX_HOME is inside the temp dir.
const HELPERS_REFUSED = /could not create PATH aliases|Refusing to create helper binaries/;
// Output of a command that never ran because its sandbox could not start: bubblewrap's own
// error ("bwrap: execvp codex-linux-sandbox: …", "bwrap: No permissions to create new namespace").
export const SANDBOX_FAILED = /^bwrap: .*|execvp codex-linux-sandbox.*/m;

export interface CodexRunState {
  sessionId: string | null;
  usage: TokenUsage;
  /** Model responses: one per tool-calling response (counted per tool item) plus the final answer. */
  turns: number;
  lastMessage: string | null;
  completed: boolean;
  failure: string | null;
  authError: string | null;
  turnLimit: boolean;
  /** Why Codex could not run any command (its sandbox could not start); null when it could. */
  sandboxBroken: string | null;
}

export interface CodexParserOptions {
  /**
   * The system bubblewrap Codex will sandbox commands with (found on the run's PATH; null
   * without one, or with the sandbox off). Without its helper binaries, Codex cannot start a
   * command under a system bubblewrap; its bundled one does without them.
   */
  systemBwrap?: string | null;
}

/** Translates `codex exec --json` lines into run events and a run state. */
export class CodexEventParser {
  readonly state: CodexRunState = {
    sessionId: null,
    usage: { tokensIn: 0, tokensOut: 0, tokensCached: 0, tokensReasoning: 0 },
    turns: 0,
    lastMessage: null,
    completed: false,
    failure: null,
    authError: null,
    turnLimit: false,
    sandboxBroken: null,
  };
  private readonly toolItems = new Set<string>();
  /** Set once the parser asked to stop: what the dying process still prints changes nothing. */
  private stopped = false;

  constructor(
    private readonly maxTurns: number,
    private readonly emit: (event: HarnessEvent) => void,
    private readonly options: CodexParserOptions = {},
  ) {}

  onLine(line: string): "stop" | undefined {
    if (this.stopped) return undefined;
    const answer = this.translate(line);
    if (answer === "stop") this.stopped = true;
    return answer;
  }

  /**
   * A stderr line. Codex prints the helper warning at startup, before its first model request:
   * with a system bubblewrap every command would then fail, so stop before spending anything.
   */
  onStderrLine(line: string): "stop" | undefined {
    if (this.stopped || !this.options.systemBwrap || !HELPERS_REFUSED.test(line)) return undefined;
    this.state.sandboxBroken = helpersRefused(line, this.options.systemBwrap);
    this.stopped = true;
    return "stop";
  }

  private translate(line: string): "stop" | undefined {
    const event = jsonEvent(line, this.emit);
    if (!event) return undefined;
    const state = this.state;
    switch (event.type) {
      case "thread.started":
        state.sessionId = str(event.thread_id);
        this.emit({ type: "status", data: { event: "session", sessionId: state.sessionId } });
        return undefined;
      case "turn.started":
        this.emit({ type: "status", data: { event: "turn.started" } });
        return undefined;
      case "item.started":
      case "item.updated":
      case "item.completed":
        return this.onItem(event.type, record(event.item));
      case "turn.completed":
        state.completed = true;
        this.addUsage(record(event.usage));
        if (state.lastMessage !== null) state.turns = this.toolItems.size + 1;
        return undefined;
      case "turn.failed":
        return this.onError(str(record(event.error).message) ?? "the turn failed", true);
      case "error":
        return this.onError(str(event.message) ?? "unknown error", false);
      default:
        this.emit({ type: "status", data: event });
        return undefined;
    }
  }

  private onItem(phase: string, item: Record<string, unknown>): "stop" | undefined {
    const type = str(item.type) ?? "unknown";
    const id = str(item.id) ?? `${type}-${this.toolItems.size}`;
    if (TOOL_ITEMS.has(type) && !this.toolItems.has(id)) {
      this.toolItems.add(id);
      this.state.turns = this.toolItems.size;
      // A response that calls a tool means at least one more response; stop before running
      // the tool when that next response would go past the cap.
      if (this.toolItems.size + 1 > this.maxTurns) {
        this.state.turnLimit = true;
        return "stop";
      }
    }
    if (phase === "item.started" && TOOL_ITEMS.has(type)) {
      // Announce long-running commands as they start, not only when they end.
      this.emit({ type: "tool", data: toolData(type, item) });
    }
    if (phase !== "item.completed") return undefined;
    if (TOOL_ITEMS.has(type)) {
      this.emit({ type: "tool", data: { ...toolData(type, item), ...finished(type, item) } });
      const output = type === "command_execution" ? str(item.aggregated_output) : null;
      const sandbox = item.exit_code !== 0 && output ? SANDBOX_FAILED.exec(output) : null;
      if (sandbox) {
        // The command never ran: neither will any other. Stop before the model goes on blind.
        this.state.sandboxBroken = `its sandbox could not start a command (${sandbox[0].trim()})`;
        return "stop";
      }
      return undefined;
    }
    if (type === "agent_message") {
      const text = str(item.text) ?? "";
      this.state.lastMessage = text;
      this.emit({ type: "message", data: { role: "assistant", text } });
    } else if (type === "reasoning") {
      this.emit({ type: "message", data: { role: "reasoning", text: str(item.text) ?? "" } });
    } else if (type === "error") {
      // Non-fatal warnings (e.g. unknown model metadata); fatal errors come as turn.failed.
      this.emit({ type: "status", data: { event: "warning", message: str(item.message) } });
    } else {
      this.emit({ type: "tool", data: toolData(type, item) });
    }
    return undefined;
  }

  private onError(message: string, final: boolean): "stop" | undefined {
    // Codex retries a rejected key several times ("Reconnecting... 1/5 (unexpected status 401…")
    // before giving up; a 401 will not heal, so stop at the first one.
    if (AUTH_ERROR.test(message)) {
      this.state.authError = message.replace(/^Reconnecting\.\.\. \d+\/\d+ \((.*)\)$/s, "$1");
      return "stop";
    }
    if (final) this.state.failure = message;
    this.emit({ type: "status", data: { event: final ? "turn.failed" : "error", message } });
    return undefined;
  }

  private addUsage(usage: Record<string, unknown>): void {
    const input = num(usage.input_tokens);
    const cached = num(usage.cached_input_tokens);
    const u = this.state.usage;
    // OpenAI's input_tokens includes the cached part; loopd's tokensIn is the uncached part.
    u.tokensIn += Math.max(0, input - cached);
    u.tokensCached += cached;
    u.tokensOut += num(usage.output_tokens);
    u.tokensReasoning += num(usage.reasoning_output_tokens);
    this.emit({ type: "usage", data: { ...u } });
  }
}

/**
 * How a finished tool item ended, in the form every harness reports it: `failed`, and the
 * command's `exitCode` (with the end of its output when it failed).
 */
function finished(type: string, item: Record<string, unknown>): Record<string, unknown> {
  const status = str(item.status);
  if (type !== "command_execution") return { failed: status === "failed" || status === "declined" };
  const exitCode = typeof item.exit_code === "number" ? item.exit_code : null;
  const failed = exitCode !== null ? exitCode !== 0 : status === "failed" || status === "declined";
  const output = str(item.aggregated_output)?.trimEnd() ?? "";
  return { exitCode, failed, ...(failed && output ? { output: tail(output) } : {}) };
}

/** The last characters of a command's output, where its error usually is. */
function tail(text: string, max = 200): string {
  return text.length > max ? `…${text.slice(text.length - max + 1)}` : text;
}

/** The cause, from Codex's warning: which CODEX_HOME, which temp dir, which bubblewrap. */
function helpersRefused(line: string, bwrap: string): string {
  const home = /codex_home: AbsolutePathBuf\("([^"]+)"\)/.exec(line)?.[1];
  const temp = /temporary dir "([^"]+)"/.exec(line)?.[1];
  const where = home
    ? `CODEX_HOME (${home}) is inside the temp dir${temp ? ` ${temp}` : ""}`
    : "it could not write them under CODEX_HOME";
  return `Codex refused to create its sandbox helper binaries (${where}), and commands sandboxed by the system bubblewrap (${bwrap}) cannot start without them`;
}

/** A short, storable description of a tool item. */
function toolData(type: string, item: Record<string, unknown>): Record<string, unknown> {
  const status = str(item.status);
  switch (type) {
    case "command_execution":
      return { name: "command", input: short(str(item.command)), exitCode: item.exit_code ?? null, status };
    case "file_change": {
      const changes = Array.isArray(item.changes) ? item.changes.map(record) : [];
      const summary = changes
        .map((change) => `${str(change.kind) ?? "?"} ${str(change.path) ?? "?"}`)
        .join(", ");
      return { name: "file_change", summary: short(summary), status };
    }
    case "mcp_tool_call":
      return { name: `mcp:${str(item.server) ?? "?"}/${str(item.tool) ?? "?"}`, status };
    case "web_search":
      return { name: "web_search", input: short(str(item.query)) };
    case "todo_list": {
      const items = Array.isArray(item.items) ? item.items.map(record) : [];
      const done = items.filter((todo) => todo.completed === true).length;
      return { name: "todo_list", summary: `${done}/${items.length} done` };
    }
    default:
      return { name: type };
  }
}
