/**
 * Claim: take queued runs whose time has come and lease the ones the claim policy starts
 * (`domain/claim-policy.ts`: paused routines, labels, overlap, the per-repo cap) to this
 * worker (status running, attempt + 1, lease_until); write what it decided for the others
 * (skipped, waiting, canceled). This file is the SQL and the locking: on PostgreSQL the
 * candidate runs are locked with FOR UPDATE SKIP LOCKED, so concurrent workers never see the
 * same run, and their routines with FOR UPDATE, so two workers cannot both start a routine
 * whose policy allows one run at a time; a global cap is counted under an advisory lock. On
 * SQLite the write transaction is the lock.
 *
 * Release (release-runs.ts) does not decide whether a handed-back run of a paused routine
 * runs: the routine may be resumed before a worker claims the run again, and then it runs.
 */
import { sql } from "kysely";
import {
  type ClaimCandidate,
  type ClaimRoutine,
  claimCapacity,
  planClaim,
  type RunningRun,
} from "../../domain/claim-policy.js";
import { isInLine } from "../../domain/overlap.js";
import type { RoutineSpec } from "../../domain/routine-spec.js";
import type { RunTrigger } from "../../domain/run-status.js";
import { storedSpec } from "../../domain/stored-spec.js";
import { enqueueEvent } from "../outbox.js";
import type { Db, Store } from "../store.js";

export interface ClaimedRun {
  id: number;
  routineId: number;
  routineName: string;
  spec: RoutineSpec;
  attempt: number;
  maxAttempts: number;
  dueAt: number;
  trigger: RunTrigger;
  input: string | null;
  leaseUntil: number;
  /** The worker holding the lease; every process of the attempt carries it (LOOPD_WORKER). */
  workerId: string;
}

export interface ClaimResult {
  claimed: ClaimedRun[];
  /** Running runs this claim canceled (overlap: cancel-previous); their workers must stop them. */
  canceled: number[];
  /** The global cap is reached: nothing more starts until a run finishes. */
  saturated: boolean;
  /** Runs left queued because this worker lacks labels their routine requires. */
  unsuitable: number;
}

export interface ClaimOptions {
  workerId: string;
  now: number;
  limit: number;
  leaseMs: number;
  /** Cap on running runs across all workers. */
  globalConcurrency?: number;
  /** Cap on running runs per repo (routines sharing a repo path or URL). */
  perRepo?: number;
  /** This worker's labels; runs whose routine `requires` others are left for other workers. */
  labels?: readonly string[];
  /** Claim only this run (`loopd run` executing in-process). */
  runId?: number;
}

export async function claimRuns(store: Store, options: ClaimOptions): Promise<ClaimResult> {
  const empty: ClaimResult = { claimed: [], canceled: [], saturated: false, unsuitable: 0 };
  if (options.limit <= 0) return empty;
  return store.writeTransaction(async (trx) => {
    let limit = options.limit;
    if (options.globalConcurrency !== undefined) {
      if (store.dialect === "postgres")
        await sql`select pg_advisory_xact_lock(hashtext('loopd.claim'))`.execute(trx);
      limit = claimCapacity(limit, options.globalConcurrency, await countRunning(trx));
      if (limit <= 0) return { ...empty, saturated: true };
    }

    const candidates = await trx
      .selectFrom("runs")
      .select(["id", "routine_id", "attempt", "max_attempts", "due_at", "trigger", "input", "started_at"])
      .where("status", "=", "queued")
      .where("not_before", "<=", options.now)
      .$if(options.runId !== undefined, (query) => query.where("id", "=", options.runId!))
      .orderBy("not_before")
      .orderBy("id")
      .limit(limit)
      .$if(store.dialect === "postgres", (query) => query.forUpdate().skipLocked())
      .execute();
    if (candidates.length === 0) return empty;

    const routineIds = [...new Set(candidates.map((run) => run.routine_id))].sort((a, b) => a - b);
    const routines = new Map(
      (
        await trx
          .selectFrom("routines")
          .select(["id", "name", "spec", "state", "repo"])
          .where("id", "in", routineIds)
          .orderBy("id")
          .$if(store.dialect === "postgres", (query) => query.forUpdate())
          .execute()
      ).map((routine) => [routine.id, { ...routine, spec: storedSpec(routine.spec) }]),
    );
    const policyRoutines = new Map<number, ClaimRoutine>(
      [...routines.values()].map((routine) => [
        routine.id,
        {
          paused: routine.state === "paused",
          overlap: routine.spec.overlap,
          requires: routine.spec.requires ?? [],
          repo: routine.repo ?? "",
        },
      ]),
    );
    const leaseUntil = options.now + options.leaseMs;
    const plan = planClaim({
      candidates: candidates.map(
        (run): ClaimCandidate => ({
          id: run.id,
          routineId: run.routine_id,
          dueAt: run.due_at,
          trigger: run.trigger,
          startedBefore: run.started_at !== null,
        }),
      ),
      routines: policyRoutines,
      // `allow` starts whatever runs: only the other policies look at a routine's running runs.
      running: await runningRuns(
        trx,
        [...policyRoutines].filter(([, routine]) => routine.overlap !== "allow").map(([id]) => id),
      ),
      inLine: await readyInLine(
        trx,
        [...policyRoutines].filter(([, routine]) => routine.overlap !== "allow").map(([id]) => id),
        options.now,
      ),
      runningPerRepo:
        options.perRepo === undefined
          ? new Map()
          : await countRunningPerRepo(
              trx,
              [...policyRoutines.values()].map((routine) => routine.repo),
            ),
      ...(options.labels !== undefined ? { labels: options.labels } : {}),
      ...(options.perRepo !== undefined ? { perRepo: options.perRepo } : {}),
      leaseUntil,
    });

    for (const finish of plan.finish) {
      await trx
        .updateTable("runs")
        .set({
          status: finish.status,
          reason: finish.reason,
          finished_at: options.now,
          worker_id: null,
          lease_until: null,
        })
        .where("id", "=", finish.runId)
        .execute();
    }
    for (const wait of plan.wait) {
      await trx
        .updateTable("runs")
        .set({ not_before: wait.notBefore, reason: wait.reason })
        .where("id", "=", wait.runId)
        .execute();
    }
    const byId = new Map(candidates.map((run) => [run.id, run]));
    const claimed = plan.start.map((id): ClaimedRun => {
      const run = byId.get(id)!;
      const routine = routines.get(run.routine_id)!;
      return {
        id: run.id,
        routineId: run.routine_id,
        routineName: routine.name,
        spec: routine.spec,
        attempt: run.attempt + 1,
        maxAttempts: run.max_attempts,
        dueAt: run.due_at,
        trigger: run.trigger,
        input: run.input,
        leaseUntil,
        workerId: options.workerId,
      };
    });
    if (claimed.length > 0) await lease(trx, claimed, options);
    return { claimed, canceled: plan.canceled, saturated: false, unsuitable: plan.unsuitable };
  });
}

