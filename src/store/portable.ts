/**
 * A home's state in its portable form (domain/export-document.ts): read whole for `loopd
 * export`, written row by row for `loopd import`. Rows are named by routine, never by id, so
 * they read the same from SQLite and PostgreSQL; the caller decides what to write.
 */
import type {
  ExportedLedgerRow,
  ExportedLoopItem,
  ExportedMemory,
  ExportedRoutine,
  ExportedSetting,
} from "../domain/export-document.js";
import type { RoutineRow } from "./schema.js";
import type { Db } from "./store.js";

export interface PortableState {
  schemaVersion: number;
  settings: ExportedSetting[];
  routines: ExportedRoutine[];
  memory: ExportedMemory[];
  loopItems: ExportedLoopItem[];
  ledger: ExportedLedgerRow[];
}

/** Everything a home's export holds, in a stable order (names, keys, then time and id). */
export async function readPortableState(db: Db): Promise<PortableState> {
  const [version, settings, routines, memory, loopItems, ledger] = await Promise.all([
    db
      .selectFrom("schema_migrations")
      .select((eb) => eb.fn.max("version").as("version"))
      .executeTakeFirst(),
    db.selectFrom("settings").selectAll().orderBy("key").execute(),
    db.selectFrom("routines").selectAll().orderBy("name").execute(),
    db
      .selectFrom("memory")
      .innerJoin("routines", "routines.id", "memory.routine_id")
      .select(["routines.name", "memory.content", "memory.updated_at"])
      .orderBy("routines.name")
      .execute(),
    db
      .selectFrom("loop_items")
      .innerJoin("routines", "routines.id", "loop_items.routine_id")
      .select(["routines.name", "loop_items.item", "loop_items.state", "loop_items.updated_at"])
      .orderBy("routines.name")
      .orderBy("loop_items.item")
      .execute(),
    db.selectFrom("ledger").selectAll().orderBy("at").orderBy("id").execute(),
  ]);
  return {
    schemaVersion: Number(version?.version ?? 0),
    settings: settings.map((row) => ({
      key: row.key,
      value: JSON.parse(row.value) as unknown,
      updatedAt: row.updated_at,
    })),
    routines: routines.map(toExportedRoutine),
    memory: memory.map((row) => ({ routine: row.name, content: row.content, updatedAt: row.updated_at })),
    loopItems: loopItems.map((row) => ({
      routine: row.name,
      item: row.item,
      state: JSON.parse(row.state) as unknown,
      updatedAt: row.updated_at,
    })),
    ledger: ledger.map((row) => ({
      at: row.at,
      day: row.day,
      routine: row.routine_name,
      runId: row.run_id,
      attempt: row.attempt,
      harness: row.harness,
      model: row.model,
      tier: row.tier,
      tokensIn: row.tokens_in,
      tokensOut: row.tokens_out,
      tokensCached: row.tokens_cached,
      tokensReasoning: row.tokens_reasoning,
      costUsd: row.cost_usd,
      costSource: row.cost_source,
    })),
  };
}

/** Routine ids by name, for linking imported rows. */
export async function routineIdsByName(db: Db): Promise<Map<string, number>> {
  const rows = await db.selectFrom("routines").select(["id", "name"]).execute();
  return new Map(rows.map((row) => [row.name, row.id]));
}

