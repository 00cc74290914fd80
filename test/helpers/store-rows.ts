/**
 * Rows for tests of single store operations (src/store/sql/*.test.ts): a routine with a
 * normalised shell spec, and runs in whatever state the case needs, written as-is.
 */
import type { Insertable } from "kysely";
import type { RoutineSpec } from "../../src/domain/routine-spec.js";
import { insertRoutine, type Routine } from "../../src/store/routines.js";
import type { RunsTable } from "../../src/store/schema.js";
import type { Store } from "../../src/store/store.js";
import { shellSpec } from "./specs.js";

export async function routineRow(
  store: Store,
  name: string,
  options: {
    spec?: Partial<RoutineSpec>;
    state?: "active" | "paused";
    nextDueAt?: number | null;
    now: number;
  },
): Promise<Routine> {
  return insertRoutine(store.db, {
    name,
    source: null,
    spec: shellSpec(name, options.spec),
    specHash: "h",
    state: options.state ?? "active",
    pausedReason: options.state === "paused" ? "user" : null,
    nextDueAt: options.nextDueAt ?? null,
    now: options.now,
  });
}

/** A run row: queued and ready at `due_at` unless the fields say otherwise. */
export async function runRow(
  store: Store,
  fields: Pick<Insertable<RunsTable>, "routine_id" | "due_at"> & Partial<Insertable<RunsTable>>,
): Promise<number> {
  const row = await store.db
    .insertInto("runs")
    .values({
      trigger: "schedule",
      status: "queued",
      max_attempts: 1,
      not_before: fields.due_at,
      queued_at: fields.due_at,
      ...fields,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return row.id;
}
