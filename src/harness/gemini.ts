/**
 * The gemini harness: runs Google's Gemini CLI headless (prompt on stdin, `--output-format
 * stream-json`, every tool approved) in the run's folder, and turns what it reports (read by
 * `gemini-events.ts`) into a result with usage, cost and the right error code. Also answers
 * preflight: installed, version, credentials (GEMINI_API_KEY is tried, auth-probe.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_PRICING, type PricingTable } from "../domain/pricing.js";
import { type AgentProcessResult, runAgentProcess } from "./agent-process.js";
import { probeAuth, probedAuth, rejectedKeyHint } from "./auth-probe.js";
import {
  cliFailure,
  cliResult,
  endedEarly,
  locateCli,
  notAnAgentTask,
  pricedModelUsage,
} from "./cli-adapter.js";
import { GeminiEventParser, type GeminiRunState } from "./gemini-events.js";
import type { Harness, HarnessInput, HarnessResult, PreflightInput, PreflightResult } from "./harness.js";

export interface GeminiHarnessOptions {
  /** Executable name or path (`harnesses.gemini.command`); default `gemini` on the run's PATH. */
  command?: string;
  /** Added after loopd's flags, e.g. `--policy <file>` or `--extensions none`. */
  extraArgs?: string[];
  pricing?: PricingTable;
}

/** Gemini CLI's exit code for "no usable credentials" (ExitCodes.FATAL_AUTHENTICATION_ERROR). */
const EXIT_AUTH = 41;
const INSTALL_HINT =
  "Install it with `npm i -g @google/gemini-cli`, or set `harnesses.gemini.command` to its path.";
const LOGIN_HINT =
  "Export GEMINI_API_KEY (https://aistudio.google.com/apikey), or run `gemini` once and sign in with Google.";

export function createGeminiHarness(options: GeminiHarnessOptions = {}): Harness {
  const command = options.command ?? "gemini";
  const pricing = options.pricing ?? DEFAULT_PRICING;
  return {
    name: "gemini",
    envKeys: [
      /^GEMINI_/, // GEMINI_API_KEY, GEMINI_MODEL, GEMINI_CLI_HOME, GEMINI_SYSTEM_MD, …
      /^GOOGLE_(API_KEY|GENAI_USE_(VERTEXAI|GCA)|GEMINI_BASE_URL|VERTEX_BASE_URL|APPLICATION_CREDENTIALS)$/,
      /^GOOGLE_CLOUD_(PROJECT|PROJECT_ID|LOCATION|QUOTA_PROJECT|ACCESS_TOKEN)$/,
      "CLOUD_SHELL",
    ],
    preflight: (input) => preflightGemini(command, input),
    async run(input, emit) {
      const agent = input.agent;
      if (!agent) return notAnAgentTask("gemini");
      const context = agent.systemPrompt ? await contextDir(agent.systemPrompt) : null;
      try {
        const parser = new GeminiEventParser(agent.maxTurns, emit);
        const proc = await runAgentProcess({
          command,
          args: geminiArgs(input, options.extraArgs ?? [], context),
          cwd: input.cwd,
          env: geminiEnv(input),
          // On stdin, not argv: no 128 KiB limit, and a prompt starting with "-" is not a flag.
          // Without -p the CLI runs headless because stdin is not a terminal.
          stdin: agent.prompt,
          signal: input.signal,
          emit,
          sandbox: { request: input.sandbox, harness: "gemini" },
          onLine: (line) => parser.onLine(line),
        });
        parser.finish();
        return geminiResult(parser.state, proc, {
          command,
          aborted: input.signal.aborted,
          maxTurns: agent.maxTurns,
          pricing,
        });
      } finally {
        if (context) await rm(context, { recursive: true, force: true });
      }
    },
  };
}

export const geminiHarness = createGeminiHarness();

