/**
 * What a process that executes runs needs besides the store: the harnesses (configured from
 * `harnesses:` and `pricing:`) and the workspace manager (from `workspaces:`), built the same
 * way for `loopd serve`, `loopd worker` and `loopd run` executing in-process.
 *
 * They follow `loopd apply` without a restart: the engine hands `refresh` the applied
 * settings before each claim (any process may have applied them; they live in the store), and
 * a changed section is rebuilt in place — the registry map the engine holds gets the new
 * harnesses, the manager its new pool and keep policy. A run already going keeps what it
 * started with; the next run gets the new ones.
 */
import { join } from "node:path";
import { canonicalJson } from "../domain/canonical-json.js";
import { parseDuration } from "../domain/duration.js";
import { DEFAULT_PRICING } from "../domain/pricing.js";
import type { ConfigSettings } from "../domain/settings.js";
import type { Harness, HarnessRegistry } from "../harness/harness.js";
import { createHarnessRegistry } from "../harness/registry.js";
import { CONFIG_SETTING, getSetting } from "../store/settings.js";
import type { Store } from "../store/store.js";
import { WorkspaceManager, type WorkspaceOptions } from "../workspace/workspaces.js";

export interface WorkerRuntime {
  harnesses: HarnessRegistry;
  workspaces: WorkspaceManager;
  /** Brings both in step with these settings; returns the sections that changed (none: []). */
  refresh(settings: ConfigSettings): string[];
}

export async function workerRuntime(store: Store, home: string): Promise<WorkerRuntime> {
  const settings = (await getSetting<ConfigSettings>(store.db, CONFIG_SETTING)) ?? {};
  const harnesses = new Map<string, Harness>();
  const workspaces = new WorkspaceManager({ root: join(home, "workspaces"), ...workspaceOptions(settings) });
  let applied = { harnesses: "", workspaces: canonicalJson(settings.workspaces ?? {}) };

  const refresh = (next: ConfigSettings): string[] => {
    const seen = {
      harnesses: canonicalJson({
        harnesses: next.harnesses ?? {},
        pricing: next.pricing ?? {},
        sandbox: next.sandbox ?? null,
      }),
      workspaces: canonicalJson(next.workspaces ?? {}),
    };
    const changed: string[] = [];
    if (seen.harnesses !== applied.harnesses) {
      // In place: the engine and its executor hold this very map.
      const fresh = createHarnessRegistry(
        next.harnesses,
        { ...DEFAULT_PRICING, ...next.pricing },
        next.sandbox,
      );
      harnesses.clear();
      for (const [name, harness] of fresh) harnesses.set(name, harness);
      changed.push("harnesses");
    }
    if (seen.workspaces !== applied.workspaces) {
      workspaces.reconfigure(workspaceOptions(next));
      changed.push("workspaces");
    }
    applied = seen;
    return changed;
  };
  refresh(settings);
  return { harnesses, workspaces, refresh };
}

function workspaceOptions(settings: ConfigSettings): Omit<WorkspaceOptions, "root"> {
  const workspaces = settings.workspaces ?? {};
  const pruneAfter = workspaces.pruneAfter ? parseDuration(workspaces.pruneAfter) : null;
  return {
    ...(workspaces.pool !== undefined ? { poolSize: workspaces.pool } : {}),
    ...(workspaces.keep !== undefined ? { keep: workspaces.keep } : {}),
    ...(pruneAfter?.ok ? { pruneAfterMs: pruneAfter.ms } : {}),
  };
}
