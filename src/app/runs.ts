/** Use-cases on runs. */

import { listRuns } from "../store/runs.js";
import type { RunStatus } from "../store/schema.js";
import type { Store } from "../store/store.js";
import { requireRoutine } from "./routines.js";
import { type RunView, runView } from "./views.js";

export async function listRunViews(
  store: Store,
  options: { routine?: string; status?: RunStatus; limit?: number },
): Promise<RunView[]> {
  const routineId =
    options.routine === undefined ? undefined : (await requireRoutine(store, options.routine)).id;
  const runs = await listRuns(store.db, {
    ...(routineId !== undefined ? { routineId } : {}),
    ...(options.status !== undefined ? { status: options.status } : {}),
    limit: options.limit ?? 20,
  });
  return runs.map(runView);
}