/** The command line for one run (exported for tests); the prompt goes on stdin. */
export function geminiArgs(
  input: HarnessInput,
  extraArgs: readonly string[],
  contextDir: string | null,
): string[] {
  const agent = input.agent;
  // Headless runs in a folder the user never trusted interactively are refused, and an
  // untrusted folder turns yolo back into "ask", which headless turns into refusals.
  // yolo approves every tool (shell included): nobody is there to ask, and loopd's escape
  // check catches writes outside the run's folder.
  const args = ["--output-format", "stream-json", "--approval-mode", "yolo", "--skip-trust"];
  if (agent?.model) args.push("--model", agent.model);
  // Gemini CLI reads GEMINI.md itself (the global one, and from the folder up to the repo
  // root), but has no flag to add to its system prompt: GEMINI_SYSTEM_MD replaces the whole
  // prompt, tool instructions included. A GEMINI.md in an included directory is loaded as
  // context next to the repo's own. The agent may also read and write that directory.
  if (contextDir) args.push("--include-directories", contextDir);
  // TODO(loopd#mcp): Gemini CLI takes MCP servers from settings.json only; agent.mcpConfig is not passed.
  args.push(...extraArgs);
  return args;
}

/** The run's environment plus the tier's base URL. */
export function geminiEnv(input: HarnessInput): Record<string, string> {
  const env = { ...input.env };
  // The CLI adds /v1beta/models/… itself; tiers written for other SDKs often end in a version.
  if (input.agent?.baseUrl)
    env.GOOGLE_GEMINI_BASE_URL = input.agent.baseUrl.replace(/\/+$/, "").replace(/\/v1(beta)?$/, "");
  return env;
}

/** A private directory holding loopd's instructions as GEMINI.md. */
async function contextDir(systemPrompt: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "loopd-gemini-"));
  await writeFile(join(dir, "GEMINI.md"), systemPrompt, { mode: 0o600 });
  return dir;
}

/** The run's result from the parsed stream and how the process ended (exported for tests). */
export function geminiResult(
  state: GeminiRunState,
  proc: AgentProcessResult,
  context: { command: string; aborted: boolean; maxTurns: number; pricing: PricingTable },
): HarnessResult {
  const { fail, succeed } = cliResult(proc, {
    finalMessage: state.lastMessage,
    usage: state.usage,
    ...pricedModelUsage(state.models, context.pricing),
    turns: state.turns,
    sessionId: state.sessionId,
  });
  const failure = cliFailure({ name: "gemini", command: context.command }, proc, state, context);
  if (failure) return fail(failure);
  // Credential problems found before the first request are printed on stderr, not as JSON.
  const tail = proc.stderrTail
    .filter((line) => !/^\s+at /.test(line))
    .slice(-5)
    .join("\n");
  if (proc.exitCode === EXIT_AUTH) {
    return /Please set an Auth method|Invalid auth method/i.test(tail)
      ? fail("LOOPD_AUTH_MISSING", `gemini has no usable credentials: ${tail}`)
      : fail("LOOPD_AUTH_EXPIRED", `gemini: ${tail || "authentication failed"}`);
  }
  if (state.failure) return fail("LOOPD_AGENT_FAILED", `gemini: ${state.failure}`);
  if (!state.completed || proc.exitCode !== 0) return fail(endedEarly("gemini", proc, "finishing", tail));
  return succeed();
}

async function preflightGemini(command: string, input: PreflightInput): Promise<PreflightResult> {
  const found = await locateCli("gemini", command, input, INSTALL_HINT);
  if (!found.installed) return found;
  const auth = geminiAuth(input.env, input.baseUrl);
  if (auth.state === "missing") {
    return {
      ...found,
      auth: "missing",
      error: { code: "LOOPD_AUTH_MISSING", message: auth.message, hint: auth.hint },
    };
  }
  if (auth.source === "GEMINI_API_KEY" && input.env.GEMINI_API_KEY) {
    // Asked where the run will talk: the tier's base URL (geminiEnv) or GOOGLE_GEMINI_BASE_URL.
    const answer = await probeAuth({
      provider: "gemini",
      baseUrl: input.baseUrl ?? input.env.GOOGLE_GEMINI_BASE_URL ?? null,
      key: input.env.GEMINI_API_KEY,
    });
    const hint = rejectedKeyHint("GEMINI_API_KEY", "run `gemini` once to sign in with Google");
    return { ...found, ...probedAuth(answer, { harness: "gemini", source: auth.source, hint }) };
  }
  return { ...found, auth: auth.state, authSource: auth.source, error: null };
}

