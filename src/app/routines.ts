/** Use-cases on routines: list, show, pause, resume, remove. */
import { dirname } from "node:path";
import type { z } from "zod";
import type { ModelTier } from "../domain/config-schema.js";
import { LoopdError } from "../domain/errors.js";
import type { ConfigSettings } from "../domain/settings.js";
import { dueOnResume } from "../domain/trigger.js";
import {
  deleteRoutine,
  findRoutineByName,
  listRoutines,
  type Routine,
  setRoutineState,
} from "../store/routines.js";
import { listRuns } from "../store/runs.js";
import { CONFIG_SETTING, getSetting } from "../store/settings.js";
import type { Store } from "../store/store.js";
import { costs } from "./costs.js";
import { watchedItems } from "./loop-items.js";
import type { RoutineDetailSchema } from "./view-schemas.js";
import { publicSpec, type RoutineView, routineView, runView } from "./views.js";

export async function listRoutineViews(store: Store): Promise<RoutineView[]> {
  const now = Date.now();
  return (await listRoutines(store.db)).map((routine) => routineView(routine, now));
}

/** A row of `loopd ls` / `GET /routines` / MCP `list_routines`: the view and what it spent today. */
export type RoutineListItem = RoutineView & { costTodayUsd: number };

const DAY_MS = 86_400_000;

/** Every routine with its ledger spend since 00:00 UTC (one grouped ledger query, not one per routine). */
export async function listRoutineItems(store: Store, now = Date.now()): Promise<RoutineListItem[]> {
  const [views, today] = await Promise.all([
    listRoutineViews(store),
    costs(store, { by: "routine", since: now - (now % DAY_MS) }),
  ]);
  const spent = new Map(today.rows.map((row) => [row.key, row.costUsd]));
  return views.map((view) => ({ ...view, costTodayUsd: spent.get(view.name) ?? 0 }));
}

/** A routine with its spec, its loopd.yaml and its latest runs (view-schemas.ts declares the shape). */
export type RoutineDetail = z.infer<typeof RoutineDetailSchema>;

export async function showRoutine(
  store: Store,
  name: string,
  options: { runs?: number } = {},
): Promise<RoutineDetail> {
  const routine = await requireRoutine(store, name);
  const runs = await listRuns(store.db, { routineId: routine.id, limit: options.runs ?? 5 });
  const models = ((await getSetting<ConfigSettings>(store.db, CONFIG_SETTING))?.models ?? {}) as Record<
    string,
    ModelTier
  >;
  const shown = publicSpec(routine.spec);
  // The YAML writer (and the config schema behind it) loads for `show`, not for `ls`.
  const { shownRoutineYaml } = await import("./shown-routine-yaml.js");
  const yaml = shownRoutineYaml(shown, {
    ...(routine.source ? { configDir: dirname(routine.source) } : {}),
    tierHarnesses: Object.fromEntries(Object.entries(models).map(([tier, model]) => [tier, model.harness])),
  });
  const watching = routine.spec.loop ? await watchedItems(store, routine.id) : undefined;
  return {
    ...routineView(routine),
    spec: shown,
    yaml,
    recentRuns: runs.map(runView),
    ...(watching ? { watching } : {}),
  };
}

export async function pauseRoutine(
  store: Store,
  name: string,
  reason: string | undefined,
): Promise<RoutineView> {
  return store.writeTransaction(async (db) => {
    const routine = await requireRoutine({ db }, name);
    // A routine paused for another cause (left its file, failing, auth) becomes the user's
    // pause: putting it back in loopd.yaml must not resume what a person paused.
    if (routine.state !== "paused" || routine.pausedCode !== "user" || reason !== undefined) {
      await setRoutineState(db, routine.id, {
        state: "paused",
        pausedReason:
          reason ?? (routine.state === "paused" ? routine.pausedReason : null) ?? "paused by hand",
        pausedCode: "user",
        nextDueAt: routine.nextDueAt,
        now: Date.now(),
      });
    }
    return routineView((await findRoutineByName(db, name))!);
  });
}

export async function resumeRoutine(store: Store, name: string, now = Date.now()): Promise<RoutineView> {
  return store.writeTransaction(async (db) => {
    const routine = await requireRoutine({ db }, name);
    if (routine.state === "paused") {
      const state = { previousDueMs: routine.nextDueAt, scheduledRuns: routine.scheduledRuns };
      await setRoutineState(db, routine.id, {
        state: "active",
        pausedReason: null,
        nextDueAt: dueOnResume(routine.spec.trigger, state, now),
        now,
      });
      // Resuming after a fixed login starts the auth-failure count afresh.
      await db
        .updateTable("routines")
        .set({ consecutive_auth_failures: 0 })
        .where("id", "=", routine.id)
        .execute();
    }
    return routineView((await findRoutineByName(db, name))!);
  });
}

export async function removeRoutine(
  store: Store,
  name: string,
): Promise<{ name: string; source: string | null }> {
  return store.writeTransaction(async (db) => {
    const routine = await requireRoutine({ db }, name);
    await deleteRoutine(db, routine.id);
    return { name: routine.name, source: routine.source };
  });
}

export async function requireRoutine(store: Pick<Store, "db">, name: string): Promise<Routine> {
  const routine = await findRoutineByName(store.db, name);
  if (!routine) {
    throw new LoopdError("LOOPD_NOT_FOUND", `no routine named "${name}"`, {
      hint: "Run `loopd ls` to see routines; `loopd apply` creates the ones in loopd.yaml.",
    });
  }
  return routine;
}
