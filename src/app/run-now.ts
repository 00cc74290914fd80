/**
 * `loopd run`: fire a routine now. The run is queued like any other (so a daemon or worker
 * picks it up, with the same leases and fencing); on embedded SQLite with no daemon serving
 * the data dir, the calling process claims and executes it itself.
 */
import { LoopdError } from "../domain/errors.js";
import { maxAttemptsOf } from "../domain/routine-spec.js";
import { insertRun } from "../store/runs.js";
import type { Store } from "../store/store.js";
import { requireRoutine } from "./routines.js";

export async function fireRoutine(
  store: Store,
  name: string,
  options: { input?: string; now: number },
): Promise<{ runId: number; routineId: number }> {
  const routine = await requireRoutine(store, name);
  // Manual runs are keyed by their due time like scheduled ones; step past a same-millisecond twin.
  for (let offset = 0; offset < 1000; offset++) {
    const runId = await insertRun(store.db, {
      routineId: routine.id,
      dueAt: options.now + offset,
      trigger: "manual",
      status: "queued",
      maxAttempts: maxAttemptsOf(routine.spec),
      notBefore: options.now,
      input: options.input ?? null,
      now: options.now,
    });
    if (runId !== undefined) return { runId, routineId: routine.id };
  }
  throw new LoopdError("LOOPD_INTERNAL", `could not queue a run of ${name}`);
}
