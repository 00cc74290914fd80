/** Run repository: occurrences of routines and their outcomes. */
import type { RunDelivery } from "../domain/run-delivery.js";
import type { TokenUsage } from "../domain/run-report.js";
import type { RunStatus, RunTrigger } from "../domain/run-status.js";
import type { RunRow } from "./schema.js";
import type { Db } from "./store.js";

export interface Run {
  id: number;
  routineId: number;
  routineName: string;
  dueAt: number;
  trigger: RunTrigger;
  status: RunStatus;
  reason: string | null;
  attempt: number;
  maxAttempts: number;
  notBefore: number;
  workerId: string | null;
  leaseUntil: number | null;
  input: string | null;
  queuedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  exitCode: number | null;
  summary: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  /** The error's specific hint as stored at completion (null before it was recorded). */
  errorHint: string | null;
  usage: TokenUsage;
  costUsd: number;
  turns: number | null;
  sessionId: string | null;
  branch: string | null;
  workspace: string | null;
  headCommit: string | null;
  tier: string | null;
  routeReason: string | null;
  /** The check's verdict, for runs of a watch. */
  verdict: "satisfied" | "unsatisfied" | null;
  /** Succeeded with no `verify` although its last tool call failed. */
  unverified: boolean;
  /** What became of the attempt's work (`deliver`): committed, pushed, or why not. */
  delivery: RunDelivery | null;
}

export interface NewRun {
  routineId: number;
  dueAt: number;
  trigger: RunTrigger;
  status: RunStatus;
  reason?: string | null;
  maxAttempts: number;
  notBefore?: number;
  input?: string | null;
  now: number;
}

/**
 * Inserts the run for one occurrence. Returns its id, or undefined when a run for that
 * `(routine, due_at)` already exists: another scheduler got there first, which is fine.
 */
export async function insertRun(db: Db, run: NewRun): Promise<number | undefined> {
  const row = await db
    .insertInto("runs")
    .values({
      routine_id: run.routineId,
      due_at: run.dueAt,
      trigger: run.trigger,
      status: run.status,
      reason: run.reason ?? null,
      max_attempts: run.maxAttempts,
      not_before: run.notBefore ?? run.dueAt,
      input: run.input ?? null,
      queued_at: run.now,
      finished_at: run.status === "skipped" ? run.now : null,
    })
    .onConflict((conflict) => conflict.columns(["routine_id", "due_at"]).doNothing())
    .returning("id")
    .executeTakeFirst();
  return row?.id;
}

/**
 * Queues a run due now (fired by hand, by an event or by a watch). Such runs are keyed by
 * their due time like scheduled ones, so a same-millisecond twin steps one millisecond on.
 */
export async function insertRunNow(
  db: Db,
  run: Pick<NewRun, "routineId" | "trigger" | "maxAttempts" | "input" | "now">,
): Promise<number | undefined> {
  for (let offset = 0; offset < 1000; offset++) {
    const runId = await insertRun(db, {
      ...run,
      dueAt: run.now + offset,
      status: "queued",
      notBefore: run.now,
    });
    if (runId !== undefined) return runId;
  }
  return undefined;
}

export async function findRun(db: Db, id: number): Promise<Run | undefined> {
  const row = await selectRuns(db).where("runs.id", "=", id).executeTakeFirst();
  return row ? toRun(row) : undefined;
}

export interface RunFilter {
  routineId?: number;
  status?: RunStatus;
  limit?: number;
  /** Only runs with an id below this (for paging newest-first). */
  beforeId?: number;
}

/** Newest first. */
export async function listRuns(db: Db, filter: RunFilter = {}): Promise<Run[]> {
  let query = selectRuns(db)
    .orderBy("runs.id", "desc")
    .limit(filter.limit ?? 50);
  if (filter.routineId !== undefined) query = query.where("runs.routine_id", "=", filter.routineId);
  if (filter.status !== undefined) query = query.where("runs.status", "=", filter.status);
  if (filter.beforeId !== undefined) query = query.where("runs.id", "<", filter.beforeId);
  const rows = await query.execute();
  return rows.map(toRun);
}

function selectRuns(db: Db) {
  return db
    .selectFrom("runs")
    .innerJoin("routines", "routines.id", "runs.routine_id")
    .selectAll("runs")
    .select("routines.name as routine_name");
}

function toRun(row: RunRow & { routine_name: string }): Run {
  return {
    id: row.id,
    routineId: row.routine_id,
    routineName: row.routine_name,
    dueAt: row.due_at,
    trigger: row.trigger,
    status: row.status,
    reason: row.reason,
    attempt: row.attempt,
    maxAttempts: row.max_attempts,
    notBefore: row.not_before,
    workerId: row.worker_id,
    leaseUntil: row.lease_until,
    input: row.input,
    queuedAt: row.queued_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    exitCode: row.exit_code,
    summary: row.summary,
    errorCode: row.error_code,
    errorMessage: row.error_message,
    errorHint: row.error_hint ?? null,
    usage: {
      tokensIn: row.tokens_in,
      tokensOut: row.tokens_out,
      tokensCached: row.tokens_cached,
      tokensReasoning: row.tokens_reasoning,
    },
    costUsd: row.cost_usd,
    turns: row.turns,
    sessionId: row.session_id,
    branch: row.branch,
    workspace: row.workspace,
    headCommit: row.head_commit,
    tier: row.tier,
    routeReason: row.route_reason,
    verdict: row.verdict ?? null,
    unverified: Number(row.unverified ?? 0) === 1,
    delivery: parseDelivery(row.delivery),
  };
}

function parseDelivery(json: string | null | undefined): RunDelivery | null {
  if (!json) return null;
  try {
    return JSON.parse(json) as RunDelivery;
  } catch {
    return null; // an unreadable record must not hide the rest of the run
  }
}
