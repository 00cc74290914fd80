/**
 * What a process that executes runs needs besides the store: the harnesses (configured from
 * `harnesses:`) and the workspace manager (from `workspaces:`), built the same way for
 * `loopd serve`, `loopd worker` and `loopd run` executing in-process.
 */
import { join } from "node:path";
import { parseDuration } from "../domain/duration.js";
import { DEFAULT_PRICING } from "../domain/pricing.js";
import type { HarnessRegistry } from "../harness/harness.js";
import { createHarnessRegistry } from "../harness/registry.js";
import { CONFIG_SETTING, type ConfigSettings, getSetting } from "../store/settings.js";
import type { Store } from "../store/store.js";
import { WorkspaceManager } from "../workspace/workspaces.js";

export interface WorkerRuntime {
  harnesses: HarnessRegistry;
  workspaces: WorkspaceManager;
}

export async function workerRuntime(store: Store, home: string): Promise<WorkerRuntime> {
  const settings = (await getSetting<ConfigSettings>(store.db, CONFIG_SETTING)) ?? {};
  const workspaces = settings.workspaces ?? {};
  const pruneAfter = workspaces.pruneAfter ? parseDuration(workspaces.pruneAfter) : null;
  return {
    harnesses: createHarnessRegistry(settings.harnesses, { ...DEFAULT_PRICING, ...settings.pricing }),
    workspaces: new WorkspaceManager({
      root: join(home, "workspaces"),
      ...(workspaces.pool !== undefined ? { poolSize: workspaces.pool } : {}),
      ...(workspaces.keep !== undefined ? { keep: workspaces.keep } : {}),
      ...(pruneAfter?.ok ? { pruneAfterMs: pruneAfter.ms } : {}),
    }),
  };
}
