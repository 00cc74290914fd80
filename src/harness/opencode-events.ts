/**
 * Reading `opencode run --format json`: its JSONL events (step_start, text, reasoning,
 * tool_use, step_finish with tokens and cost, error), each carrying the session id and a
 * message part, become loopd run events and a run state. One step is one model response, so
 * the turn cap is decided here by counting steps: opencode's own `steps` limit only makes the
 * agent answer without tools, it does not stop the run.
 */
import type { TokenUsage } from "../domain/run-report.js";
import { jsonEvent, num, record, short, str } from "./cli-adapter.js";
import type { HarnessEvent } from "./harness.js";

// The AI SDK's APIError keeps the HTTP status; ProviderAuthError is opencode's own for a
// provider without credentials.
const AUTH_MESSAGE =
  /invalid[_ ]api[_ ]key|incorrect api key|unauthori[sz]ed|not authenticated|authentication/i;

export interface OpencodeRunState {
  sessionId: string | null;
  usage: TokenUsage;
  /** Sum of opencode's per-step cost (from its models.dev prices; 0 for models it cannot price). */
  costUsd: number;
  /** Steps started: one per model response. */
  turns: number;
  lastMessage: string | null;
  /** The last step ended for a reason other than calling tools. */
  finished: boolean;
  failure: string | null;
  authError: string | null;
  turnLimit: boolean;
}

/** Translates `opencode run --format json` lines into run events and a run state. */
export class OpencodeEventParser {
  readonly state: OpencodeRunState = {
    sessionId: null,
    usage: { tokensIn: 0, tokensOut: 0, tokensCached: 0, tokensReasoning: 0 },
    costUsd: 0,
    turns: 0,
    lastMessage: null,
    finished: false,
    failure: null,
    authError: null,
    turnLimit: false,
  };
  private stopped = false;

  constructor(
    private readonly maxTurns: number,
    private readonly emit: (event: HarnessEvent) => void,
  ) {}

  onLine(line: string): "stop" | undefined {
    if (this.stopped) return undefined;
    const answer = this.translate(line);
    if (answer === "stop") this.stopped = true;
    return answer;
  }

  private translate(line: string): "stop" | undefined {
    const event = jsonEvent(line, this.emit);
    if (!event) return undefined;
    const state = this.state;
    const sessionId = str(event.sessionID);
    if (sessionId && state.sessionId === null) {
      state.sessionId = sessionId;
      this.emit({ type: "status", data: { event: "session", sessionId } });
    }
    const part = record(event.part);
    switch (event.type) {
      case "step_start":
        state.turns += 1;
        state.finished = false;
        // A backstop only: opencode prints step_start late, often after the step's tools ran.
        return state.turns > this.maxTurns ? this.turnLimit() : undefined;
      case "text": {
        const text = str(part.text) ?? "";
        state.lastMessage = text;
        this.emit({ type: "message", data: { role: "assistant", text } });
        return undefined;
      }
      case "reasoning":
        this.emit({ type: "message", data: { role: "reasoning", text: str(part.text) ?? "" } });
        return undefined;
      case "tool_use":
        this.emit({ type: "tool", data: toolData(part) });
        return undefined;
      case "step_finish":
        this.onStepFinish(part);
        // A step that called tools means one more response; stop when that one would pass the cap.
        return !state.finished && state.turns + 1 > this.maxTurns ? this.turnLimit() : undefined;
      case "error":
        this.onError(record(event.error));
        return undefined;
      default:
        this.emit({ type: "status", data: event });
        return undefined;
    }
  }

  private turnLimit(): "stop" {
    this.state.turnLimit = true;
    return "stop";
  }

  private onStepFinish(part: Record<string, unknown>): void {
    const state = this.state;
    state.finished = part.reason !== "tool-calls";
    const tokens = record(part.tokens);
    const cache = record(tokens.cache);
    const reasoning = num(tokens.reasoning);
    const u = state.usage;
    // opencode's `input` already excludes cache reads; cache writes are billed as input.
    u.tokensIn += num(tokens.input) + num(cache.write);
    u.tokensCached += num(cache.read);
    // Its `output` excludes the reasoning tokens; loopd's tokensOut includes them.
    u.tokensOut += num(tokens.output) + reasoning;
    u.tokensReasoning += reasoning;
    state.costUsd += num(part.cost);
    this.emit({ type: "usage", data: { ...u } });
  }

  private onError(error: Record<string, unknown>): void {
    const data = record(error.data);
    const name = str(error.name) ?? "Error";
    const message = str(data.message) ?? name;
    const status = num(data.statusCode);
    if (name === "ProviderAuthError" || status === 401 || status === 403 || AUTH_MESSAGE.test(message)) {
      this.state.authError = status ? `${message} (HTTP ${status})` : message;
    } else {
      this.state.failure = status ? `${message} (HTTP ${status})` : message;
    }
    this.emit({ type: "status", data: { event: "error", name, message } });
  }
}

/**
 * A short, storable description of a finished tool call. opencode's bash tool keeps the
 * command's exit code in its metadata (`exit`); its status is "completed" whatever that was.
 */
function toolData(part: Record<string, unknown>): Record<string, unknown> {
  const state = record(part.state);
  const exit = record(state.metadata).exit;
  const exitCode = typeof exit === "number" ? exit : undefined;
  return {
    name: str(part.tool) ?? "unknown",
    id: str(part.callID),
    title: short(str(state.title)),
    input: short(JSON.stringify(state.input ?? {})),
    status: str(state.status),
    ...(exitCode !== undefined ? { exitCode } : {}),
    ...(state.status === "completed" || state.status === "error"
      ? { failed: state.status === "error" || (exitCode !== undefined && exitCode !== 0) }
      : {}),
    ...(str(state.error) ? { error: short(str(state.error)) } : {}),
  };
}
