/** One line of a run's append-only log: an output line, or a structured agent event as JSON text. */
export interface RunEvent {
  id: number;
  runId: number;
  attempt: number;
  /** UTC epoch milliseconds. */
  at: number;
  /** log | status | message | tool | usage | error … */
  type: string;
  /** stdout | stderr for log lines. */
  stream: string | null;
  /** A log line, or a JSON document for structured events. */
  data: string;
}

export type NewRunEvent = Omit<RunEvent, "id">;
