/**
 * The claude harness: runs Claude Code headless (`claude -p --output-format stream-json`) in
 * the run's folder and translates its JSON lines (system init, assistant, user tool results,
 * the final result) into run events and a result. Claude Code enforces `--max-turns` and
 * `--max-budget-usd` itself and prices its own usage, so the adapter only stops it early when
 * it keeps retrying a rejected credential.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { addUsage, ZERO_USAGE } from "../domain/pricing.js";
import type { TokenUsage } from "../domain/run-report.js";
import { type AgentProcessResult, parseJsonLine, runAgentProcess } from "./agent-process.js";
import { commandVersion, findExecutable } from "./executable.js";
import type {
  Harness,
  HarnessEvent,
  HarnessInput,
  HarnessResult,
  ModelUsage,
  PreflightInput,
  PreflightResult,
} from "./harness.js";

export interface ClaudeHarnessOptions {
  /** Executable name or path (`harnesses.claude.command`); default `claude` on the run's PATH. */
  command?: string;
  /** Added after loopd's flags, e.g. `--allowedTools WebFetch` or `--fallback-model`. */
  extraArgs?: string[];
}

const MAX_SUMMARY = 200;
/** Linux refuses a single argument over 128 KiB; a longer system prompt goes through a file. */
const MAX_ARG_BYTES = 100_000;
/** Result and error texts Claude Code writes when the credential is the problem. */
const AUTH_TEXT =
  /invalid api key|please run \/login|not logged in|authentication_error|authentication_failed|oauth token has expired|API Error: 40[13]\b/i;
const INSTALL_HINT =
  "Install it with `npm i -g @anthropic-ai/claude-code`, or set `harnesses.claude.command` to its path.";
const LOGIN_HINT = "Run `claude` and /login, or export ANTHROPIC_API_KEY.";

export function createClaudeHarness(options: ClaudeHarnessOptions = {}): Harness {
  const command = options.command ?? "claude";
  return {
    name: "claude",
    envKeys: [
      /^ANTHROPIC_/,
      /^CLAUDE_/, // CLAUDE_CONFIG_DIR, CLAUDE_CODE_* (OAuth token, Bedrock/Vertex switches, limits)
      /^DISABLE_(AUTOUPDATER|TELEMETRY|ERROR_REPORTING|BUG_COMMAND|COST_WARNINGS|PROMPT_CACHING)/,
      /^(API_TIMEOUT_MS|MAX_THINKING_TOKENS|MAX_MCP_OUTPUT_TOKENS|MCP_TIMEOUT|MCP_TOOL_TIMEOUT)$/,
      /^BASH_(DEFAULT|MAX)_TIMEOUT_MS$/,
      // Bedrock and Vertex credentials, for `CLAUDE_CODE_USE_BEDROCK` / `CLAUDE_CODE_USE_VERTEX`.
      /^AWS_/,
      /^(GOOGLE_APPLICATION_CREDENTIALS|GOOGLE_CLOUD_PROJECT|GCLOUD_PROJECT|CLOUD_ML_REGION)$/,
      /^VERTEX_REGION_/,
      /^OTEL_/, // opt-in OpenTelemetry export (CLAUDE_CODE_ENABLE_TELEMETRY)
    ],
    preflight: (input) => preflightClaude(command, input),
    async run(input, emit) {
      const agent = input.agent;
      if (!agent)
        return failed(
          "LOOPD_HARNESS_MISMATCH",
          "the claude harness runs agent tasks (`prompt` or `template`)",
        );
      const spill =
        Buffer.byteLength(agent.systemPrompt) > MAX_ARG_BYTES ? await spillToFile(agent.systemPrompt) : null;
      try {
        const parser = new ClaudeEventParser(emit);
        const proc = await runAgentProcess({
          command,
          args: claudeArgs(input, options.extraArgs ?? [], spill?.path ?? null),
          cwd: input.cwd,
          env: claudeEnv(input),
          // On stdin, not argv: no 128 KiB limit, and a prompt starting with "-" is not a flag.
          stdin: agent.prompt,
          signal: input.signal,
          emit,
          onLine: (line) => parser.onLine(line),
        });
        return claudeResult(parser.state, proc, { command, aborted: input.signal.aborted });
      } finally {
        if (spill) await rm(spill.dir, { recursive: true, force: true });
      }
    },
  };
}

export const claudeHarness = createClaudeHarness();

