/**
 * The harness interface: how a run's task is executed. The engine gives a harness the run's
 * context and an abort signal; the harness streams events and resolves with a result. Agent
 * harnesses (claude, codex, …) implement the same interface.
 */
import type { RoutineSpec } from "../domain/routine-spec.js";
import type { RunReport } from "../domain/run-report.js";

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
  /** Aborted on timeout, cancel, lost lease or shutdown; the harness must stop its processes. */
  signal: AbortSignal;
}

export type HarnessEvent =
  | { type: "log"; stream: "stdout" | "stderr"; line: string }
  | { type: "message" | "tool" | "usage" | "status"; data: unknown };

export interface HarnessResult extends RunReport {
  outcome: "succeeded" | "failed";
}

export interface Harness {
  readonly name: string;
  run(input: HarnessInput, emit: (event: HarnessEvent) => void): Promise<HarnessResult>;
}

export type HarnessRegistry = ReadonlyMap<string, Harness>;
