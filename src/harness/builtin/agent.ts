/**
 * The `builtin` harness: loopd's own small coding agent, in process, on the Vercel AI SDK.
 * It talks to Anthropic, OpenAI (Responses API) or any OpenAI-compatible server, edits the
 * run's workspace through confined file tools and a shell, and can delegate to sub-agents on
 * other models. No CLI to install; the only precondition is a key (or a local server), which
 * preflight tries against the provider's model list (auth-probe.ts).
 */
import { createRequire } from "node:module";
import { DEFAULT_PRICING, type PricingTable } from "../../domain/pricing.js";
import { probeAuth, probedAuth, rejectedKeyHint } from "../auth-probe.js";
import { failedToStart, notAnAgentTask, summaryOf } from "../cli-adapter.js";
import type {
  AgentInput,
  Harness,
  HarnessEvent,
  HarnessInput,
  HarnessResult,
  PreflightInput,
  PreflightResult,
} from "../harness.js";
import { type BashSandbox, openBashSandbox } from "./bash.js";
import { ConfinedShell } from "./confined-shell.js";
import { toRunError } from "./errors.js";
import { builtinInstructions, runAgentLoop } from "./loop.js";
import { anthropicBaseUrl, KEY_VARS, type ModelTarget, resolveTarget } from "./providers.js";
import { type ResolvedSubAgent, subAgentTools } from "./sub-agents.js";
import { type ToolEvent, workspaceTools } from "./tools.js";
import { UsageLedger } from "./usage.js";
import { openWorkspace, type Workspace } from "./workspace.js";

export const BUILTIN_ENV_KEYS = [
  "ANTHROPIC_API_KEY",
  "ANTHROPIC_BASE_URL",
  "OPENAI_API_KEY",
  "OPENAI_BASE_URL",
  "LOOPD_OPENAI_COMPATIBLE_API_KEY",
] as const;

export interface BuiltinHarnessOptions {
  pricing?: PricingTable;
}

export function createBuiltinHarness(options: BuiltinHarnessOptions = {}): Harness {
  const pricing = options.pricing ?? DEFAULT_PRICING;
  return {
    name: "builtin",
    envKeys: BUILTIN_ENV_KEYS,
    preflight: async (input) => preflight(input),
    run: (input, emit) => run(input, emit, pricing),
  };
}

export const builtinHarness: Harness = createBuiltinHarness();

async function run(
  input: HarnessInput,
  emit: (event: HarnessEvent) => void,
  pricing: PricingTable,
): Promise<HarnessResult> {
  const agent = input.agent;
  if (!agent) return notAnAgentTask("builtin");
  // Every model is checked before the first request, so a sub-agent's missing key fails the
  // run up front instead of halfway through it.
  const main = resolveTarget(agent.model, agent.baseUrl, input.env);
  if (!main.ok) return failedToStart(main.code, main.message);
  const subAgents: ResolvedSubAgent[] = [];
  for (const spec of agent.subAgents) {
    const resolved = resolveTarget(spec.model, spec.baseUrl, input.env);
    if (!resolved.ok) return failedToStart(resolved.code, `sub-agent ${spec.name}: ${resolved.message}`);
    subAgents.push({ spec, target: resolved.target });
  }
  const workspace = await openWorkspace(input.cwd).catch(() => null);
  if (!workspace) return failedToStart("LOOPD_REPO_NOT_FOUND", `repo folder ${input.cwd} does not exist`);
  const opened = await openBashSandbox({ request: input.sandbox, cwd: input.cwd, env: input.env, emit });
  // confined-harness.ts refuses `required` first; a probe that changed its mind since must not run unconfined.
  if (opened.kind === "refused") return failedToStart(opened.error.code, opened.error.message);
  const sandbox = opened.kind === "confined" ? opened.sandbox : null;
  // One confined shell for the run's bash calls, started by the first one (confined-shell.ts).
  const shell = sandbox ? new ConfinedShell(sandbox, input.cwd) : null;
  try {
    return await runAgent(input, emit, pricing, {
      agent,
      main: main.target,
      subAgents,
      workspace,
      sandbox: sandbox && shell ? { file: sandbox.file, wrap: sandbox.wrap, env: sandbox.env, shell } : null,
    });
  } finally {
    await shell?.close();
    await sandbox?.close();
  }
}