type GeminiAuth =
  | { state: "ok" | "unknown"; source: string }
  | { state: "missing"; message: string; hint: string };

/**
 * Where the CLI will take credentials from, checked the way it picks them: the auth type
 * chosen in settings.json (written by the interactive `gemini` login), else the environment.
 */
export function geminiAuth(env: Record<string, string>, baseUrl: string | null): GeminiAuth {
  const dir = join(env.GEMINI_CLI_HOME || env.HOME || homedir(), ".gemini");
  const selected = selectedAuthType(join(dir, "settings.json"));
  const on = (name: string) => env[name] === "true";
  const vertex = selected === "vertex-ai" || (!selected && on("GOOGLE_GENAI_USE_VERTEXAI"));
  if (selected === "oauth-personal" || (!selected && on("GOOGLE_GENAI_USE_GCA"))) {
    // The CLI refreshes an expired access token itself while the refresh token lasts.
    return existsSync(join(dir, "oauth_creds.json"))
      ? { state: "ok", source: "gemini login (Google account)" }
      : {
          state: "missing",
          message: "gemini is set to sign in with Google but has no stored login",
          hint: "Run `gemini` once and sign in with Google.",
        };
  }
  if (vertex) {
    if (env.GOOGLE_API_KEY) return { state: "ok", source: "GOOGLE_API_KEY (Vertex AI)" };
    if (env.GOOGLE_CLOUD_PROJECT && env.GOOGLE_CLOUD_LOCATION)
      return { state: "unknown", source: "Vertex AI (application default credentials)" };
    return {
      state: "missing",
      message:
        "gemini is set to use Vertex AI but has neither GOOGLE_API_KEY nor GOOGLE_CLOUD_PROJECT + GOOGLE_CLOUD_LOCATION",
      hint: "Export GOOGLE_CLOUD_PROJECT and GOOGLE_CLOUD_LOCATION (with `gcloud auth application-default login`), or GOOGLE_API_KEY.",
    };
  }
  if (env.GEMINI_API_KEY) {
    // With a base URL and no auth type in settings, Gemini CLI 0.61 picks its "gateway" auth
    // type, which headless mode then rejects as "Invalid auth method selected".
    if ((baseUrl || env.GOOGLE_GEMINI_BASE_URL) && !selected)
      return {
        state: "missing",
        message:
          "gemini with a base URL needs its auth type in settings.json; without it the CLI refuses to start",
        hint: `Add {"security":{"auth":{"selectedType":"gemini-api-key"}}} to ${join(dir, "settings.json")}.`,
      };
    return { state: "ok", source: "GEMINI_API_KEY" };
  }
  if (selected === "gemini-api-key") return { state: "unknown", source: "gemini (stored API key)" };
  if (selected === "compute-default-credentials" || on("CLOUD_SHELL") || on("GEMINI_CLI_USE_COMPUTE_ADC"))
    return { state: "unknown", source: "Google Cloud metadata server" };
  const message = env.GOOGLE_API_KEY
    ? "gemini has no credentials: GOOGLE_API_KEY is only used with GOOGLE_GENAI_USE_VERTEXAI=true"
    : "gemini has no credentials: no GEMINI_API_KEY and no Google sign-in";
  return { state: "missing", message, hint: LOGIN_HINT };
}

/** `security.auth.selectedType` from the user's settings.json (which may hold comments). */
function selectedAuthType(path: string): string | null {
  try {
    return readFileSync(path, "utf8").match(/"selectedType"\s*:\s*"([^"]+)"/)?.[1] ?? null;
  } catch {
    return null;
  }
}
