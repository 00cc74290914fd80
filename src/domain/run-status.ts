/**
 * The words of a run's life, shared by the store's columns, the engine, the API's schemas,
 * the CLI, MCP and the dashboard: its statuses, which of them are final (an outcome), and
 * why it was queued.
 */

export const RUN_STATUSES = [
  "queued",
  "running",
  "succeeded",
  "failed",
  "timed_out",
  "canceled",
  "skipped",
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** The statuses a run ends in: its outcome. A run in one of them never changes again. */
export const OUTCOMES = [
  "succeeded",
  "failed",
  "timed_out",
  "canceled",
  "skipped",
] as const satisfies readonly RunStatus[];
export type Outcome = (typeof OUTCOMES)[number];

const FINAL: ReadonlySet<string> = new Set(OUTCOMES);

/** The run has finished: `status` is its outcome. */
export function isFinalStatus(status: RunStatus): status is Outcome {
  return FINAL.has(status);
}

/** Why a run was queued. */
export const RUN_TRIGGERS = ["schedule", "catch-up", "manual", "event", "retry"] as const;
export type RunTrigger = (typeof RUN_TRIGGERS)[number];

export const ROUTINE_STATES = ["active", "paused"] as const;
export type RoutineState = (typeof ROUTINE_STATES)[number];