/** The command line for one run (exported for tests); the prompt goes on stdin. */
export function claudeArgs(
  input: HarnessInput,
  extraArgs: readonly string[],
  systemPromptFile: string | null = null,
): string[] {
  const agent = input.agent;
  const args = [
    "-p",
    "--output-format",
    "stream-json",
    "--verbose",
    "--max-turns",
    String(agent?.maxTurns ?? 1),
  ];
  // bypassPermissions is refused when running as root, and a headless run has nobody to ask:
  // file edits are accepted, and Bash is allowed outright so routines can run commands. The
  // file tools stay confined to the cwd; Bash is not, which loopd's escape check catches.
  args.push("--permission-mode", "acceptEdits", "--allowedTools", "Bash");
  if (agent?.model) args.push("--model", agent.model);
  if (systemPromptFile) args.push("--append-system-prompt-file", systemPromptFile);
  else if (agent?.systemPrompt) args.push("--append-system-prompt", agent.systemPrompt);
  if (agent?.mcpConfig) args.push("--mcp-config", agent.mcpConfig);
  if (agent?.maxBudgetUsd != null) args.push("--max-budget-usd", String(agent.maxBudgetUsd));
  args.push(...extraArgs);
  return args;
}

/** The run's environment plus the tier's base URL and quiet defaults a daemon needs. */
export function claudeEnv(input: HarnessInput): Record<string, string> {
  // A background run must not update itself mid-run or send analytics; a routine's own env
  // (already in input.env) may still turn these back on.
  const env: Record<string, string> = {
    DISABLE_AUTOUPDATER: "1",
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    ...input.env,
  };
  // Claude Code appends /v1/messages itself; tiers written for other SDKs often end in /v1.
  if (input.agent?.baseUrl)
    env.ANTHROPIC_BASE_URL = input.agent.baseUrl.replace(/\/+$/, "").replace(/\/v1$/, "");
  return env;
}

