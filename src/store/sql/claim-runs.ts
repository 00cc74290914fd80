/**
 * Claim: take queued runs whose time has come, apply the routine's overlap policy
 * (`domain/overlap.ts`: runs in line — retries, recovered and catch-up runs — are never skipped
 * or canceled and go one at a time, oldest first), and lease the rest to this worker (status
 * running, attempt + 1, lease_until). On PostgreSQL the candidate runs are locked with FOR
 * UPDATE SKIP LOCKED, so concurrent workers never see the same run, and their routines with
 * FOR UPDATE, so two workers cannot both start a routine whose policy allows one run at a
 * time. On SQLite the write transaction is the lock.
 *
 * A paused routine's queued runs are skipped here, recorded with the reason "routine paused"
 * — never executed. The one exception is a run fired by hand that has not started: `loopd run`
 * on a paused routine is an explicit ask. A run that started before (handed back at shutdown
 * by release-runs.ts, recovered from a dead worker, a retry waiting out its backoff) is
 * skipped even if fired by hand: the pause came after that ask. Release does not decide this
 * itself: the routine may be resumed before a worker claims the run again, and then it runs.
 */
import { sql } from "kysely";
import { decideOverlap, isInLine, type OverlapRun } from "../../domain/overlap.js";
import { type RoutineSpec, storedSpec } from "../../domain/routine-spec.js";
import { enqueueEvent } from "../outbox.js";
import type { RunTrigger } from "../schema.js";
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
      limit = Math.min(limit, options.globalConcurrency - (await countRunning(trx)));
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
    const running = new Map<number, Array<OverlapRun & { lease_until: number | null }>>();
    for (const run of await trx
      .selectFrom("runs")
      .select(["id", "routine_id", "lease_until", "attempt", "trigger"])
      .where("status", "=", "running")
      .where("routine_id", "in", routineIds)
      .execute()) {
      const inLine = isInLine({ startedBefore: run.attempt > 1, trigger: run.trigger });
      running.set(run.routine_id, [...(running.get(run.routine_id) ?? []), { ...run, inLine }]);
    }
    // Runs in line that are ready, including ones this claim did not get (another worker's
    // lock, the limit): an on-time run must not start ahead of them.
    const oneAtATime = [...routines.values()]
      .filter((routine) => routine.spec.overlap !== "allow")
      .map((routine) => routine.id);
    const inLine = new Map<number, Array<{ id: number; due_at: number }>>();
    if (oneAtATime.length > 0) {
      for (const run of await trx
        .selectFrom("runs")
        .select(["id", "routine_id", "due_at"])
        .where("status", "=", "queued")
        .where("not_before", "<=", options.now)
        .where("routine_id", "in", oneAtATime)
        .where((eb) => eb.or([eb("started_at", "is not", null), eb("trigger", "=", "catch-up")]))
        .execute()) {
        inLine.set(run.routine_id, [...(inLine.get(run.routine_id) ?? []), run]);
      }
    }
    /** Runs this claim started, skipped or set waiting: no longer "ready in line". */
    const handled = new Set<number>();
    const lineAhead = (run: { id: number; routine_id: number; due_at: number }): number | null => {
      let ahead: { id: number; due_at: number } | null = null;
      for (const other of inLine.get(run.routine_id) ?? []) {
        if (other.id === run.id || handled.has(other.id) || other.due_at >= run.due_at) continue;
        if (ahead === null || other.due_at < ahead.due_at) ahead = other;
      }
      return ahead?.id ?? null;
    };

    const runningPerRepo =
      options.perRepo === undefined
        ? new Map<string, number>()
        : await countRunningPerRepo(trx, [...routines.values()]);

    const leaseUntil = options.now + options.leaseMs;
    const result: ClaimResult = { claimed: [], canceled: [], saturated: false, unsuitable: 0 };
    const labels = options.labels === undefined ? undefined : new Set(options.labels);
    for (const run of candidates) {
      const routine = routines.get(run.routine_id)!;
      if (routine.state === "paused" && !firedWhilePaused(run)) {
        await finishUnstarted(trx, run.id, "skipped", "routine paused", options.now);
        continue;
      }
      if (labels && !(routine.spec.requires ?? []).every((label) => labels.has(label))) {
        result.unsuitable++;
        continue;
      }
      const busy = running.get(run.routine_id) ?? [];
      const candidate = {
        id: run.id,
        inLine: isInLine({ startedBefore: run.started_at !== null, trigger: run.trigger }),
      };
      const decision = decideOverlap({
        policy: routine.spec.overlap,
        candidate,
        running: busy,
        lineAhead: lineAhead(run),
      });
      if (decision.action === "skip") {
        handled.add(run.id);
        await finishUnstarted(trx, run.id, "skipped", decision.reason, options.now);
        continue;
      }
      if (decision.action === "wait") {
        // Until the blocker's completion releases it (complete-run.ts), or its lease horizon; a
        // blocker not started yet has none: the horizon of a lease taken now.
        handled.add(run.id);
        const blocker = busy.find((other) => other.id === decision.behind);
        await trx
          .updateTable("runs")
          .set({ not_before: blocker?.lease_until ?? leaseUntil, reason: decision.reason })
          .where("id", "=", run.id)
          .execute();
        continue;
      }
      const repo = routine.repo ?? "";
      if (options.perRepo !== undefined && (runningPerRepo.get(repo) ?? 0) >= options.perRepo) {
        // Waits until a run in this repo finishes (completion releases it) or the lease horizon.
        handled.add(run.id);
        await trx
          .updateTable("runs")
          .set({
            not_before: leaseUntil,
            reason: `concurrency: ${options.perRepo} run(s) already in ${repo}`,
          })
          .where("id", "=", run.id)
          .execute();
        continue;
      }
      if (decision.cancel.length > 0) {
        for (const previous of busy.filter((other) => decision.cancel.includes(other.id))) {
          await finishUnstarted(
            trx,
            previous.id,
            "canceled",
            `overlap cancel-previous: superseded by run ${run.id}`,
            options.now,
          );
          // Claimed earlier in this batch: it never starts. Running elsewhere: its worker stops it.
          const inBatch = result.claimed.findIndex((claimed) => claimed.id === previous.id);
          if (inBatch >= 0) result.claimed.splice(inBatch, 1);
          else result.canceled.push(previous.id);
        }
        busy.splice(0, busy.length, ...busy.filter((other) => !decision.cancel.includes(other.id)));
      }
      handled.add(run.id);
      busy.push({ ...candidate, lease_until: leaseUntil });
      runningPerRepo.set(repo, (runningPerRepo.get(repo) ?? 0) + 1);
      running.set(run.routine_id, busy);
      result.claimed.push({
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
      });
    }
    if (result.claimed.length > 0) {
      // One statement leases the whole batch.
      await trx
        .updateTable("runs")
        .set((eb) => ({
          status: "running",
          attempt: eb("attempt", "+", 1),
          worker_id: options.workerId,
          lease_until: leaseUntil,
          started_at: options.now,
          reason: null,
        }))
        .where(
          "id",
          "in",
          result.claimed.map((run) => run.id),
        )
        .execute();
      for (const run of result.claimed) {
        if (!run.spec.notify.some((rule) => rule.on.includes("start"))) continue;
        await enqueueEvent(trx, {
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
    return result;
  });
}

/** `loopd run` on a paused routine, not yet started: the one kind of run a pause lets through. */
function firedWhilePaused(run: { trigger: RunTrigger; started_at: number | null }): boolean {
  return run.trigger === "manual" && run.started_at === null;
}

async function countRunningPerRepo(
  db: Db,
  routines: Array<{ repo: string | null }>,
): Promise<Map<string, number>> {
  const repos = [...new Set(routines.map((routine) => routine.repo ?? ""))];
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

/** Ends a run that will not (or will no longer) execute here. */
async function finishUnstarted(
  db: Db,
  runId: number,
  status: "skipped" | "canceled",
  reason: string,
  now: number,
): Promise<void> {
  await db
    .updateTable("runs")
    .set({ status, reason, finished_at: now, worker_id: null, lease_until: null })
    .where("id", "=", runId)
    .execute();
}
