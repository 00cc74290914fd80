/**
 * `loopd run`: fire a routine now. The run is queued like any other (so a daemon or worker
 * picks it up, with the same leases and fencing); on embedded SQLite with no daemon serving
 * the data dir, the CLI claims and executes it itself (app/client/inline-runner.ts). Every
 * face (CLI, API, MCP) comes through here, so a routine paused for auth is refused the same everywhere: its
 * run would fail on the same credentials, unless `force` says to try anyway.
 */
import { isAuthPause, pausedForAuthHint } from "../domain/auth-pause.js";
import { LoopdError } from "../domain/errors.js";
import { maxAttemptsOf } from "../domain/routine-spec.js";
import { insertRunNow } from "../store/runs.js";
import type { Store } from "../store/store.js";
import { requireRoutine } from "./routines.js";

export async function fireRoutine(
  store: Store,
  name: string,
  options: { input?: string; now: number; force?: boolean },
): Promise<{ runId: number; routineId: number }> {
  const routine = await requireRoutine(store, name);
  if (routine.state === "paused" && isAuthPause(routine.pausedCode) && !options.force) {
    throw new LoopdError(
      "LOOPD_ROUTINE_PAUSED_AUTH",
      `${name} is paused for auth: ${routine.pausedReason ?? routine.pausedCode}`,
      { hint: pausedForAuthHint(name, routine.spec.harness) },
    );
  }
  const runId = await insertRunNow(store.db, {
    routineId: routine.id,
    trigger: "manual",
    maxAttempts: maxAttemptsOf(routine.spec),
    input: options.input ?? null,
    now: options.now,
  });
  if (runId === undefined) throw new LoopdError("LOOPD_INTERNAL", `could not queue a run of ${name}`);
  return { runId, routineId: routine.id };
}
