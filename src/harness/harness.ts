/**
 * The harness interface: how a run's task is executed. The engine gives a harness the run's
 * context and an abort signal; the harness streams events and resolves with a result. Agent
 * harnesses (claude, codex, gemini, opencode, builtin) get an `agent` block with the rendered
 * prompt and context, and answer `preflight` (installed? credentials?) before every run and
 * for `loopd doctor`.
 */
import type { CheckResult } from "../domain/check.js";
import type { RoutineSpec } from "../domain/routine-spec.js";
import type { RunReport, TokenUsage } from "../domain/run-report.js";
import type { SandboxRequest } from "./sandbox/request.js";

/** A sub-agent the builtin harness may delegate to (declared per routine). */
export interface SubAgentSpec {
  name: string;
  description: string;
  model: string;
  baseUrl: string | null;
  maxTurns: number;
}

/** What an agent harness needs beyond the run context. */
export interface AgentInput {
  /** The task: the routine's prompt (or template) plus text given when fired. */
  prompt: string;
  /**
   * Text to append to the agent's system prompt: the repo docs the harness does not read by
   * itself, the routine's memory, and loopd's own instructions (where to write memory).
   */
  systemPrompt: string;
  /** Model id, from the routine or its tier; null = the harness's default. */
  model: string | null;
  /** Provider base URL from the tier (OpenAI-compatible servers, proxies); null = default. */
  baseUrl: string | null;
  maxTurns: number;
  /** Per-run USD cap, passed to harnesses that enforce one themselves (claude). */
  maxBudgetUsd: number | null;
  /** Path of an MCP config file for harnesses that take one. */
  mcpConfig: string | null;
  /** Builtin harness only. */
  subAgents: SubAgentSpec[];
}

export interface HarnessInput {
  runId: number;
  routine: string;
  spec: RoutineSpec;
  attempt: number;
  dueAt: number;
  /** Working directory of the run (the repo, or its worktree). */
  cwd: string;
  /** Environment for the process, including the LOOPD_* run context. */
  env: Record<string, string>;
  /** Text given when fired by hand or by an event. */
  input: string | null;
  /** Present for agent harnesses. */
  agent: AgentInput | null;
  /** Aborted on timeout, cancel, lost lease or shutdown; the harness must stop its processes. */
  signal: AbortSignal;
  /**
   * Confine the process from outside (harness/sandbox/). Absent: the registry's wrapper
   * decides from the routine's and the global `sandbox:` (confined-harness.ts); null: none.
   */
  sandbox?: SandboxRequest | null;
}

/**
 * A run event. A `tool` event that reports a finished call carries `failed: boolean`, and a
 * command's `exitCode` when the agent reports one (`loopd logs` prints `→ command … (exit 3)`).
 */
export type HarnessEvent =
  | { type: "log"; stream: "stdout" | "stderr"; line: string }
  | { type: "message" | "tool" | "usage" | "status"; data: unknown };

/** Tokens and dollars per model, for the ledger (a run can use several models). */
export interface ModelUsage {
  model: string;
  usage: TokenUsage;
  costUsd: number;
}

export interface HarnessResult extends RunReport {
  outcome: "succeeded" | "failed";
  /** A watch's check result (the run's task was a check). */
  check?: CheckResult;
  /** The agent's final message, in full (the summary is its first line, shortened). */
  finalMessage?: string | null;
  modelUsage?: ModelUsage[];
  /** Retry at once, without backoff: the next attempt escalates to a stronger tier. */
  retryNow?: boolean;
  /**
   * The attempt's last tool call failed (an error, or a command that exited non-zero), as its
   * `tool` events say (`harness/tool-outcome.ts`). Set by the executor, not the harness.
   */
  lastToolFailed?: boolean;
}

export type AuthState = "ok" | "missing" | "expired" | "unknown";

export interface PreflightInput {
  /** The environment the run will get (allow-listed), so the check sees what the agent sees. */
  env: Record<string, string>;
  cwd: string;
  /** Provider base URL from the routine's tier, if any. */
  baseUrl: string | null;
  /** The model the run will use (routine or tier), if known; lets in-process harnesses check the right key. */
  model?: string | null;
  signal: AbortSignal;
}

export interface PreflightResult {
  harness: string;
  installed: boolean;
  /** Resolved executable (null for in-process harnesses or when not found). */
  command: string | null;
  version: string | null;
  auth: AuthState;
  /** Where credentials come from: "ANTHROPIC_API_KEY", "claude login", "codex login", … */
  authSource: string | null;
  /**
   * How the credential was checked (harness/auth-probe.ts): "accepted by <url>", "rejected by
   * <url>", or why it could not be checked. Absent when only its presence was checked.
   */
  authDetail?: string | null;
  /** Set when the run must not start: LOOPD_HARNESS_NOT_INSTALLED, LOOPD_AUTH_MISSING, LOOPD_AUTH_EXPIRED. */
  error: { code: string; message: string; hint: string } | null;
}

export interface Harness {
  readonly name: string;
  /** Environment variables this harness's process needs, beyond the common allow-list. */
  readonly envKeys?: readonly (string | RegExp)[];
  /**
   * Cheap checks before a run: installed, version, credentials present and accepted (one free
   * request to the provider's model list, or the CLI's login status; see auth-probe.ts).
   */
  preflight?(input: PreflightInput): Promise<PreflightResult>;
  run(input: HarnessInput, emit: (event: HarnessEvent) => void): Promise<HarnessResult>;
}

export type HarnessRegistry = ReadonlyMap<string, Harness>;
