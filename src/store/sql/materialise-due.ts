/**
 * Materialise: turn due occurrences of active routines into runs, and advance each
 * routine's `next_due_at`, in one transaction. Runs are unique on `(routine_id, due_at)`
 * and inserted with ON CONFLICT DO NOTHING, so any number of schedulers may race here; on
 * PostgreSQL they also skip routines another scheduler has locked.
 */
import { type Insertable, sql } from "kysely";
import { jitterFor } from "../../domain/backoff.js";
import { DEFAULT_GRACE_MS, planOccurrences } from "../../domain/occurrences.js";
import { onTimeMayQueue } from "../../domain/overlap.js";
import { maxAttemptsOf } from "../../domain/routine-spec.js";
import { storedSpec } from "../../domain/stored-spec.js";
import { cadenceTrigger } from "../../domain/watch-cadence.js";
import type { Dialect } from "../migrations/migration.js";
import { enqueueEvent } from "../outbox.js";
import type { RunsTable } from "../schema.js";
import type { Db, Store } from "../store.js";
import { jsonTable } from "./values.js";

export interface MaterialiseResult {
  routines: number;
  queued: number;
  skipped: number;
}

export async function materialiseDue(
  store: Store,
  now: number,
  options: { limit?: number; graceMs?: number } = {},
): Promise<MaterialiseResult> {
  return store.writeTransaction(async (trx) => {
    const routines = await trx
      .selectFrom("routines")
      .select(["id", "name", "spec", "next_due_at", "scheduled_runs", "unchanged_verdicts"])
      .where("state", "=", "active")
      .where("next_due_at", "<=", now)
      .orderBy("next_due_at")
      .limit(options.limit ?? 1000)
      .$if(store.dialect === "postgres", (query) => query.forUpdate().skipLocked())
      .execute();
    if (routines.length === 0) return { routines: 0, queued: 0, skipped: 0 };

    const { specs, waiting } = await specsAndWaiting(trx, routines);

    const rows: Array<Insertable<RunsTable>> = [];
    const advances: Array<{ id: number; nextDueAt: number | null; scheduledRuns: number }> = [];
    for (const routine of routines) {
      const spec = specs.get(routine.id)!;
      const plan = planOccurrences(
        {
          // A backing-off watch steps with the interval its unchanged verdicts have reached.
          trigger: cadenceTrigger(spec.trigger, routine.unchanged_verdicts),
          until: spec.until,
          catchUp: spec.catchUp,
          maxCatchup: spec.maxCatchup,
          nextDueAt: routine.next_due_at!,
          scheduledRuns: routine.scheduled_runs,
        },
        now,
        options.graceMs ?? DEFAULT_GRACE_MS,
      );
      const base = { routine_id: routine.id, max_attempts: maxAttemptsOf(spec), queued_at: now };
      let hasWaiting = waiting.has(routine.id);
      for (const occurrence of plan.run) {
        // Catch-up runs are in line (domain/overlap.ts): each one runs, one after another.
        if (occurrence.trigger !== "catch-up") {
          if (!onTimeMayQueue(spec.overlap, hasWaiting)) {
            rows.push(skippedRow(base, occurrence.dueAt, "overlap queue: a run is already waiting", now));
            continue;
          }
          hasWaiting = true;
        }
        rows.push({
          ...base,
          due_at: occurrence.dueAt,
          trigger: occurrence.trigger,
          status: "queued",
          not_before:
            occurrence.dueAt +
            jitterFor(
              spec.name,
              occurrence.dueAt,
              spec.trigger.kind === "every" ? spec.trigger.jitterMs : undefined,
            ),
        });
      }
      plan.skip.forEach((skip, index) => {
        const earlier =
          index === 0 && plan.unrecordedSkips > 0 ? ` (and ${plan.unrecordedSkips} earlier)` : "";
        rows.push(skippedRow(base, skip.dueAt, skip.reason + earlier, now));
      });
      advances.push({ id: routine.id, nextDueAt: plan.nextDueAt, scheduledRuns: plan.scheduledRuns });
    }

    await insertRuns(trx, store.dialect, rows);
    await advanceRoutines(trx, store.dialect, advances, now);
    for (const row of rows) {
      const spec = specs.get(row.routine_id)!;
      if (row.status !== "skipped" || !spec.notify.some((rule) => rule.on.includes("skipped"))) continue;
      await enqueueEvent(trx, {
        type: "run.skipped",
        kind: "skipped",
        routineId: row.routine_id,
        runId: null,
        payload: { routine: spec.name, dueAt: new Date(row.due_at).toISOString(), reason: row.reason },
        notify: spec.notify,
        now,
      });
    }
    const queued = rows.filter((row) => row.status === "queued").length;
    return { routines: routines.length, queued, skipped: rows.length - queued };
  });
}

