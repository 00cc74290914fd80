/**
 * Table types for Kysely. Times are UTC epoch milliseconds (BIGINT) in both dialects: one
 * representation, cheap comparisons in the scheduler's hot queries, and no driver-specific
 * Date/text conversions. JSON documents are TEXT, parsed in the repository functions.
 */
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from "kysely";
import type { Verdict } from "../domain/check.js";
import type { DeliveryStatus } from "../domain/delivery-status.js";
import type { Outcome, RoutineState, RunStatus, RunTrigger } from "../domain/run-status.js";

export interface RoutinesTable {
  id: Generated<number>;
  name: string;
  /** Absolute path of the loopd.yaml that declared it; null when created another way. */
  source: string | null;
  /** RoutineSpec as JSON. */
  spec: string;
  spec_hash: string;
  /** The spec's repo (path or URL), for per-repo concurrency caps. */
  repo: string | null;
  state: RoutineState;
  paused_reason: string | null;
  next_due_at: number | null;
  /** Scheduled runs materialised so far (for `until: { runs }`). */
  scheduled_runs: ColumnType<number, number | undefined, number>;
  last_run_at: number | null;
  last_outcome: Outcome | null;
  last_error_code: string | null;
  last_error_message: string | null;
  /** The last verdict of the routine's check (watches only). */
  last_verdict: Verdict | null;
  /** Evaluations in a row whose verdict repeated the one before (a watch's backoff). */
  unchanged_verdicts: ColumnType<number, number | undefined, number>;
  consecutive_failures: ColumnType<number, number | undefined, number>;
  /** Failures with LOOPD_AUTH_* in a row; the routine pauses itself at `auth.pauseAfter`. */
  consecutive_auth_failures: ColumnType<number, number | undefined, number>;
  /**
   * Why the routine is paused, as a code: an error code (`LOOPD_AUTH_EXPIRED`, …) when it
   * paused itself, `removed` when it left its loopd.yaml, `user` for `loopd pause`; null when
   * active or paused before this was recorded.
   */
  paused_code: string | null;
  /** When a silent misfire (due time long past with no run) was last reported. */
  misfire_notified_at: number | null;
  last_success_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface RunsTable {
  id: Generated<number>;
  routine_id: number;
  /** The occurrence this run is for; unique per routine. */
  due_at: number;
  trigger: RunTrigger;
  status: RunStatus;
  /** Why a run was skipped or canceled (overlap, catch-up, budget, paused, …). */
  reason: string | null;
  attempt: ColumnType<number, number | undefined, number>;
  max_attempts: number;
  /** Earliest start (retry backoff, jitter). */
  not_before: number;
  worker_id: string | null;
  lease_until: number | null;
  /** Text given when fired by hand or by an event. */
  input: string | null;
  queued_at: number;
  started_at: number | null;
  finished_at: number | null;
  exit_code: number | null;
  summary: string | null;
  error_code: string | null;
  error_message: string | null;
  tokens_in: ColumnType<number, number | undefined, number>;
  tokens_out: ColumnType<number, number | undefined, number>;
  tokens_cached: ColumnType<number, number | undefined, number>;
  tokens_reasoning: ColumnType<number, number | undefined, number>;
  cost_usd: ColumnType<number, number | undefined, number>;
  turns: number | null;
  session_id: string | null;
  /** Git branch of the run's worktree (`loopd/<routine>/<run>`). */
  branch: string | null;
  /** Folder the run worked in. */
  workspace: string | null;
  /** Branch head after the run (the agent's commits, if any). */
  head_commit: string | null;
  /** Model tier the router chose for the current attempt, and why. */
  tier: string | null;
  route_reason: string | null;
  /** satisfied | unsatisfied when the run evaluated a check; null otherwise (or when it errored). */
  verdict: Verdict | null;
  /** What became of the run's changes (JSON `RunDelivery`): committed, pushed, or why not. */
  delivery: string | null;
  /** 1 when the run succeeded with no `verify` although its last tool call failed. */
  unverified: ColumnType<number, number | undefined, number>;
  /** The specific hint of the error the run ended with (from the error table, or the harness). */
  error_hint: string | null;
  /** How its model spend was counted: gateway | reported; null for runs that call no model. */
  metering: string | null;
  /** A gateway-metered run's own report from its harness (the ledger has the gateway's count). */
  reported_tokens_in: number | null;
  reported_tokens_out: number | null;
  reported_tokens_cached: number | null;
  reported_cost_usd: number | null;
}

export type ArtifactKind =
  | "diff"
  | "changed-files"
  | "escaped"
  | "final-message"
  | "memory"
  | "verify"
  /** A check's result: `{ status, summary, evidence, error? }` as JSON. */
  | "check";

export interface RunArtifactsTable {
  id: Generated<number>;
  run_id: number;
  attempt: number;
  kind: ArtifactKind;
  /** Text, or a JSON array for file lists. */
  content: string;
  created_at: number;
}

/** The last preflight of each harness, by whichever worker ran it: `loopd doctor`'s history. */
export interface HarnessHealthTable {
  harness: string;
  checked_at: number;
  worker_id: string;
  installed: number;
  version: string | null;
  auth: string;
  error_code: string | null;
  error_message: string | null;
  /** When the last error happened (kept after later successes, for "last error"). */
  error_at: number | null;
}

export interface RunEventsTable {
  id: Generated<number>;
  run_id: number;
  attempt: number;
  at: number;
  /** log | status | message | tool | usage | error … */
  type: string;
  /** stdout | stderr for log lines. */
  stream: string | null;
  /** A log line, or a JSON document for structured events. */
  data: string;
}

export interface LedgerTable {
  id: Generated<number>;
  at: number;
  /** UTC day, YYYY-MM-DD, for per-day budgets. */
  day: string;
  routine_id: number | null;
  /** Kept by value so costs survive `loopd rm`. */
  routine_name: string;
  run_id: number | null;
  harness: string;
  model: string;
  tokens_in: number;
  tokens_out: number;
  tokens_cached: number;
  tokens_reasoning: number;
  cost_usd: number;
  /** reported (by the harness) | priced (from the pricing table). */
  cost_source: string;
  tier: string | null;
  attempt: number | null;
}

/** Accepted inbound hook deliveries (by sender id), so replays are refused. */
export interface InboundDeliveriesTable {
  /** `routine:<name>` for the generic hook. */
  source: string;
  id: string;
  received_at: number;
  run_id: number | null;
}

export interface BudgetReservationsTable {
  id: Generated<number>;
  run_id: number;
  attempt: number;
  routine_id: number | null;
  amount_usd: number;
  created_at: number;
  /** Null while the run is going: the reservation counts against caps at `amount_usd`. */
  settled_at: number | null;
  actual_usd: number | null;
}

export interface OutboxTable {
  /** Stable event id, so receivers can dedupe. */
  id: string;
  type: string;
  channel: string;
  routine_id: number | null;
  run_id: number | null;
  payload: string;
  /**
   * "held": waiting for its channel's digest (until `digest_until`); "digested": sent as part
   * of a digest row (`sql/seal-digests.ts`), never on its own.
   */
  status: DeliveryStatus;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
  /** For a held row: the end of its digest window, when it is sealed into a digest. */
  digest_until: number | null;
}

export interface MemoryTable {
  routine_id: number;
  content: string;
  updated_at: number;
}

/** A built-in loop's memory of one item it watches (a pull request), as JSON. */
export interface LoopItemsTable {
  routine_id: number;
  item: string;
  state: string;
  updated_at: number;
}

/** ci-health: one test's outcome in one try of a run (try 0 the suite's run, then its re-runs). */
export interface TestResultsTable {
  id: Generated<number>;
  routine_id: number;
  run_id: number;
  test_id: string;
  try: number;
  outcome: "passed" | "failed" | "skipped";
  commit_sha: string;
  message: string | null;
  at: number;
}

export interface FeedbackItemsTable {
  routine_id: number;
  item_key: string;
  source: string;
  text_hash: string;
  text: string;
  title: string | null;
  url: string | null;
  duplicate_of: string | null;
  cluster_id: string | null;
  /** Base64 float32 vector, with an embedding model. */
  embedding: string | null;
  created_at: number;
}

export interface FeedbackClustersTable {
  routine_id: number;
  cluster_id: string;
  label: string;
  title: string | null;
  size: number;
  previous_size: number;
  status: string;
  /** JSON: the top terms' weights, `{ term: weight }`. */
  centroid: string;
  /** JSON: up to 3 `{ key, text, url }`. */
  representatives: string;
  first_seen: number;
  updated_at: number;
}

export interface SettingsTable {
  key: string;
  /** JSON document. */
  value: string;
  updated_at: number;
}

/**
 * A process that executes runs (serve, worker), registered when its engine starts and removed
 * when it stops. `host_key` names the pid namespace `pid` belongs to (the kernel boot id and
 * pid namespace on Linux, the hostname elsewhere): only a process with the same key may judge
 * the pid, and `pid_start` (the process's start time) tells a reused pid from the worker's.
 */
export interface WorkersTable {
  id: string;
  host: string;
  host_key: string;
  pid: number;
  pid_start: string | null;
  /** JSON array of the labels it offers. */
  labels: string;
  started_at: number;
  /** When it last renewed leases (or started): set only while it works, not by an idle engine. */
  seen_at: number;
}

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  applied_at: number;
}

export interface Database {
  routines: RoutinesTable;
  runs: RunsTable;
  run_events: RunEventsTable;
  ledger: LedgerTable;
  outbox: OutboxTable;
  memory: MemoryTable;
  run_artifacts: RunArtifactsTable;
  harness_health: HarnessHealthTable;
  budget_reservations: BudgetReservationsTable;
  inbound_deliveries: InboundDeliveriesTable;
  settings: SettingsTable;
  workers: WorkersTable;
  loop_items: LoopItemsTable;
  feedback_items: FeedbackItemsTable;
  feedback_clusters: FeedbackClustersTable;
  test_results: TestResultsTable;
  schema_migrations: SchemaMigrationsTable;
}

export type RoutineRow = Selectable<RoutinesTable>;
export type NewRoutineRow = Insertable<RoutinesTable>;
export type RoutineRowUpdate = Updateable<RoutinesTable>;
export type RunRow = Selectable<RunsTable>;
export type NewRunRow = Insertable<RunsTable>;
export type RunEventRow = Selectable<RunEventsTable>;
