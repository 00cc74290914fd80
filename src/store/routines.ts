/** Routine repository: the durable definitions and their scheduling and health state. */
import { type ExpressionBuilder, sql } from "kysely";
import type { RoutineSpec } from "../domain/routine-spec.js";
import type { Outcome, RoutineState } from "../domain/run-status.js";
import { storedSpec } from "../domain/stored-spec.js";
import type { Database, RoutineRow } from "./schema.js";
import type { Db } from "./store.js";

export interface Routine {
  id: number;
  name: string;
  source: string | null;
  spec: RoutineSpec;
  specHash: string;
  state: RoutineState;
  pausedReason: string | null;
  /** Why it is paused, as a code (LOOPD_ROUTINE_FAILING, LOOPD_AUTH_EXPIRED, removed, user, …). */
  pausedCode: string | null;
  nextDueAt: number | null;
  scheduledRuns: number;
  lastRunAt: number | null;
  lastOutcome: Outcome | null;
  lastErrorCode: string | null;
  lastErrorMessage: string | null;
  consecutiveFailures: number;
  lastSuccessAt: number | null;
  /** The last verdict of a watch's check. */
  lastVerdict: "satisfied" | "unsatisfied" | null;
  /** Its last run succeeded `unverified` (no `verify`, and its last tool call failed). */
  lastUnverified: boolean;
  /** When its current silent misfire was reported (domain/misfire.ts). */
  misfireNotifiedAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface NewRoutine {
  name: string;
  source: string | null;
  spec: RoutineSpec;
  specHash: string;
  state: RoutineState;
  pausedReason: string | null;
  nextDueAt: number | null;
  now: number;
}

export async function insertRoutine(db: Db, routine: NewRoutine): Promise<Routine> {
  const row = await db
    .insertInto("routines")
    .values({
      name: routine.name,
      source: routine.source,
      spec: JSON.stringify(routine.spec),
      spec_hash: routine.specHash,
      repo: routine.spec.repo,
      state: routine.state,
      paused_reason: routine.pausedReason,
      next_due_at: routine.nextDueAt,
      created_at: routine.now,
      updated_at: routine.now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toRoutine(row);
}

/** Replaces a routine's declared spec (after `apply` found it changed). */
export async function updateRoutineSpec(
  db: Db,
  id: number,
  change: {
    spec: RoutineSpec;
    specHash: string;
    source: string | null;
    nextDueAt: number | null;
    now: number;
  },
): Promise<void> {
  // A run materialised ahead from the old spec must not run: the caller's `nextDueAt` (read
  // through `toRoutine`, so it is that run's due time) takes its place.
  await (await materialiseAhead()).rewindAhead(db, { routineIds: [id], now: change.now });
  await db
    .updateTable("routines")
    .set({
      spec: JSON.stringify(change.spec),
      spec_hash: change.specHash,
      repo: change.spec.repo,
      source: change.source,
      next_due_at: change.nextDueAt,
      updated_at: change.now,
    })
    .where("id", "=", id)
    .execute();
}

export async function setRoutineState(
  db: Db,
  id: number,
  change: {
    state: RoutineState;
    pausedReason: string | null;
    /** Why, as a code (`user` for `loopd pause`); a resume or a pause without one clears it. */
    pausedCode?: string | null;
    nextDueAt: number | null;
    now: number;
  },
): Promise<void> {
  // A paused routine's run materialised ahead must not start; on resume it is planned afresh.
  await (await materialiseAhead()).rewindAhead(db, { routineIds: [id], now: change.now });
  await db
    .updateTable("routines")
    .set({
      state: change.state,
      paused_reason: change.pausedReason,
      // Never left over from an earlier pause: a stale LOOPD_AUTH_* would make `loopd run`
      // refuse a routine a person paused, as if its login had failed.
      paused_code: change.state === "paused" ? (change.pausedCode ?? null) : null,
      next_due_at: change.nextDueAt,
      updated_at: change.now,
    })
    .where("id", "=", id)
    .execute();
}

export async function findRoutineByName(db: Db, name: string): Promise<Routine | undefined> {
  const row = await db
    .selectFrom("routines")
    .selectAll("routines")
    .select(lastUnverified)
    .select(aheadDueAt)
    .where("name", "=", name)
    .executeTakeFirst();
  return row ? toRoutine(row) : undefined;
}

/**
 * store/sql/materialise-ahead.ts loads on the first write that needs it, not with this module:
 * it brings the occurrence planner and the routine spec's zod schema, 0.25 MB of bundle that
 * `loopd ls` (which reads routines through here) would otherwise compile at every call.
 */
function materialiseAhead(): Promise<typeof import("./sql/materialise-ahead.js")> {
  return import("./sql/materialise-ahead.js");
}

export async function listRoutines(db: Db): Promise<Routine[]> {
  const rows = await db
    .selectFrom("routines")
    .selectAll("routines")
    .select(lastUnverified)
    .select(aheadDueAt)
    .orderBy("name")
    .execute();
  return rows.map(toRoutine);
}

/**
 * The due time of the routine's run materialised ahead (store/sql/materialise-ahead.ts), if
 * one waits: that occurrence, not the one after it in `next_due_at`, is its next due time.
 */
function aheadDueAt(eb: ExpressionBuilder<Database, "routines">) {
  return eb
    .selectFrom("runs")
    .select((inner) => inner.fn.min("runs.due_at").as("due"))
    .whereRef("runs.routine_id", "=", "routines.id")
    .where("runs.status", "=", "queued")
    .where("runs.trigger", "=", "schedule")
    .where("runs.started_at", "is", null)
    .where("runs.reason", "is", null)
    .whereRef("runs.queued_at", "<", "runs.due_at")
    .as("ahead_due_at");
}

/** 1 when the run that finished last (at `last_run_at`) is flagged `unverified`. */
function lastUnverified(eb: ExpressionBuilder<Database, "routines">) {
  return eb
    .exists(
      eb
        .selectFrom("runs")
        .select(sql.lit(1).as("one"))
        .whereRef("runs.routine_id", "=", "routines.id")
        .whereRef("runs.finished_at", "=", "routines.last_run_at")
        .where("runs.unverified", "=", 1),
    )
    .as("last_unverified");
}

/** Deletes a routine with its runs, events and memory; ledger rows keep its name for cost history. */
export async function deleteRoutine(db: Db, id: number): Promise<boolean> {
  const result = await db.deleteFrom("routines").where("id", "=", id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

function toRoutine(
  row: RoutineRow & { last_unverified?: unknown; ahead_due_at?: number | string | null },
): Routine {
  const ahead = row.ahead_due_at === null || row.ahead_due_at === undefined ? null : Number(row.ahead_due_at);
  return {
    id: row.id,
    name: row.name,
    source: row.source,
    spec: storedSpec(row.spec),
    specHash: row.spec_hash,
    state: row.state,
    pausedReason: row.paused_reason,
    pausedCode: row.paused_code ?? null,
    nextDueAt:
      ahead !== null && (row.next_due_at === null || ahead < row.next_due_at) ? ahead : row.next_due_at,
    scheduledRuns: row.scheduled_runs,
    lastRunAt: row.last_run_at,
    lastOutcome: row.last_outcome,
    lastErrorCode: row.last_error_code,
    lastErrorMessage: row.last_error_message,
    consecutiveFailures: row.consecutive_failures,
    lastSuccessAt: row.last_success_at,
    lastVerdict: row.last_verdict ?? null,
    // Only a success is flagged: EXISTS reads as true/false (PostgreSQL) or 1/0 (SQLite).
    lastUnverified: row.last_outcome === "succeeded" && Boolean(Number(row.last_unverified ?? 0)),
    misfireNotifiedAt: row.misfire_notified_at ?? null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