/** Writes a routine as exported: inserted, or every field of the one with its name replaced. */
export async function writeRoutine(db: Db, routine: ExportedRoutine, existingId?: number): Promise<number> {
  const values = {
    name: routine.name,
    source: routine.source,
    spec: JSON.stringify(routine.spec),
    spec_hash: routine.specHash,
    repo: typeof routine.spec.repo === "string" ? routine.spec.repo : null,
    state: routine.state,
    paused_reason: routine.pausedReason,
    paused_code: routine.pausedCode,
    next_due_at: routine.nextDueAt,
    scheduled_runs: routine.scheduledRuns,
    last_run_at: routine.lastRunAt,
    last_outcome: routine.lastOutcome,
    last_error_code: routine.lastErrorCode,
    last_error_message: routine.lastErrorMessage,
    last_verdict: routine.lastVerdict,
    unchanged_verdicts: routine.unchangedVerdicts,
    consecutive_failures: routine.consecutiveFailures,
    consecutive_auth_failures: routine.consecutiveAuthFailures,
    misfire_notified_at: routine.misfireNotifiedAt,
    last_success_at: routine.lastSuccessAt,
    created_at: routine.createdAt,
    updated_at: routine.updatedAt,
  };
  if (existingId !== undefined) {
    await db.updateTable("routines").set(values).where("id", "=", existingId).execute();
    return existingId;
  }
  const row = await db.insertInto("routines").values(values).returning("id").executeTakeFirstOrThrow();
  return row.id;
}

export async function writeSetting(db: Db, setting: ExportedSetting): Promise<void> {
  const value = JSON.stringify(setting.value);
  await db
    .insertInto("settings")
    .values({ key: setting.key, value, updated_at: setting.updatedAt })
    .onConflict((conflict) => conflict.column("key").doUpdateSet({ value, updated_at: setting.updatedAt }))
    .execute();
}

export async function writeMemory(db: Db, routineId: number, memory: ExportedMemory): Promise<void> {
  await db
    .insertInto("memory")
    .values({ routine_id: routineId, content: memory.content, updated_at: memory.updatedAt })
    .onConflict((conflict) =>
      conflict.column("routine_id").doUpdateSet({ content: memory.content, updated_at: memory.updatedAt }),
    )
    .execute();
}

export async function writeLoopItem(db: Db, routineId: number, item: ExportedLoopItem): Promise<void> {
  const state = JSON.stringify(item.state);
  await db
    .insertInto("loop_items")
    .values({ routine_id: routineId, item: item.item, state, updated_at: item.updatedAt })
    .onConflict((conflict) =>
      conflict.columns(["routine_id", "item"]).doUpdateSet({ state, updated_at: item.updatedAt }),
    )
    .execute();
}

/** Appends ledger rows, linked to the routine of their name where one exists. */
export async function insertLedgerRows(
  db: Db,
  rows: readonly ExportedLedgerRow[],
  routineIds: ReadonlyMap<string, number>,
): Promise<void> {
  // Batches stay under SQLite's and PostgreSQL's bound-parameter limits (15 columns a row).
  for (let start = 0; start < rows.length; start += 500) {
    await db
      .insertInto("ledger")
      .values(
        rows.slice(start, start + 500).map((row) => ({
          at: row.at,
          day: row.day,
          routine_id: routineIds.get(row.routine) ?? null,
          routine_name: row.routine,
          run_id: row.runId,
          attempt: row.attempt,
          harness: row.harness,
          model: row.model,
          tier: row.tier,
          tokens_in: row.tokensIn,
          tokens_out: row.tokensOut,
          tokens_cached: row.tokensCached,
          tokens_reasoning: row.tokensReasoning,
          cost_usd: row.costUsd,
          cost_source: row.costSource,
        })),
      )
      .execute();
  }
}

function toExportedRoutine(row: RoutineRow): ExportedRoutine {
  return {
    name: row.name,
    source: row.source,
    spec: JSON.parse(row.spec) as Record<string, unknown>,
    specHash: row.spec_hash,
    state: row.state,
    pausedReason: row.paused_reason,
    pausedCode: row.paused_code,
    nextDueAt: row.next_due_at,
    scheduledRuns: row.scheduled_runs,
    lastRunAt: row.last_run_at,
    lastOutcome: row.last_outcome,
    lastErrorCode: row.last_error_code,
    lastErrorMessage: row.last_error_message,
    lastVerdict: row.last_verdict,
    unchangedVerdicts: row.unchanged_verdicts,
    consecutiveFailures: row.consecutive_failures,
    consecutiveAuthFailures: row.consecutive_auth_failures,
    misfireNotifiedAt: row.misfire_notified_at,
    lastSuccessAt: row.last_success_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
