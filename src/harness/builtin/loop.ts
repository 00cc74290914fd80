/**
 * One agent loop on the AI SDK: the model is called with the tools, tool results go back to
 * it, and so on until it answers without calling a tool or the step cap (`maxTurns`) is
 * reached. The main agent and each sub-agent run this same loop; every step's usage goes to
 * the run's ledger under the step's model, and becomes a run event as it happens.
 */
import { generateText, type StepResult, stepCountIs, type ToolSet } from "ai";
import type { HarnessEvent } from "../harness.js";
import { createModel, type ModelTarget } from "./providers.js";
import { toTokenUsage, type UsageLedger } from "./usage.js";

export interface AgentLoopOptions {
  /** "main", or the sub-agent's name (shown on its events). */
  agent: string;
  target: ModelTarget;
  system: string;
  prompt: string;
  tools: ToolSet;
  maxTurns: number;
  signal: AbortSignal;
  ledger: UsageLedger;
  emit: (event: HarnessEvent) => void;
}

export interface AgentLoopResult {
  /** The last thing the agent said (empty when it never produced text). */
  text: string;
  steps: number;
  /** Stopped by the step cap while it still wanted to call tools. */
  hitTurnLimit: boolean;
}

/** Retries on 429/5xx before a step fails; 401/403 and other 4xx are not retried by the SDK. */
const MAX_RETRIES = 2;

export async function runAgentLoop(options: AgentLoopOptions): Promise<AgentLoopResult> {
  const { agent, target, ledger, emit } = options;
  const result = await generateText({
    model: createModel(target),
    system: options.system,
    prompt: options.prompt,
    tools: target.provider === "openai" ? nonStrict(options.tools) : options.tools,
    stopWhen: stepCountIs(Math.max(1, options.maxTurns)),
    abortSignal: options.signal,
    maxRetries: MAX_RETRIES,
    onStepFinish: (step) => {
      const usage = toTokenUsage(step.usage);
      ledger.add(target.modelId, usage);
      emit({ type: "usage", data: { agent, step: step.stepNumber + 1, model: target.modelId, usage } });
      const text = step.text.trim();
      if (text) emit({ type: "message", data: { agent, role: "assistant", text } });
    },
  });
  const steps = result.steps;
  const last = steps.at(-1);
  return {
    text: finalText(steps),
    steps: steps.length,
    hitTurnLimit: last !== undefined && last.toolCalls.length > 0 && steps.length >= options.maxTurns,
  };
}

/**
 * The Responses API treats a function tool without `strict` as strict, and strict schemas
 * must list every property as required: our optional arguments (offset, limit, glob…) would
 * be rejected. Other providers warn about a `strict` flag they do not support, so only
 * OpenAI's tools carry it.
 */
function nonStrict(tools: ToolSet): ToolSet {
  return Object.fromEntries(Object.entries(tools).map(([name, tool]) => [name, { ...tool, strict: false }]));
}

/** The last step's text, or the latest earlier text when the final step only called tools. */
function finalText(steps: ReadonlyArray<StepResult<ToolSet>>): string {
  for (let i = steps.length - 1; i >= 0; i--) {
    const text = steps[i]?.text.trim();
    if (text) return text;
  }
  return "";
}

/** The builtin part of every system prompt; the routine's own text is appended after it. */
export function builtinInstructions(cwd: string): string {
  return [
    `You are loopd's builtin coding agent, running unattended as a scheduled background job in ${cwd}.`,
    "Nobody will answer questions during the run: decide, act with the tools, and verify your work (run the tests or checks the project has).",
    "All file paths are relative to that folder; file tools cannot reach outside it.",
    "Prefer edit_file for small changes to existing files, read a file before editing it, and keep changes focused on the task.",
    "When you are done, reply without calling tools: start with a one-line summary of the outcome, then any details.",
  ].join("\n");
}
