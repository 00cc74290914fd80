/** ci-health's per-test history (table `test_results`): recorded per run, read back per routine. */
import type { TestObservation } from "../domain/test-health.js";
import type { Db } from "./store.js";

export async function recordTestResults(
  db: Db,
  routineId: number,
  runId: number,
  results: readonly TestObservation[],
): Promise<void> {
  // One statement per chunk: a large suite is thousands of rows, and SQLite caps bound variables.
  for (let index = 0; index < results.length; index += 500) {
    await db
      .insertInto("test_results")
      .values(
        results.slice(index, index + 500).map((result) => ({
          routine_id: routineId,
          // A workflow run read from GitHub is its own run; a local suite's results are this run's.
          run_id: result.runId > 0 ? result.runId : runId,
          test_id: result.testId,
          try: result.try,
          outcome: result.outcome,
          commit_sha: result.commit,
          message: result.message,
          at: result.at,
        })),
      )
      .execute();
  }
}

/** The routine's results of its last `runs` runs that recorded any, oldest first. */
export async function recentTestResults(db: Db, routineId: number, runs: number): Promise<TestObservation[]> {
  const recent = await db
    .selectFrom("test_results")
    .select("run_id")
    .distinct()
    .where("routine_id", "=", routineId)
    .orderBy("run_id", "desc")
    .limit(runs)
    .execute();
  if (recent.length === 0) return [];
  const rows = await db
    .selectFrom("test_results")
    .selectAll()
    .where("routine_id", "=", routineId)
    .where(
      "run_id",
      "in",
      recent.map((row) => row.run_id),
    )
    .orderBy("at")
    .orderBy("id")
    .execute();
  return rows.map((row) => ({
    runId: row.run_id,
    testId: row.test_id,
    try: row.try,
    outcome: row.outcome,
    commit: row.commit_sha,
    message: row.message,
    at: row.at,
  }));
}

/** Keeps the last `keepRuns` runs' results of a routine; older ones leave the window for good. */
export async function pruneTestResults(db: Db, routineId: number, keepRuns: number): Promise<void> {
  const cutoff = await db
    .selectFrom("test_results")
    .select("run_id")
    .distinct()
    .where("routine_id", "=", routineId)
    .orderBy("run_id", "desc")
    .offset(keepRuns)
    .limit(1)
    .executeTakeFirst();
  if (!cutoff) return;
  await db
    .deleteFrom("test_results")
    .where("routine_id", "=", routineId)
    .where("run_id", "<=", cutoff.run_id)
    .execute();
}
