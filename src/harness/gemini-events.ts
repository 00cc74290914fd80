/**
 * Reading `gemini --output-format stream-json` (Gemini CLI's headless JSONL: init, message,
 * tool_use, tool_result, error, result): its lines become loopd run events and a run state
 * (session, usage per model, turns, last message, why it failed). The stream has no event per
 * model response, so turns are counted from tool calls, and the turn cap is decided here: the
 * CLI's own cap (`model.maxSessionTurns`) exists only as a settings-file entry.
 */
import { addUsage, ZERO_USAGE } from "../domain/pricing.js";
import type { TokenUsage } from "../domain/run-report.js";
import { jsonEvent, num, record, short, str } from "./cli-adapter.js";
import type { HarnessEvent } from "./harness.js";

// The Gemini API answers a bad key with 400 "API key not valid" (reason API_KEY_INVALID), a
// revoked or unauthorised one with 401/403; the CLI passes the API's JSON on in its message.
const AUTH_ERROR =
  /API key not valid|API_KEY_INVALID|"code":\s*40[13]\b|\bstatus(?: code)?:? 40[13]\b|UNAUTHENTICATED|PERMISSION_DENIED|not authenticated/i;

export interface GeminiRunState {
  sessionId: string | null;
  /** The model named in `init` (`auto` when the CLI routes between models itself). */
  model: string | null;
  usage: TokenUsage;
  /** Per model, from the final stats (the CLI may use a second model for routing or fallback). */
  models: Array<{ model: string; usage: TokenUsage }>;
  /** Model responses: one per tool-calling response, plus the final answer. */
  turns: number;
  lastMessage: string | null;
  /** A `result` event with status success arrived. */
  completed: boolean;
  failure: string | null;
  authError: string | null;
  turnLimit: boolean;
}

/** Translates Gemini CLI stream-json lines into run events and a run state. */
export class GeminiEventParser {
  readonly state: GeminiRunState = {
    sessionId: null,
    model: null,
    usage: { ...ZERO_USAGE },
    models: [],
    turns: 0,
    lastMessage: null,
    completed: false,
    failure: null,
    authError: null,
    turnLimit: false,
  };
  /** Assistant text arrives in deltas; it is sent on as one message when its block ends. */
  private text = "";
  private readonly toolNames = new Map<string, string>();
  /** Whether the last tool event was a result: the next call then belongs to a new response. */
  private afterToolResult = true;
  private toolTurns = 0;
  private stopped = false;

  constructor(
    private readonly maxTurns: number,
    private readonly emit: (event: HarnessEvent) => void,
  ) {}

  onLine(line: string): "stop" | undefined {
    if (this.stopped) return undefined;
    const answer = this.translate(line);
    if (answer === "stop") {
      this.stopped = true;
      this.flushText();
    }
    return answer;
  }

  /** Sends on assistant text still buffered (the process ended without a result). */
  finish(): void {
    this.flushText();
  }

  private translate(line: string): "stop" | undefined {
    const event = jsonEvent(line, this.emit);
    if (!event) return undefined;
    const state = this.state;
    switch (event.type) {
      case "init":
        state.sessionId = str(event.session_id);
        state.model = str(event.model);
        this.emit({
          type: "status",
          data: { event: "session", sessionId: state.sessionId, model: state.model },
        });
        return undefined;
      case "message":
        // The user message echoes the prompt loopd sent; only the model's text is news.
        if (event.role === "assistant") this.text += str(event.content) ?? "";
        return undefined;
      case "tool_use":
        return this.onToolUse(event);
      case "tool_result":
        this.onToolResult(event);
        return undefined;
      case "error":
        // Warnings and recoverable errors ("Loop detected, stopping execution"); a fatal
        // error ends the stream with a `result` of status error.
        this.emit({
          type: "status",
          data: { event: str(event.severity) ?? "error", message: str(event.message) },
        });
        return undefined;
      case "result":
        this.onResult(event);
        return undefined;
      default:
        this.emit({ type: "status", data: event });
        return undefined;
    }
  }

