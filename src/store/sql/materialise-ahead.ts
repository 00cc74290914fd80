/**
 * Materialise ahead: a routine's next occurrence becomes a queued run a short horizon before
 * it is due (`not_before` = its due time, plus jitter), so the work at the due instant is a
 * claim, not an insert and an update of every routine due then (issue #23, on-time bursts).
 *
 * A *pre-materialised* run is recognisable by its own columns: a `schedule` run queued before
 * it was due (`queued_at < due_at`), never started, never planned by a claim (`reason` null).
 * At most one per routine: a routine that already has a run due after `now` is left alone.
 * Only the plain case goes ahead — one on-time occurrence that runs — anything the due-time
 * path decides differently (a watch, whose cadence its verdicts move; an `overlap: queue`
 * routine with a run already waiting, whose occurrence may be skipped; `until` exhausted) is
 * left to materialise-due.ts at the due time, so no decision is taken earlier than today.
 *
 * Whatever changes a routine between the two instants puts its pre-materialised run back
 * (`rewindAhead`): the run is deleted and `next_due_at`/`scheduled_runs` are restored, as if it
 * had never been materialised. Pause, resume and apply do it (store/routines.ts, pause-routine.ts),
 * and the engine does it for runs far past due after a sleep or a restart, so catch-up decides.
 */
import type { Insertable } from "kysely";
import { jitterFor } from "../../domain/backoff.js";
import { DEFAULT_GRACE_MS, planOccurrences } from "../../domain/occurrences.js";
import { maxAttemptsOf } from "../../domain/routine-spec.js";
import { cadenceTrigger } from "../../domain/watch-cadence.js";
import type { RunsTable } from "../schema.js";
import type { Db, Store } from "../store.js";
import { advanceRoutines, insertRuns, specsAndWaiting } from "./materialise-due.js";

/** How far ahead of its due time an occurrence is materialised by default. */
export const DEFAULT_AHEAD_MS = 1_000;

export interface AheadResult {
  /** Routines looked at (a full batch means more may be within the horizon). */
  routines: number;
  queued: number;
}

export async function materialiseAhead(
  store: Store,
  now: number,
  options: { horizonMs: number; limit?: number; graceMs?: number },
): Promise<AheadResult> {
  if (options.horizonMs <= 0) return { routines: 0, queued: 0 };
  return store.writeTransaction(async (trx) => {
    const routines = await trx
      .selectFrom("routines")
      .select(["id", "spec", "next_due_at", "scheduled_runs", "unchanged_verdicts"])
      .where("state", "=", "active")
      .where("next_due_at", ">", now)
      .where("next_due_at", "<=", now + options.horizonMs)
      // One pre-materialised run per routine: the next waits until this one is due.
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom("runs")
              .select("runs.id")
              .whereRef("runs.routine_id", "=", "routines.id")
              .where("runs.due_at", ">", now),
          ),
        ),
      )
      .orderBy("next_due_at")
      .limit(options.limit ?? 1000)
      .$if(store.dialect === "postgres", (query) => query.forUpdate().skipLocked())
      .execute();
    if (routines.length === 0) return { routines: 0, queued: 0 };

    const { specs, waiting } = await specsAndWaiting(trx, routines);
    const rows: Array<Insertable<RunsTable>> = [];
    const advances: Array<{ id: number; nextDueAt: number | null; scheduledRuns: number }> = [];
    for (const routine of routines) {
      const spec = specs.get(routine.id)!;
      if (spec.check !== undefined || waiting.has(routine.id)) continue;
      const dueAt = routine.next_due_at!;
      // Planned as the scheduler would at the due instant: the same occurrence, the same next.
      const plan = planOccurrences(
        {
          trigger: cadenceTrigger(spec.trigger, routine.unchanged_verdicts),
          until: spec.until,
          catchUp: spec.catchUp,
          maxCatchup: spec.maxCatchup,
          nextDueAt: dueAt,
          scheduledRuns: routine.scheduled_runs,
        },
        dueAt,
        options.graceMs ?? DEFAULT_GRACE_MS,
      );
      const only = plan.run[0];
      if (plan.run.length !== 1 || only?.trigger !== "schedule" || plan.skip.length > 0) continue;
      rows.push({
        routine_id: routine.id,
        due_at: dueAt,
        trigger: "schedule",
        status: "queued",
        max_attempts: maxAttemptsOf(spec),
        queued_at: now,
        not_before:
          dueAt +
          jitterFor(spec.name, dueAt, spec.trigger.kind === "every" ? spec.trigger.jitterMs : undefined),
      });
      advances.push({ id: routine.id, nextDueAt: plan.nextDueAt, scheduledRuns: plan.scheduledRuns });
    }
    if (rows.length > 0) {
      await insertRuns(trx, store.dialect, rows);
      await advanceRoutines(trx, store.dialect, advances, now);
    }
    return { routines: routines.length, queued: rows.length };
  });
}

/**
 * Puts pre-materialised runs back: deletes them and restores their routines' `next_due_at`
 * and `scheduled_runs`. `dueAfter`: only runs due later (not yet due: pause, apply);
 * `dueBefore`: only runs due earlier (long past due after a sleep or a restart). Run in the
 * caller's transaction. Returns the routines touched.
 */
export async function rewindAhead(
  db: Db,
  options: { routineIds?: readonly number[]; dueAfter?: number; dueBefore?: number; now: number },
): Promise<number[]> {
  if (options.routineIds?.length === 0) return [];
  const deleted = await db
    .deleteFrom("runs")
    .where("status", "=", "queued")
    .where("trigger", "=", "schedule")
    .where("started_at", "is", null)
    .where("reason", "is", null)
    .whereRef("queued_at", "<", "due_at")
    .$if(options.routineIds !== undefined, (query) => query.where("routine_id", "in", options.routineIds!))
    .$if(options.dueAfter !== undefined, (query) => query.where("due_at", ">", options.dueAfter!))
    .$if(options.dueBefore !== undefined, (query) => query.where("due_at", "<", options.dueBefore!))
    .returning(["routine_id", "due_at"])
    .execute();
  const back = new Map<number, { dueAt: number; count: number }>();
  for (const run of deleted) {
    const dueAt = Number(run.due_at);
    const seen = back.get(run.routine_id);
    back.set(run.routine_id, {
      dueAt: Math.min(dueAt, seen?.dueAt ?? dueAt),
      count: (seen?.count ?? 0) + 1,
    });
  }
  for (const [routineId, { dueAt, count }] of back) {
    await db
      .updateTable("routines")
      .set((eb) => ({
        next_due_at: dueAt,
        scheduled_runs: eb("scheduled_runs", "-", count),
        updated_at: options.now,
      }))
      .where("id", "=", routineId)
      .execute();
  }
  return [...back.keys()];
}
