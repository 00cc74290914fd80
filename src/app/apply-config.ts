/**
 * `loopd apply`: make the store match loopd.yaml. The plan is computed and carried out in
 * one write transaction, so two concurrent applies cannot interleave, and a failure leaves
 * the store as it was.
 */
import { relative } from "node:path";
import { type LoadedConfig, loadConfigFile, parseConfigText } from "../config/load-config.js";
import { type ApplyPlan, planApply, REMOVED_PAUSE_CODE, type RoutineChange } from "../domain/apply-plan.js";
import type { Config } from "../domain/config-schema.js";
import { scheduleChanged, specHash, toRoutineSpec } from "../domain/routine-spec.js";
import { systemTimeZone } from "../domain/time-zone.js";
import {
  dueOnResume,
  firstDueAt,
  isWithinUntil,
  type TriggerSpec,
  type UntilSpec,
} from "../domain/trigger.js";
import {
  deleteRoutine,
  findRoutineByName,
  insertRoutine,
  listRoutines,
  setRoutineState,
  updateRoutineSpec,
} from "../store/routines.js";
import { CONFIG_SETTING, getSetting, putSetting } from "../store/settings.js";
import type { Store } from "../store/store.js";

export interface ApplyOptions {
  file: string;
  /**
   * The file's text as a client sent it (`POST /api/v1/apply`): parsed instead of reading
   * `file`, which then only names it; relative paths resolve from `dir`, the file's folder.
   */
  sent?: { text: string; dir: string };
  dryRun: boolean;
  prune: boolean;
  now?: number;
}

export interface ApplyResult {
  file: string;
  dryRun: boolean;
  changes: Array<{ action: RoutineChange["action"]; name: string; fields?: string[]; reason?: string }>;
  settings: string[];
}

export async function applyConfig(store: Store, options: ApplyOptions): Promise<ApplyResult> {
  const now = options.now ?? Date.now();
  const loaded: LoadedConfig = options.sent
    ? { path: options.file, dir: options.sent.dir, config: parseConfigText(options.sent.text, options.file) }
    : await loadConfigFile(options.file);
  const context = { configDir: loaded.dir, defaultTimeZone: systemTimeZone(), config: loaded.config, now };
  const declared = loaded.config.routines.map((routine, index) => {
    const spec = toRoutineSpec(routine, index, context);
    return { spec, specHash: specHash(spec) };
  });
  const sourceLabel = relative(process.cwd(), loaded.path) || loaded.path;

  const run = async (db: Store["db"]): Promise<ApplyPlan> => {
    const plan = planApply({
      source: loaded.path,
      sourceLabel,
      declared,
      stored: await listRoutines(db),
      declaredSettings: settingsOf(loaded.config),
      storedSettings: await getSetting<Record<string, unknown>>(db, CONFIG_SETTING),
      prune: options.prune,
    });
    if (!options.dryRun) await carryOut(db, plan, loaded.path, loaded.config, now);
    return plan;
  };
  const plan = options.dryRun ? await run(store.db) : await store.writeTransaction(run);

  return {
    file: loaded.path,
    dryRun: options.dryRun,
    changes: plan.changes.map((change) => ({
      action: change.action,
      name: change.name,
      ...(change.action === "update" || (change.action === "resume" && change.fields.length > 0)
        ? { fields: change.fields }
        : {}),
      ...(change.action === "pause" || change.action === "remove" || change.action === "resume"
        ? { reason: change.reason }
        : {}),
    })),
    settings: plan.settings,
  };
}

async function carryOut(db: Store["db"], plan: ApplyPlan, source: string, config: Config, now: number) {
  for (const change of plan.changes) {
    switch (change.action) {
      case "create":
        await insertRoutine(db, {
          name: change.name,
          source,
          spec: change.spec,
          specHash: change.specHash,
          state: change.spec.paused ? "paused" : "active",
          pausedReason: change.spec.paused ? "declared paused" : null,
          nextDueAt: scheduleFrom(change.spec.trigger, change.spec.until, now),
          now,
        });
        break;
      case "update": {
        const before = await findRoutineByName(db, change.name);
        if (!before) break;
        const pauseToggled = before.spec.paused !== change.spec.paused;
        let nextDueAt = before.nextDueAt;
        if (scheduleChanged(before.spec, change.spec)) {
          nextDueAt = scheduleFrom(change.spec.trigger, change.spec.until, now);
        } else if (pauseToggled && !change.spec.paused) {
          const state = { previousDueMs: before.nextDueAt, scheduledRuns: before.scheduledRuns };
          nextDueAt = dueOnResume(change.spec.trigger, state, now);
        }
        await updateRoutineSpec(db, before.id, {
          spec: change.spec,
          specHash: change.specHash,
          source,
          nextDueAt,
          now,
        });
        // `paused:` in the file is applied when it changes; `loopd pause/resume` rule in between.
        if (pauseToggled) {
          await setRoutineState(db, before.id, {
            state: change.spec.paused ? "paused" : "active",
            pausedReason: change.spec.paused ? "declared paused" : null,
            nextDueAt,
            now,
          });
        }
        break;
      }
      case "resume": {
        const before = await findRoutineByName(db, change.name);
        if (!before) break;
        const nextDueAt = scheduleChanged(before.spec, change.spec)
          ? scheduleFrom(change.spec.trigger, change.spec.until, now)
          : dueOnResume(
              change.spec.trigger,
              { previousDueMs: before.nextDueAt, scheduledRuns: before.scheduledRuns },
              now,
            );
        await updateRoutineSpec(db, before.id, {
          spec: change.spec,
          specHash: change.specHash,
          source,
          nextDueAt,
          now,
        });
        // Back as the file declares it: `paused: true` keeps it paused, for that reason.
        await setRoutineState(db, before.id, {
          state: change.spec.paused ? "paused" : "active",
          pausedReason: change.spec.paused ? "declared paused" : null,
          nextDueAt,
          now,
        });
        break;
      }
      case "pause": {
        const routine = await findRoutineByName(db, change.name);
        if (routine) {
          // Marked, so declaring it again resumes it (domain/apply-plan.ts).
          await setRoutineState(db, routine.id, {
            state: "paused",
            pausedReason: change.reason,
            pausedCode: REMOVED_PAUSE_CODE,
            nextDueAt: routine.nextDueAt,
            now,
          });
        }
        break;
      }
      case "remove": {
        const routine = await findRoutineByName(db, change.name);
        if (routine) await deleteRoutine(db, routine.id);
        break;
      }
      case "unchanged":
        break;
    }
  }
  if (plan.settings.length > 0) await putSetting(db, CONFIG_SETTING, settingsOf(config), now);
}

export function scheduleFrom(trigger: TriggerSpec, until: UntilSpec | undefined, now: number): number | null {
  const due = firstDueAt(trigger, now);
  return due !== null && isWithinUntil(until, due, 0) ? due : null;
}

function settingsOf(config: Config): Record<string, unknown> {
  return {
    dates: config.dates ?? {},
    models: config.models ?? {},
    budgets: config.budgets ?? {},
    channels: config.channels ?? {},
    limits: config.limits ?? {},
    workspaces: config.workspaces ?? {},
    context: config.context ?? {},
    auth: config.auth ?? {},
    failures: config.failures ?? {},
    harnesses: config.harnesses ?? {},
    pricing: config.pricing ?? {},
    routing: config.routing ?? {},
    github: config.github ?? {},
    git: config.git ?? {},
    ...(config.sandbox !== undefined ? { sandbox: config.sandbox } : {}),
    runs: config.runs ?? {},
  };
}