/** One statement leases the whole batch; routines that notify on start get their event. */
async function lease(db: Db, claimed: ClaimedRun[], options: ClaimOptions): Promise<void> {
  await db
    .updateTable("runs")
    .set((eb) => ({
      status: "running",
      attempt: eb("attempt", "+", 1),
      worker_id: options.workerId,
      lease_until: options.now + options.leaseMs,
      started_at: options.now,
      reason: null,
    }))
    .where(
      "id",
      "in",
      claimed.map((run) => run.id),
    )
    .execute();
  for (const run of claimed) {
    if (!run.spec.notify.some((rule) => rule.on.includes("start"))) continue;
    await enqueueEvent(db, {
      type: "run.started",
      kind: "start",
      routineId: run.routineId,
      runId: run.id,
      payload: { routine: run.routineName, runId: run.id, attempt: run.attempt, trigger: run.trigger },
      notify: run.spec.notify,
      now: options.now,
    });
  }
}

/** Per routine, its runs executing now. */
async function runningRuns(db: Db, routineIds: number[]): Promise<Map<number, RunningRun[]>> {
  const running = new Map<number, RunningRun[]>();
  if (routineIds.length === 0) return running;
  for (const run of await db
    .selectFrom("runs")
    .select(["id", "routine_id", "lease_until", "attempt", "trigger"])
    .where("status", "=", "running")
    .where("routine_id", "in", routineIds)
    .execute()) {
    const inLine = isInLine({ startedBefore: run.attempt > 1, trigger: run.trigger });
    running.set(run.routine_id, [
      ...(running.get(run.routine_id) ?? []),
      { id: run.id, inLine, leaseUntil: run.lease_until },
    ]);
  }
  return running;
}

/** Per routine, its queued runs in line (started before, or catch-up) that are ready now. */
async function readyInLine(
  db: Db,
  routineIds: number[],
  now: number,
): Promise<Map<number, Array<{ id: number; dueAt: number }>>> {
  const inLine = new Map<number, Array<{ id: number; dueAt: number }>>();
  if (routineIds.length === 0) return inLine;
  for (const run of await db
    .selectFrom("runs")
    .select(["id", "routine_id", "due_at"])
    .where("status", "=", "queued")
    .where("not_before", "<=", now)
    .where("routine_id", "in", routineIds)
    .where((eb) => eb.or([eb("started_at", "is not", null), eb("trigger", "=", "catch-up")]))
    .execute()) {
    inLine.set(run.routine_id, [...(inLine.get(run.routine_id) ?? []), { id: run.id, dueAt: run.due_at }]);
  }
  return inLine;
}

async function countRunningPerRepo(db: Db, repoKeys: string[]): Promise<Map<string, number>> {
  const repos = [...new Set(repoKeys)];
  const rows = await db
    .selectFrom("runs")
    .innerJoin("routines", "routines.id", "runs.routine_id")
    .select(["routines.repo", (eb) => eb.fn.countAll<number>().as("count")])
    .where("runs.status", "=", "running")
    .where("routines.repo", "in", repos)
    .groupBy("routines.repo")
    .execute();
  return new Map(rows.map((row) => [row.repo ?? "", Number(row.count)]));
}

async function countRunning(db: Db): Promise<number> {
  const row = await db
    .selectFrom("runs")
    .select((eb) => eb.fn.countAll<number>().as("count"))
    .where("status", "=", "running")
    .executeTakeFirstOrThrow();
  return Number(row.count);
}