async function runAgent(
  input: HarnessInput,
  emit: (event: HarnessEvent) => void,
  pricing: PricingTable,
  ctx: {
    agent: AgentInput;
    main: ModelTarget;
    subAgents: ResolvedSubAgent[];
    workspace: Workspace;
    sandbox: BashSandbox | null;
  },
): Promise<HarnessResult> {
  const { agent, subAgents, workspace, sandbox } = ctx;

  const ledger = new UsageLedger(pricing);
  // A sub-agent's fatal error (credentials rejected) stops the main loop through this signal.
  const stop = new AbortController();
  let fatal: { error: unknown; model: string } | null = null;
  const signal = AbortSignal.any([input.signal, stop.signal]);
  const onToolEvent = (event: ToolEvent) => emit({ type: "tool", data: event });
  const tools = {
    ...workspaceTools({ workspace, env: input.env, sandbox, signal, agent: "main", onEvent: onToolEvent }),
    ...subAgentTools(subAgents, {
      workspace,
      env: input.env,
      sandbox,
      signal,
      ledger,
      emit,
      onToolEvent,
      onFatal: (error, model) => {
        fatal ??= { error, model };
        stop.abort(error);
      },
    }),
  };
  const report = () => ({ usage: ledger.total(), costUsd: ledger.costUsd(), modelUsage: ledger.models() });
  try {
    const result = await runAgentLoop({
      agent: "main",
      target: ctx.main,
      system: [builtinInstructions(input.cwd), agent.systemPrompt].filter((part) => part.trim()).join("\n\n"),
      prompt: agent.prompt,
      tools,
      maxTurns: agent.maxTurns,
      signal,
      ledger,
      emit,
    });
    const base = {
      exitCode: null,
      summary: summaryOf(result.text),
      finalMessage: result.text || null,
      turns: result.steps,
      sessionId: null,
      ...report(),
    };
    if (result.hitTurnLimit) {
      return {
        ...base,
        outcome: "failed",
        error: {
          code: "LOOPD_TURN_LIMIT",
          message: `stopped after ${agent.maxTurns} turns while still working`,
        },
      };
    }
    return { ...base, outcome: "succeeded", error: null };
  } catch (error) {
    // After a sub-agent's fatal error the main loop ends with an abort; report the cause.
    const cause = fatal ?? { error, model: ctx.main.modelId };
    return {
      outcome: "failed",
      exitCode: null,
      summary: null,
      finalMessage: null,
      error: toRunError(cause.error, cause.model),
      turns: null,
      sessionId: null,
      ...report(),
    };
  }
}

async function preflight(input: PreflightInput): Promise<PreflightResult> {
  const base = { harness: "builtin", installed: true, command: null, version: aiVersion() };
  // The run's model (or, when none is known, the default for the keys present: the first
  // hosted provider with a key) resolved exactly as the run will resolve it.
  const target = resolveTarget(input.model ?? null, input.baseUrl, input.env);
  const compatibleKey = KEY_VARS["openai-compatible"];
  const probed: ModelTarget | null =
    target.ok && target.target.apiKey
      ? target.target
      : !input.model && input.baseUrl && input.env[compatibleKey]?.trim()
        ? {
            provider: "openai-compatible",
            modelId: "",
            baseUrl: input.baseUrl,
            apiKey: input.env[compatibleKey],
            keyVar: compatibleKey,
          }
        : null;
  if (probed?.apiKey) {
    const answer = await probeAuth({
      // An OpenAI-compatible server is asked the OpenAI way, at the tier's base URL.
      provider: probed.provider === "anthropic" ? "anthropic" : "openai",
      baseUrl: probed.provider === "anthropic" ? anthropicBaseUrl(probed.baseUrl) : probed.baseUrl,
      key: probed.apiKey,
    });
    const hint = rejectedKeyHint(probed.keyVar, null);
    return { ...base, ...probedAuth(answer, { harness: "builtin", source: probed.keyVar, hint }) };
  }
  if (input.model && !target.ok) {
    // The run's model is known: check exactly what the run will need, without a request.
    return {
      ...base,
      auth: "missing",
      authSource: null,
      error: { code: target.code, message: target.message, hint: MISSING_KEY_HINT },
    };
  }
  // Otherwise a tier base URL pointing at an OpenAI-compatible server counts, which may need
  // no key at all (Ollama, vLLM).
  if (input.baseUrl) return { ...base, auth: "unknown", authSource: null, error: null };
  return {
    ...base,
    auth: "missing",
    authSource: null,
    error: {
      code: "LOOPD_AUTH_MISSING",
      message: "the builtin harness found no model API key (ANTHROPIC_API_KEY or OPENAI_API_KEY)",
      hint: MISSING_KEY_HINT,
    },
  };
}

const MISSING_KEY_HINT =
  "Export ANTHROPIC_API_KEY or OPENAI_API_KEY for loopd, or give the routine's tier a `baseUrl` for an OpenAI-compatible server (Ollama, vLLM).";

let cachedVersion: string | null | undefined;
function aiVersion(): string | null {
  if (cachedVersion === undefined) {
    try {
      const pkg = createRequire(import.meta.url)("ai/package.json") as { version?: string };
      cachedVersion = pkg.version ?? null;
    } catch {
      cachedVersion = null;
    }
  }
  return cachedVersion;
}