async function spillToFile(text: string): Promise<{ dir: string; path: string }> {
  const dir = await mkdtemp(join(tmpdir(), "loopd-claude-"));
  const path = join(dir, "system-prompt.md");
  await writeFile(path, text, { mode: 0o600 });
  return { dir, path };
}

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

  constructor(private readonly emit: (event: HarnessEvent) => void) {}

  onLine(line: string): "stop" | undefined {
    const event = parseJsonLine(line);
    if (!event || typeof event.type !== "string") {
      this.emit({ type: "log", stream: "stdout", line });
      return undefined;
    }
    switch (event.type) {
      case "system":
        return this.onSystem(event);
      case "assistant":
        this.onAssistant(record(event.message));
        return undefined;
      case "user":
        for (const block of blocks(record(event.message).content)) {
          if (block.type !== "tool_result") continue;
          this.emit({
            type: "tool",
            data: { result: short(toolResultText(block.content), 200), isError: block.is_error === true },
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
        this.emit({
          type: "tool",
          data: { name: str(block.name) ?? "?", input: short(JSON.stringify(block.input ?? {}), 200) },
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

/** The harness result for a finished process (exported for tests). */
export function claudeResult(
  state: ClaudeRunState,
  proc: Pick<AgentProcessResult, "exitCode" | "signal" | "spawnError" | "stderrTail">,
  context: { command: string; aborted: boolean },
): HarnessResult {
  const result = state.result;
  const text = result ? str(result.result) : null;
  const report = {
    exitCode: proc.exitCode,
    summary: summaryOf(text),
    finalMessage: text,
    usage: state.usage,
    costUsd: result && typeof result.total_cost_usd === "number" ? result.total_cost_usd : 0,
    modelUsage: result ? modelUsageOf(record(result.modelUsage)) : [],
    turns: result ? state.turns : null,
    sessionId: state.sessionId,
  };
  const fail = (code: string, message: string): HarnessResult => ({
    ...report,
    outcome: "failed",
    error: { code, message },
  });
  if (proc.spawnError) {
    return /ENOENT/.test(proc.spawnError)
      ? fail(
          "LOOPD_HARNESS_NOT_INSTALLED",
          `claude is not installed (${context.command}): ${proc.spawnError}`,
        )
      : fail("LOOPD_HARNESS_SPAWN_FAILED", proc.spawnError);
  }
  if (state.authError) return fail("LOOPD_AUTH_EXPIRED", `claude: ${state.authError}`);
  if (!result) {
    if (context.aborted) return fail("LOOPD_AGENT_FAILED", "claude was stopped: the run was aborted");
    const how = proc.signal ? `was killed by ${proc.signal}` : `exited with ${proc.exitCode}`;
    const tail = proc.stderrTail.slice(-5).join("\n") || "no output";
    return fail("LOOPD_AGENT_FAILED", `claude ${how} before reporting a result: ${tail}`);
  }
  const subtype = str(result.subtype) ?? "unknown";
  if (subtype === "success" && result.is_error !== true)
    return { ...report, outcome: "succeeded", error: null };
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

async function preflightClaude(command: string, input: PreflightInput): Promise<PreflightResult> {
  const base = { harness: "claude", installed: false, command: null, version: null, authSource: null };
  const resolved = findExecutable(command, input.env.PATH);
  if (!resolved) {
    const message = `claude (${command}) was not found on the run's PATH`;
    return {
      ...base,
      auth: "unknown",
      error: { code: "LOOPD_HARNESS_NOT_INSTALLED", message, hint: INSTALL_HINT },
    };
  }
  const found = {
    ...base,
    installed: true,
    command: resolved,
    version: await commandVersion(resolved, input.env),
  };
  const key = ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN"].find(
    (name) => input.env[name],
  );
  if (key) return { ...found, auth: "ok", authSource: key, error: null };
  // Bedrock / Vertex / Foundry use their cloud's credentials, which only a real call can check.
  const provider = ["BEDROCK", "VERTEX", "FOUNDRY"].find((name) =>
    /^(1|true|yes)$/i.test(input.env[`CLAUDE_CODE_USE_${name}`] ?? ""),
  );
  if (provider) return { ...found, auth: "unknown", authSource: `CLAUDE_CODE_USE_${provider}`, error: null };

  const login = storedLogin(input.env);
  if (login === "expired") {
    const message = "the stored Claude Code login has expired and cannot be refreshed";
    return { ...found, auth: "expired", error: { code: "LOOPD_AUTH_EXPIRED", message, hint: LOGIN_HINT } };
  }
  if (login === "ok") return { ...found, auth: "ok", authSource: "claude login", error: null };
  // No credentials file: macOS keeps the login in the Keychain, and settings may name an
  // apiKeyHelper. `claude auth status` knows both, answers offline in well under a second.
  const { execa } = await import("execa");
  const status = await execa(resolved, ["auth", "status", "--json"], {
    cwd: input.cwd,
    env: input.env,
    extendEnv: false,
    stdin: "ignore",
    reject: false,
    timeout: 15_000,
    cancelSignal: input.signal,
  });
  const answer = parseJsonLine(String(status.stdout).replace(/\s*\n\s*/g, " "));
  if (answer?.loggedIn === true) {
    return { ...found, auth: "ok", authSource: str(answer.apiKeySource) ?? "claude login", error: null };
  }
  const message =
    "claude has no credentials: no ANTHROPIC_API_KEY and no stored login (`claude auth status`)";
  return { ...found, auth: "missing", error: { code: "LOOPD_AUTH_MISSING", message, hint: LOGIN_HINT } };
}

/**
 * The login Claude Code keeps in `$CLAUDE_CONFIG_DIR` or `~/.claude/.credentials.json` (Linux;
 * macOS uses the Keychain). An expired access token is fine while a refresh token exists:
 * Claude Code refreshes it on the next call.
 */
export function storedLogin(env: Record<string, string>): "ok" | "expired" | null {
  const dir = env.CLAUDE_CONFIG_DIR || join(env.HOME || homedir(), ".claude");
  let oauth: Record<string, unknown>;
  try {
    oauth = record(record(JSON.parse(readFileSync(join(dir, ".credentials.json"), "utf8"))).claudeAiOauth);
  } catch {
    return null;
  }
  if (!str(oauth.accessToken)) return null;
  const expired = typeof oauth.expiresAt === "number" && oauth.expiresAt <= Date.now();
  return expired && !str(oauth.refreshToken) ? "expired" : "ok";
}

function failed(code: string, message: string): HarnessResult {
  return { outcome: "failed", exitCode: null, summary: null, error: { code, message } };
}

function summaryOf(text: string | null): string | null {
  const first = text
    ?.split("\n")
    .find((line) => line.trim())
    ?.trim();
  return first ? short(first, MAX_SUMMARY) : null;
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

function short(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function str(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

function num(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}
