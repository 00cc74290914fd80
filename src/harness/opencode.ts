/**
 * The opencode harness: runs `opencode run --format json` (prompt on stdin, permissions
 * auto-approved) in the run's folder, and turns what it reports (read by
 * `opencode-events.ts`) into a result with usage, cost and the right error code. loopd's
 * instructions and a tier's OpenAI-compatible server reach opencode through
 * OPENCODE_CONFIG_CONTENT. Also answers preflight: installed, version, credentials (the key
 * the run's model will use is tried when loopd can tell which, auth-probe.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { costOf, DEFAULT_PRICING, type PricingTable } from "../domain/pricing.js";
import { type AgentProcessResult, runAgentProcess } from "./agent-process.js";
import {
  type ProbeProvider,
  type ProbeTarget,
  probeAuth,
  probedAuth,
  rejectedKeyHint,
} from "./auth-probe.js";
import {
  cliFailure,
  cliResult,
  endedEarly,
  failedToStart,
  locateCli,
  notAnAgentTask,
} from "./cli-adapter.js";
import type { Harness, HarnessInput, HarnessResult, PreflightInput, PreflightResult } from "./harness.js";
import { OpencodeEventParser, type OpencodeRunState } from "./opencode-events.js";

export interface OpencodeHarnessOptions {
  /** Executable name or path (`harnesses.opencode.command`); default `opencode` on the run's PATH. */
  command?: string;
  /** Added after loopd's flags, e.g. `--agent plan` or `--variant high`. */
  extraArgs?: string[];
  pricing?: PricingTable;
}

/** The provider id loopd defines when a tier gives a base URL. */
export const OPENCODE_PROVIDER = "loopd";
/** API keys of the providers opencode knows best; any one of them is a usable credential. */
const PROVIDER_KEYS = [
  "ANTHROPIC_API_KEY",
  "OPENAI_API_KEY",
  "OPENROUTER_API_KEY",
  "GOOGLE_GENERATIVE_AI_API_KEY",
  "GEMINI_API_KEY",
  "GROQ_API_KEY",
  "MISTRAL_API_KEY",
  "DEEPSEEK_API_KEY",
  "XAI_API_KEY",
  "FIREWORKS_API_KEY",
  "TOGETHER_AI_API_KEY",
  "CEREBRAS_API_KEY",
];
const INSTALL_HINT =
  "Install it with `npm i -g opencode-ai`, or set `harnesses.opencode.command` to its path.";
const LOGIN_HINT =
  "Run `opencode auth login`, or export a provider's API key (ANTHROPIC_API_KEY, OPENAI_API_KEY, …).";

