/**
 * Built-in loops: a deterministic tick that runs first in each run of a routine with a
 * `loop:` entry (set by a template such as `pr-babysit`). A tick reads and acts through plain
 * APIs and git, and hands work to an agent only when there is work for one — through
 * `runAgent`, an ordinary routed agent attempt of the same run (budget, ledger, worktree,
 * verify). The engine (engine/loop-run.ts) supplies the context; loops know no store.
 */
import type { RoutineSpec } from "../domain/routine-spec.js";
import type { LoopSpec } from "../domain/templates/index.js";
import type { TestObservation } from "../domain/test-health.js";
import type { HarnessResult } from "../harness/harness.js";
import type { ShellCommandResult } from "../lib/shell-command.js";
import type { FeedbackMemory } from "./feedback-triage/types.js";

export interface AgentJob {
  /** What the agent is asked, given as the run's input after the routine's own prompt. */
  input: string;
  /** The ref its worktree starts from (a fetched pull request head). */
  base: string;
}

export interface AgentJobResult {
  result: HarnessResult;
  /** The commit holding the agent's work (loopd's commit on the run branch), null when none was made. */
  commit: string | null;
}

/** A short model call a tick may make itself (no agent, no tools): the cheapest declared tier. */
export interface LoopModel {
  tier: string;
  model: string;
  /** One request; its cost is recorded in the ledger on the run. Throws on any failure. */
  ask(prompt: string, options?: { maxOutputTokens?: number }): Promise<string>;
}

export interface LoopItemStore {
  all(): Promise<Map<string, unknown>>;
  put(item: string, state: unknown): Promise<void>;
  forget(items: string[]): Promise<void>;
}

/** ci-health's per-test history (table `test_results`). */
export interface TestHistoryStore {
  /** Records this run's results (every test, every try). */
  record(results: readonly TestObservation[]): Promise<void>;
  /** The results of the routine's last `runs` runs, oldest first. */
  recent(runs: number): Promise<TestObservation[]>;
}

/** What a tick asks of `commandSandbox`: where the commands run and what else they need. */
export interface CommandSandboxInput {
  /** The folder they run in, writable (a scratch worktree of the agent's commit). */
  cwd: string;
  /** Added to their environment. */
  env?: Record<string, string>;
  /** Extra paths they may read (the checkout's dependency folders a scratch worktree links to). */
  readable?: string[];
}

/** Shell commands run in the routine's sandbox (engine/loop-commands.ts); close it when done. */
export interface CommandSandbox {
  /** How they run, for the run's log: in the sandbox, or unconfined and why. */
  description: string;
  confined: boolean;
  run(
    command: string,
    options?: { onLine?: (stream: "stdout" | "stderr", line: string) => void; timeoutMs?: number },
  ): Promise<ShellCommandResult>;
  close(): Promise<void>;
}

export interface LoopContext {
  run: { id: number; attempt: number; routineName: string; trigger: string };
  spec: RoutineSpec;
  loop: LoopSpec;
  /** The daemon's environment (tokens are looked up here, never handed to the agent). */
  env: Record<string, string | undefined>;
  /** The environment of commands the tick runs in the routine's repo (a check command's: the run's context, the routine's `env`). */
  commandEnv: Record<string, string>;
  /** loopd.yaml's `github.apiUrl`, if set. */
  githubApiUrl: string | undefined;
  signal: AbortSignal;
  now(): number;
  /** One line of the run's log. */
  log(line: string): void;
  items: LoopItemStore;
  tests: TestHistoryStore;
  /** feedback-triage's items and clusters (tables `feedback_items`, `feedback_clusters`). */
  feedback: FeedbackMemory;
  /**
   * Opens the routine's sandbox for commands on code the agent wrote (a run's `verify` rules:
   * its `sandbox` setting, `cwd` writable, no model key). Throws LOOPD_SANDBOX_UNAVAILABLE
   * under `sandbox: required` without working confinement.
   */
  commandSandbox(input: CommandSandboxInput): Promise<CommandSandbox>;
  /** At most one agent job per tick: the per-tick spend cap, on top of the routine's budget. */
  runAgent(job: AgentJob): Promise<AgentJobResult>;
  /** The cheapest tier for a short call of the tick's own; null when no tier is declared or its key is missing. */
  model: LoopModel | null;
  /**
   * A notification through the routine's `notify` rules: `needs_attention` (a person must look:
   * sent to rules asking for `failure`), `fixed` (sent to rules asking for `success`) or
   * `report` (a loop's digest, Markdown in `summary`: sent to rules asking for `report`).
   */
  notify(event: {
    kind: "needs_attention" | "fixed" | "report";
    summary: string;
    url: string | null;
  }): Promise<void>;
}

export interface LoopOutcome {
  summary: string;
  /** The agent attempt the tick started, if any: its usage and cost become the run's. */
  agent: HarnessResult | null;
  /** A pull request (or item) the tick could not handle: the run fails with it, the rest was done. */
  error?: { code: string; message: string; hint?: string };
}

export type LoopTick = (context: LoopContext) => Promise<LoopOutcome>;
