/**
 * Reading `claude -p --output-format stream-json --verbose`: its JSON lines (system init and
 * api_retry, assistant content blocks, user tool results, result) become loopd run events and
 * a run state (session, model, usage, turns, the last result), and that state becomes the
 * harness result with the right error code, since the result line is where Claude Code says
 * why it stopped. Also decides when to stop Claude Code retrying a rejected credential.
 */
import { addUsage, ZERO_USAGE } from "../domain/pricing.js";
import type { TokenUsage } from "../domain/run-report.js";
import {
  type CliProcess,
  cliFailure,
  cliResult,
  endedEarly,
  jsonEvent,
  num,
  record,
  short,
  str,
} from "./cli-adapter.js";
import type { HarnessEvent, HarnessResult, ModelUsage } from "./harness.js";

/** Result and error texts Claude Code writes when the credential is the problem. */
const AUTH_TEXT =
  /invalid api key|please run \/login|not logged in|authentication_error|authentication_failed|oauth token has expired|API Error: 40[13]\b/i;

export interface ClaudeRunState {
  sessionId: string | null;
  model: string | null;
  /** Live total from assistant messages (output counts are provisional until the result). */
  usage: TokenUsage;
  /** The last `result` line. */
  result: Record<string, unknown> | null;
  /** Model requests over all results. */
  turns: number;
  /** Set when the adapter stopped Claude Code retrying a rejected credential. */
  authError: string | null;
}

/** Translates `claude -p --output-format stream-json --verbose` lines into run events and a state. */
export class ClaudeEventParser {
  readonly state: ClaudeRunState = {
    sessionId: null,
    model: null,
    usage: { ...ZERO_USAGE },
    result: null,
    turns: 0,
    authError: null,
  };
  /** Claude Code prints one assistant line per content block, all with the message's usage. */
  private readonly messageUsage = new Map<string, TokenUsage>();
  private resultUsage: TokenUsage = ZERO_USAGE;
  /** Tool names by call id, so a result says which tool it belongs to. */
  private readonly toolNames = new Map<string, string>();

  constructor(private readonly emit: (event: HarnessEvent) => void) {}

  onLine(line: string): "stop" | undefined {
    const event = jsonEvent(line, this.emit);
    if (!event) return undefined;
    switch (event.type) {
      case "system":
        return this.onSystem(event);
      case "assistant":
        this.onAssistant(record(event.message));
        return undefined;
      case "user":
        for (const block of blocks(record(event.message).content)) {
          if (block.type !== "tool_result") continue;
          const tool = this.toolNames.get(str(block.tool_use_id) ?? "") ?? null;
          const text = toolResultText(block.content);
          const isError = block.is_error === true;
          const exitCode = tool === "Bash" ? bashExitCode(text, isError) : undefined;
          this.emit({
            type: "tool",
            data: {
              tool,
              result: short(isError ? text.replace(/^Exit code -?\d+\n?/, "") : text),
              isError,
              ...(exitCode !== undefined ? { exitCode } : {}),
              failed: isError,
            },
          });
        }
        return undefined;
      case "result":
        this.onResult(event);
        return undefined;
      default:
        this.emit({ type: "status", data: { event: event.type } });
        return undefined;
    }
  }

  private onSystem(event: Record<string, unknown>): "stop" | undefined {
    const subtype = str(event.subtype) ?? "system";
    if (subtype === "init") {
      this.state.sessionId = str(event.session_id);
      this.state.model = str(event.model);
      this.emit({
        type: "status",
        data: { event: "session", sessionId: this.state.sessionId, model: this.state.model },
      });
      return undefined;
    }
    if (subtype === "api_retry") {
      const status = typeof event.error_status === "number" ? event.error_status : null;
      const error = str(event.error);
      this.emit({ type: "status", data: { event: "api_retry", attempt: event.attempt, status, error } });
      // Claude Code retries a 401 ten times over several minutes. The first retry may follow an
      // OAuth refresh and succeed; a second rejection will not heal.
      const rejected = status === 401 || status === 403 || error === "authentication_failed";
      if (rejected && typeof event.attempt === "number" && event.attempt >= 2) {
        this.state.authError = `the model API rejected the credential (HTTP ${status ?? "?"}, ${error ?? "no detail"})`;
        return "stop";
      }
      return undefined;
    }
    this.emit({ type: "status", data: { event: subtype } });
    return undefined;
  }

  /**
   * When background tasks finish after a result, Claude Code goes on and prints another one:
   * its `usage` and `num_turns` cover only the part since the previous result, while
   * `modelUsage` and `total_cost_usd` are totals for the session.
   */
  private onResult(event: Record<string, unknown>): void {
    const state = this.state;
    state.result = event;
    state.turns += num(event.num_turns);
    state.sessionId = str(event.session_id) ?? state.sessionId;
    this.resultUsage = addUsage(this.resultUsage, claudeUsage(record(event.usage)));
    const byModel = modelUsageOf(record(event.modelUsage));
    state.usage = byModel.length
      ? byModel.reduce((sum, entry) => addUsage(sum, entry.usage), ZERO_USAGE)
      : this.resultUsage;
    this.emit({ type: "usage", data: { ...state.usage } });
  }