  private onToolUse(event: Record<string, unknown>): "stop" | undefined {
    this.flushText();
    const name = str(event.tool_name) ?? "unknown";
    const id = str(event.tool_id);
    if (id) this.toolNames.set(id, name);
    if (this.afterToolResult) {
      // The CLI announces every call of a response before it runs any of them, so a call
      // after a result starts a new response.
      this.afterToolResult = false;
      this.toolTurns += 1;
      this.state.turns = this.toolTurns;
      // A response that calls a tool means at least one more response; stop before running
      // the tool when that next response would go past the cap.
      if (this.toolTurns + 1 > this.maxTurns) {
        this.state.turnLimit = true;
        return "stop";
      }
    }
    this.emit({ type: "tool", data: { name, id, input: short(JSON.stringify(event.parameters ?? {})) } });
    return undefined;
  }

  private onToolResult(event: Record<string, unknown>): void {
    this.afterToolResult = true;
    const id = str(event.tool_id);
    const name = (id && this.toolNames.get(id)) ?? "unknown";
    const error = record(event.error);
    const exitCode = name === SHELL_TOOL ? shellExitCode(str(event.output)) : undefined;
    this.emit({
      type: "tool",
      data: {
        name,
        id,
        status: str(event.status),
        ...(exitCode !== undefined ? { exitCode } : {}),
        // The CLI calls a command that exited non-zero a success: the exit code says otherwise.
        failed: event.status === "error" || (exitCode !== undefined && exitCode !== 0),
        ...(str(error.message) ? { error: short(str(error.message)) } : {}),
      },
    });
  }

  private onResult(event: Record<string, unknown>): void {
    this.flushText();
    const state = this.state;
    this.readStats(record(event.stats));
    if (event.status === "success") {
      state.completed = true;
      state.turns = this.toolTurns + 1;
      return;
    }
    const error = record(event.error);
    const message = str(error.message) ?? "the run failed";
    if (AUTH_ERROR.test(message)) state.authError = message;
    // Only when `model.maxSessionTurns` is set in the user's own settings.json.
    else if (str(error.type) === "FatalTurnLimitedError") state.turnLimit = true;
    else state.failure = message;
    this.emit({ type: "status", data: { event: "error", message } });
  }

  /** The final stats: cumulative per model (the CLI reports no usage before the end). */
  private readStats(stats: Record<string, unknown>): void {
    const models = Object.entries(record(stats.models));
    if (models.length === 0) return;
    this.state.models = models.map(([model, value]) => ({ model, usage: usageOf(record(value)) }));
    this.state.usage = this.state.models.reduce((sum, entry) => addUsage(sum, entry.usage), {
      ...ZERO_USAGE,
    });
    this.emit({ type: "usage", data: { ...this.state.usage } });
  }

  private flushText(): void {
    if (!this.text) return;
    this.state.lastMessage = this.text;
    this.emit({ type: "message", data: { role: "assistant", text: this.text } });
    this.text = "";
  }
}

const SHELL_TOOL = "run_shell_command";

/**
 * A shell command's exit code, when the result says it. Gemini CLI 0.61 reports status
 * "success" whatever the command exited with; its display text names a non-zero code only
 * when the command printed nothing ("Command exited with code: 3"), else it is the output
 * alone and the code goes to the model only: then there is none to report.
 */
function shellExitCode(output: string | null): number | undefined {
  const code =
    output === null ? undefined : /^(?:Command exited with code|Exit Code): (-?\d+)/m.exec(output)?.[1];
  return code === undefined ? undefined : Number(code);
}

/**
 * One model's stats in loopd's convention. The CLI's `input_tokens` is the whole prompt,
 * `input` the part not served from the cache; `output_tokens` is the answer without the
 * thoughts, which appear only in `total_tokens` (prompt + answer + thoughts).
 */
export function usageOf(stats: Record<string, unknown>): TokenUsage {
  const prompt = num(stats.input_tokens);
  const cached = num(stats.cached);
  const answer = num(stats.output_tokens);
  const reasoning = Math.max(0, num(stats.total_tokens) - prompt - answer);
  const uncached = stats.input === undefined ? Math.max(0, prompt - cached) : num(stats.input);
  return {
    tokensIn: uncached,
    tokensCached: cached,
    tokensOut: answer + reasoning,
    tokensReasoning: reasoning,
  };
}
