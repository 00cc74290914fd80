/**
 * A run's sandbox for shell commands loopd runs on the agent's behalf — the builtin agent's
 * bash tool, the routine's `verify` — rather than for an agent CLI: the run's profile (its
 * setting, its worktree and git dirs, its allowed hosts and git remotes), but no model
 * endpoint and no model API key, which are loopd's business, not the command's.
 */
import type { HarnessEvent } from "../harness.js";
import type { SandboxRequest } from "./request.js";
import { openSandbox, type SandboxOutcome } from "./sandbox.js";

/**
 * The model credentials a confined command never sees: the builtin's providers' key
 * variables (a sub-agent may use another provider than the main model) and the agent CLIs'
 * ones a routine's env may carry.
 */
export const MODEL_KEY_VARS: readonly string[] = [
  "ANTHROPIC_API_KEY",
  "ANTHROPIC_AUTH_TOKEN",
  "CLAUDE_CODE_OAUTH_TOKEN",
  "OPENAI_API_KEY",
  "CODEX_API_KEY",
  "LOOPD_OPENAI_COMPATIBLE_API_KEY",
  "GEMINI_API_KEY",
  "GOOGLE_GENERATIVE_AI_API_KEY",
];

/** The run's environment without the model keys. */
export function withoutModelKeys(env: Record<string, string>): Record<string, string> {
  const out = { ...env };
  for (const key of MODEL_KEY_VARS) delete out[key];
  return out;
}

export function openCommandSandbox(input: {
  request: SandboxRequest | null | undefined;
  /** The harness whose config the synthetic HOME holds (`builtin`: none but git's). */
  harness: string;
  cwd: string;
  env: Record<string, string>;
  emit: (event: HarnessEvent) => void;
  note?: string;
  /** See OpenSandboxInput.quiet. */
  quiet?: boolean;
}): Promise<SandboxOutcome> {
  const request = input.request ? { ...input.request, loopback: [], hosts: [] } : input.request;
  return openSandbox({
    request,
    harness: input.harness,
    cwd: input.cwd,
    env: withoutModelKeys(input.env),
    command: "/bin/sh",
    args: [],
    emit: input.emit,
    ...(input.note !== undefined ? { note: input.note } : {}),
    ...(input.quiet ? { quiet: true } : {}),
  });
}
