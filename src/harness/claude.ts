/**
 * The claude harness: runs Claude Code headless (`claude -p --output-format stream-json`) in
 * the run's folder and translates its JSON lines (system init, assistant, user tool results,
 * the final result; read by `claude-events.ts`) into run events and a result. Claude Code
 * enforces `--max-turns` and `--max-budget-usd` itself and prices its own usage, so the adapter
 * only stops it early when it keeps retrying a rejected credential. Also answers preflight:
 * installed, version, credentials (a key is tried against the model list, auth-probe.ts).
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { parseJsonLine, runAgentProcess } from "./agent-process.js";
import { probeAuth, probedAuth, rejectedKeyHint } from "./auth-probe.js";
import { ClaudeEventParser, claudeResult } from "./claude-events.js";
import { locateCli, notAnAgentTask, record, str } from "./cli-adapter.js";
import type { Harness, HarnessInput, PreflightInput, PreflightResult } from "./harness.js";

export interface ClaudeHarnessOptions {
  /** Executable name or path (`harnesses.claude.command`); default `claude` on the run's PATH. */
  command?: string;
  /** Added after loopd's flags, e.g. `--allowedTools WebFetch` or `--fallback-model`. */
  extraArgs?: string[];
}

/** Linux refuses a single argument over 128 KiB; a longer system prompt goes through a file. */
const MAX_ARG_BYTES = 100_000;
const INSTALL_HINT =
  "Install it with `npm i -g @anthropic-ai/claude-code`, or set `harnesses.claude.command` to its path.";
const LOGIN_HINT = "Run `claude auth login` (or `claude` and /login), or export ANTHROPIC_API_KEY.";

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
      if (!agent) return notAnAgentTask("claude");
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
          sandbox: { request: input.sandbox, harness: "claude" },
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

async function preflightClaude(command: string, input: PreflightInput): Promise<PreflightResult> {
  const found = await locateCli("claude", command, input, INSTALL_HINT);
  if (!found.installed) return found;
  const key = ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN"].find(
    (name) => input.env[name],
  );
  if (key === "CLAUDE_CODE_OAUTH_TOKEN") {
    // A subscription token (`claude setup-token`) is for Claude Code's own calls; only its
    // presence is checked.
    return { ...found, auth: "ok", authSource: key, error: null };
  }
  if (key) {
    // Asked where the run will talk: the tier's base URL (claudeEnv) or ANTHROPIC_BASE_URL.
    // An auth token (gateways, proxies) goes as a bearer header, as Claude Code sends it.
    const answer = await probeAuth({
      provider: "anthropic",
      baseUrl: input.baseUrl ?? input.env.ANTHROPIC_BASE_URL ?? null,
      key: input.env[key]!,
      scheme: key === "ANTHROPIC_AUTH_TOKEN" ? "bearer" : "key",
    });
    const hint = rejectedKeyHint(key, "log in with `claude auth login`");
    return { ...found, ...probedAuth(answer, { harness: "claude", source: key, hint }) };
  }
  // Bedrock / Vertex / Foundry use their cloud's credentials, which only a real call can check.
  const provider = ["BEDROCK", "VERTEX", "FOUNDRY"].find((name) =>
    /^(1|true|yes)$/i.test(input.env[`CLAUDE_CODE_USE_${name}`] ?? ""),
  );
  if (provider) return { ...found, auth: "unknown", authSource: `CLAUDE_CODE_USE_${provider}`, error: null };

  const login = storedLogin(input.env);
  // A stored login is read, not tried: its token is refreshed by Claude Code itself, so a
  // request with it could fail where the run would not.
  if (login === "expired") {
    const message = "the stored Claude Code login has expired and cannot be refreshed";
    return { ...found, auth: "expired", error: { code: "LOOPD_AUTH_EXPIRED", message, hint: LOGIN_HINT } };
  }
  const notTried = "the stored login was read, not tried with a request";
  if (login === "ok")
    return { ...found, auth: "ok", authSource: "claude login", authDetail: notTried, error: null };
  // No credentials file: macOS keeps the login in the Keychain, and settings may name an
  // apiKeyHelper. `claude auth status` knows both, answers offline in well under a second.
  const { execa } = await import("execa");
  const status = await execa(found.command, ["auth", "status", "--json"], {
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
    const authSource = str(answer.apiKeySource) ?? "claude login";
    return {
      ...found,
      auth: "ok",
      authSource,
      authDetail: "`claude auth status` says logged in",
      error: null,
    };
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