function skippedRow(
  base: { routine_id: number; max_attempts: number; queued_at: number },
  dueAt: number,
  reason: string,
  now: number,
): Insertable<RunsTable> {
  return {
    ...base,
    due_at: dueAt,
    trigger: "schedule",
    status: "skipped",
    reason,
    not_before: dueAt,
    finished_at: now,
  };
}

/**
 * The batch's specs, and which of its `overlap: queue` routines already have an on-time run
 * waiting (materialise-ahead.ts plans from the same two).
 */
export async function specsAndWaiting(
  db: Db,
  routines: ReadonlyArray<{ id: number; spec: string }>,
): Promise<{ specs: Map<number, ReturnType<typeof storedSpec>>; waiting: Set<number> }> {
  const specs = new Map(routines.map((routine) => [routine.id, storedSpec(routine.spec)]));
  const waiting = await routinesWithWaitingRun(
    db,
    routines.filter((routine) => specs.get(routine.id)!.overlap === "queue").map((routine) => routine.id),
  );
  return { specs, waiting };
}

/** Routines with an on-time run waiting (not a catch-up run, not one that started before). */
async function routinesWithWaitingRun(db: Db, routineIds: number[]): Promise<Set<number>> {
  if (routineIds.length === 0) return new Set();
  const rows = await db
    .selectFrom("runs")
    .select("routine_id")
    .distinct()
    .where("status", "=", "queued")
    .where("routine_id", "in", routineIds)
    .where("started_at", "is", null)
    .where("trigger", "<>", "catch-up")
    .execute();
  return new Set(rows.map((row) => row.routine_id));
}

/**
 * The batch's runs, one JSON parameter whatever their number (sql/values.ts); a run already
 * there (another scheduler was first) is left alone.
 */
export async function insertRuns(
  db: Db,
  dialect: Dialect,
  rows: ReadonlyArray<Insertable<RunsTable>>,
): Promise<void> {
  if (rows.length === 0) return;
  const v = jsonTable(
    dialect,
    "v",
    [
      ["routine_id", "bigint"],
      ["due_at", "bigint"],
      ["trigger", "text"],
      ["status", "text"],
      ["reason", "text"],
      ["max_attempts", "integer"],
      ["not_before", "bigint"],
      ["queued_at", "bigint"],
      ["finished_at", "bigint"],
    ],
    rows.map((row) => [
      row.routine_id,
      row.due_at,
      row.trigger,
      row.status,
      row.reason ?? null,
      row.max_attempts,
      row.not_before,
      row.queued_at,
      row.finished_at ?? null,
    ]),
  );
  // `where true`: SQLite parses an ON CONFLICT after INSERT … SELECT only behind a WHERE.
  await sql`with ${v} insert into runs (routine_id, due_at, trigger, status, reason, max_attempts,
      not_before, queued_at, finished_at)
    select routine_id, due_at, trigger, status, reason, max_attempts, not_before, queued_at, finished_at
    from v where true
    on conflict (routine_id, due_at) do nothing`.execute(db);
}

export async function advanceRoutines(
  db: Db,
  dialect: Dialect,
  advances: Array<{ id: number; nextDueAt: number | null; scheduledRuns: number }>,
  now: number,
): Promise<void> {
  // One statement for the whole batch: a round trip per routine is what makes schedulers late.
  const v = jsonTable(
    dialect,
    "v",
    [
      ["id", "bigint"],
      ["next_due_at", "bigint"],
      ["scheduled_runs", "integer"],
    ],
    advances.map((a) => [a.id, a.nextDueAt, a.scheduledRuns]),
  );
  await sql`with ${v} update routines set next_due_at = v.next_due_at, scheduled_runs = v.scheduled_runs,
    updated_at = ${now} from v where routines.id = v.id`.execute(db);
}