export function createOpencodeHarness(options: OpencodeHarnessOptions = {}): Harness {
  const command = options.command ?? "opencode";
  const pricing = options.pricing ?? DEFAULT_PRICING;
  return {
    name: "opencode",
    envKeys: [
      /^OPENCODE_/,
      ...PROVIDER_KEYS,
      // Bedrock, Azure and Vertex providers take their cloud's usual credentials.
      /^AWS_/,
      /^AZURE_/,
      /^(GOOGLE_APPLICATION_CREDENTIALS|GOOGLE_CLOUD_PROJECT|GOOGLE_VERTEX_LOCATION)$/,
    ],
    preflight: (input) => preflightOpencode(command, input),
    async run(input, emit) {
      const agent = input.agent;
      if (!agent) return notAnAgentTask("opencode");
      if (agent.baseUrl && !agent.model)
        return failedToStart(
          "LOOPD_AGENT_FAILED",
          "opencode needs a model name to use the tier's baseUrl; give the tier a `model`",
        );
      const dir = agent.systemPrompt ? await mkdtemp(join(tmpdir(), "loopd-opencode-")) : null;
      try {
        const instructions = dir ? join(dir, "loopd-instructions.md") : null;
        if (instructions) await writeFile(instructions, agent.systemPrompt, { mode: 0o600 });
        const parser = new OpencodeEventParser(agent.maxTurns, emit);
        const proc = await runAgentProcess({
          command,
          args: opencodeArgs(input, options.extraArgs ?? []),
          cwd: input.cwd,
          env: opencodeEnv(input, instructions),
          // On stdin, not argv: no 128 KiB limit, and a prompt starting with "-" is not a flag.
          stdin: agent.prompt,
          signal: input.signal,
          emit,
          sandbox: { request: input.sandbox, harness: "opencode" },
          onLine: (line) => parser.onLine(line),
        });
        const model = agent.model ?? "opencode-default";
        return opencodeResult(parser.state, proc, {
          command,
          model,
          aborted: input.signal.aborted,
          maxTurns: agent.maxTurns,
          pricing,
        });
      } finally {
        if (dir) await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

export const opencodeHarness = createOpencodeHarness();

/** The command line for one run (exported for tests); the prompt goes on stdin. */
export function opencodeArgs(input: HarnessInput, extraArgs: readonly string[]): string[] {
  const agent = input.agent;
  // --auto answers opencode's permission prompts with "once" (without it `run` rejects them,
  // so edits and shell commands fail); rules a user set to "deny" still hold.
  const args = ["run", "--format", "json", "--auto", "--thinking"];
  const model =
    agent?.baseUrl && agent.model
      ? `${OPENCODE_PROVIDER}/${agent.model}`
      : opencodeModel(agent?.model ?? null);
  if (model) args.push("--model", model);
  args.push(...extraArgs);
  return args;
}

/**
 * opencode names models `provider/model`; routines and tiers often give the bare id used by
 * the other harnesses (`claude-sonnet-4-5`, `gpt-5`), so the provider is added for those.
 */
export function opencodeModel(model: string | null): string | null {
  if (!model || model.includes("/")) return model;
  if (/^claude-/.test(model)) return `anthropic/${model}`;
  if (/^(gpt-|o\d|codex-)/.test(model)) return `openai/${model}`;
  if (/^gemini-/.test(model)) return `google/${model}`;
  return model;
}

/**
 * The run's environment plus loopd's part of the config: the instructions file (opencode
 * loads AGENTS.md, else CLAUDE.md or CONTEXT.md, by itself) and the tier's server as an
 * OpenAI-compatible provider whose key is OPENAI_API_KEY, as for codex. A routine's own
 * OPENCODE_CONFIG_CONTENT is kept and added to.
 */
export function opencodeEnv(input: HarnessInput, instructionsFile: string | null): Record<string, string> {
  // A background run must not update opencode mid-run; the routine's env may turn it back on.
  const env: Record<string, string> = { OPENCODE_DISABLE_AUTOUPDATE: "1", ...input.env };
  const agent = input.agent;
  if (!instructionsFile && !agent?.baseUrl) return env;
  const config = parseObject(env.OPENCODE_CONFIG_CONTENT);
  if (instructionsFile) {
    const own = Array.isArray(config.instructions) ? config.instructions : [];
    config.instructions = [...own, instructionsFile];
  }
  if (agent?.baseUrl && agent.model) {
    config.provider = {
      ...(typeof config.provider === "object" && config.provider !== null ? config.provider : {}),
      [OPENCODE_PROVIDER]: {
        npm: "@ai-sdk/openai-compatible",
        name: "loopd",
        options: { baseURL: agent.baseUrl.replace(/\/+$/, ""), apiKey: "{env:OPENAI_API_KEY}" },
        models: { [agent.model]: { name: agent.model } },
      },
    };
  }
  env.OPENCODE_CONFIG_CONTENT = JSON.stringify(config);
  return env;
}

/** The run's result from the parsed stream and how the process ended (exported for tests). */
export function opencodeResult(
  state: OpencodeRunState,
  proc: AgentProcessResult,
  context: { command: string; model: string; aborted: boolean; maxTurns: number; pricing: PricingTable },
): HarnessResult {
  // opencode prices what models.dev lists; a model it cannot price reports 0.
  const costUsd =
    state.costUsd > 0
      ? Math.round(state.costUsd * 1e6) / 1e6
      : costOf(context.model, state.usage, context.pricing);
  const { fail, succeed } = cliResult(proc, {
    finalMessage: state.lastMessage,
    usage: state.usage,
    costUsd,
    modelUsage: [{ model: context.model, usage: state.usage, costUsd }],
    turns: state.turns,
    sessionId: state.sessionId,
  });
  const failure = cliFailure({ name: "opencode", command: context.command }, proc, state, context);
  if (failure) return fail(failure);
  if (state.failure) return fail("LOOPD_AGENT_FAILED", `opencode: ${state.failure}`);
  if (!state.finished || proc.exitCode !== 0) return fail(endedEarly("opencode", proc, "finishing"));
  return succeed();
}

async function preflightOpencode(command: string, input: PreflightInput): Promise<PreflightResult> {
  const found = await locateCli("opencode", command, input, INSTALL_HINT);
  if (!found.installed) return found;
  const auth = opencodeAuth(input.env, input.cwd, input.baseUrl);
  if (auth) {
    const key = probedKey(input, auth.source);
    if (!key) return { ...found, auth: auth.state, authSource: auth.source, error: null };
    const answer = await probeAuth(key.target);
    const hint = rejectedKeyHint(key.source, "run `opencode auth login`");
    return { ...found, ...probedAuth(answer, { harness: "opencode", source: key.source, hint }) };
  }
  const message = "opencode has no credentials: nothing in `opencode auth list` and no provider API key";
  return { ...found, auth: "missing", error: { code: "LOOPD_AUTH_MISSING", message, hint: LOGIN_HINT } };
}

/** opencode's provider ids for the APIs auth-probe.ts can ask, with their key variables. */
const PROBED_PROVIDERS: Readonly<Record<string, { provider: ProbeProvider; keys: readonly string[] }>> = {
  anthropic: { provider: "anthropic", keys: ["ANTHROPIC_API_KEY"] },
  openai: { provider: "openai", keys: ["OPENAI_API_KEY"] },
  google: { provider: "gemini", keys: ["GOOGLE_GENERATIVE_AI_API_KEY", "GEMINI_API_KEY"] },
};

/**
 * The key a run will send, when loopd can tell: the tier's server takes OPENAI_API_KEY
 * (opencodeEnv); otherwise the model's provider's key from the environment, unless `opencode
 * auth login` stored one (which opencode prefers, and loopd does not read). Null: presence only.
 */
function probedKey(input: PreflightInput, source: string): { target: ProbeTarget; source: string } | null {
  if (input.baseUrl && input.model) {
    const key = input.env.OPENAI_API_KEY;
    return key
      ? { target: { provider: "openai", baseUrl: input.baseUrl, key }, source: "OPENAI_API_KEY" }
      : null;
  }
  if (source.startsWith("opencode auth login")) return null;
  const provider = opencodeModel(input.model ?? null)?.split("/")[0];
  const known = provider ? PROBED_PROVIDERS[provider] : undefined;
  const keyVar = known?.keys.find((name) => input.env[name]);
  if (!known || !keyVar) return null;
  return { target: { provider: known.provider, baseUrl: null, key: input.env[keyVar]! }, source: keyVar };
}

/**
 * Where opencode will find credentials, without starting it: the logins `opencode auth
 * login` stores in its data folder (what `opencode auth list` shows), a provider key in the
 * environment, or a provider set up in config (its key cannot be checked from outside).
 */
export function opencodeAuth(
  env: Record<string, string>,
  cwd: string,
  baseUrl: string | null,
): { state: "ok" | "unknown"; source: string } | null {
  const data = env.XDG_DATA_HOME || join(env.HOME || homedir(), ".local", "share");
  const stored = Object.keys(parseObject(readText(join(data, "opencode", "auth.json"))));
  if (stored.length > 0) return { state: "ok", source: `opencode auth login (${stored.join(", ")})` };
  const key = PROVIDER_KEYS.find((name) => env[name]);
  if (key) return { state: "ok", source: key };
  // Local OpenAI-compatible servers (Ollama, vLLM) usually take no key at all.
  if (baseUrl) return { state: "unknown", source: "the tier's baseUrl" };
  const configDir = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
  const configs = [
    env.OPENCODE_CONFIG_CONTENT ?? null,
    ...[
      env.OPENCODE_CONFIG,
      join(configDir, "opencode", "opencode.json"),
      join(configDir, "opencode", "opencode.jsonc"),
    ]
      .concat([join(cwd, "opencode.json"), join(cwd, "opencode.jsonc")])
      .map((path) => (path && existsSync(path) ? readText(path) : null)),
  ];
  if (configs.some((text) => text !== null && /"provider"\s*:/.test(text)))
    return { state: "unknown", source: "a provider in opencode's config" };
  return null;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

function parseObject(text: string | null | undefined): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text ?? "");
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}