  private onAssistant(message: Record<string, unknown>): void {
    for (const block of blocks(message.content)) {
      if (block.type === "text")
        this.emit({ type: "message", data: { role: "assistant", text: str(block.text) ?? "" } });
      else if (block.type === "thinking")
        this.emit({ type: "message", data: { role: "reasoning", text: str(block.thinking) ?? "" } });
      else if (block.type === "tool_use") {
        if (str(block.id)) this.toolNames.set(str(block.id)!, str(block.name) ?? "?");
        this.emit({
          type: "tool",
          data: { name: str(block.name) ?? "?", input: short(JSON.stringify(block.input ?? {})) },
        });
      }
    }
    // "<synthetic>" messages are Claude Code's own error texts, not model output.
    const id = str(message.id);
    if (!id || message.model === "<synthetic>" || !message.usage) return;
    this.messageUsage.set(id, claudeUsage(record(message.usage)));
    let total = ZERO_USAGE;
    for (const usage of this.messageUsage.values()) total = addUsage(total, usage);
    this.state.usage = total;
    this.emit({ type: "usage", data: { ...total } });
  }
}

/** The harness result for a finished process, from what the parser collected. */
export function claudeResult(
  state: ClaudeRunState,
  proc: CliProcess,
  context: { command: string; aborted: boolean },
): HarnessResult {
  const result = state.result;
  const text = result ? str(result.result) : null;
  const { fail, succeed } = cliResult(proc, {
    finalMessage: text,
    usage: state.usage,
    costUsd: result && typeof result.total_cost_usd === "number" ? result.total_cost_usd : 0,
    modelUsage: result ? modelUsageOf(record(result.modelUsage)) : [],
    turns: result ? state.turns : null,
    sessionId: state.sessionId,
  });
  // Claude Code enforces its own turn cap (reported in the result), and a result it reported
  // before the run was aborted still counts.
  const failure = cliFailure({ name: "claude", command: context.command }, proc, state, {
    aborted: context.aborted && !result,
  });
  if (failure) return fail(failure);
  if (!result) return fail(endedEarly("claude", proc, "reporting a result"));
  const subtype = str(result.subtype) ?? "unknown";
  if (subtype === "success" && result.is_error !== true) return succeed();
  const errors = Array.isArray(result.errors)
    ? result.errors.filter((e): e is string => typeof e === "string")
    : [];
  const detail = text ?? (errors.join("; ") || subtype);
  if (subtype === "error_max_turns") return fail("LOOPD_TURN_LIMIT", `claude reached maxTurns: ${detail}`);
  const status = result.api_error_status;
  if (
    status === 401 ||
    status === 403 ||
    result.api_error_type === "authentication_error" ||
    AUTH_TEXT.test(detail)
  ) {
    // "Not logged in" means there never was a credential; everything else is a rejected one.
    const code = /not logged in/i.test(detail) ? "LOOPD_AUTH_MISSING" : "LOOPD_AUTH_EXPIRED";
    return fail(code, `claude: ${detail}${typeof status === "number" ? ` (HTTP ${status})` : ""}`);
  }
  if (subtype === "error_max_budget_usd")
    return fail("LOOPD_BUDGET_EXCEEDED", `claude stopped at the run's budget (perRun): ${detail}`);
  return fail("LOOPD_AGENT_FAILED", `claude: ${detail}`);
}

/** loopd's convention: tokensIn excludes cache reads but includes cache writes. */
export function claudeUsage(usage: Record<string, unknown>): TokenUsage {
  return {
    tokensIn: num(usage.input_tokens) + num(usage.cache_creation_input_tokens),
    tokensCached: num(usage.cache_read_input_tokens),
    tokensOut: num(usage.output_tokens),
    tokensReasoning: num(record(usage.output_tokens_details).thinking_tokens),
  };
}

function modelUsageOf(byModel: Record<string, unknown>): ModelUsage[] {
  return Object.entries(byModel).map(([model, value]) => {
    const u = record(value);
    const usage: TokenUsage = {
      tokensIn: num(u.inputTokens) + num(u.cacheCreationInputTokens),
      tokensCached: num(u.cacheReadInputTokens),
      tokensOut: num(u.outputTokens),
      tokensReasoning: num(u.thinkingTokens),
    };
    return { model, usage, costUsd: num(u.costUSD) };
  });
}

/**
 * A Bash result's exit code: Claude Code starts a failed command's result with "Exit code N";
 * a result that is no error is a command that exited 0. Null when an error says no code
 * (the command was refused, or timed out).
 */
function bashExitCode(text: string, isError: boolean): number | null {
  if (!isError) return 0;
  const code = /^Exit code (-?\d+)/.exec(text)?.[1];
  return code === undefined ? null : Number(code);
}

function toolResultText(content: unknown): string {
  if (typeof content === "string") return content;
  return blocks(content)
    .map((block) => str(block.text) ?? `[${str(block.type) ?? "?"}]`)
    .join("\n");
}

function blocks(content: unknown): Record<string, unknown>[] {
  return Array.isArray(content) ? content.map(record) : [];
}
