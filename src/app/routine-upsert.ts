/**
 * Create or replace one routine from outside a config file (`PUT /api/v1/routines/{name}`):
 * the routine in loopd.yaml's shape, validated exactly like loopd.yaml against the applied
 * settings (channels, model tiers, named dates), stored with no `source` so `loopd apply`
 * never touches it. A routine a loopd.yaml owns is refused: the file is its truth.
 */
import { configSchema, type RoutineConfig } from "../domain/config-schema.js";
import { LoopdError } from "../domain/errors.js";
import { scheduleChanged, specHash, toRoutineSpec } from "../domain/routine-spec.js";
import type { ConfigSettings } from "../domain/settings.js";
import { systemTimeZone } from "../domain/time-zone.js";
import { dueOnResume } from "../domain/trigger.js";
import { findRoutineByName, insertRoutine, setRoutineState, updateRoutineSpec } from "../store/routines.js";
import { CONFIG_SETTING, getSetting } from "../store/settings.js";
import type { Store } from "../store/store.js";
import { scheduleFrom } from "./apply-config.js";
import { type RoutineView, routineView } from "./views.js";

export interface UpsertRequest {
  name: string;
  /** The routine as loopd.yaml would hold it; its `name` is replaced by `name`. */
  routine: Record<string, unknown>;
  now: number;
  /** Base for a relative `repo` and the default repo (the daemon's working directory). */
  cwd: string;
  /** Zone for a routine without `tz` (default this machine's). */
  timeZone?: string;
}

export async function upsertRoutine(
  store: Store,
  request: UpsertRequest,
): Promise<{ routine: RoutineView; created: boolean }> {
  const settings = (await getSetting<ConfigSettings>(store.db, CONFIG_SETTING)) ?? {};
  const declared = validate({ ...request.routine, name: request.name }, settings);
  const spec = toRoutineSpec(declared, 0, {
    configDir: request.cwd,
    defaultTimeZone: request.timeZone ?? systemTimeZone(),
    now: request.now,
    config: {
      ...(settings.dates ? { dates: settings.dates } : {}),
      ...(settings.models ? { models: settings.models as never } : {}),
    },
  });
  const hash = specHash(spec);
  const now = request.now;
  return store.writeTransaction(async (db) => {
    const fix = spec.onUnsatisfied?.run;
    if (fix !== undefined && fix !== spec.name && !(await findRoutineByName(db, fix))) {
      throw invalid([{ path: "onUnsatisfied.run", message: `no routine named "${fix}"` }]);
    }
    const before = await findRoutineByName(db, spec.name);
    if (!before) {
      const routine = await insertRoutine(db, {
        name: spec.name,
        source: null,
        spec,
        specHash: hash,
        state: spec.paused ? "paused" : "active",
        pausedReason: spec.paused ? "declared paused" : null,
        nextDueAt: scheduleFrom(spec.trigger, spec.until, now),
        now,
      });
      return { routine: routineView(routine), created: true };
    }
    if (before.source !== null) {
      throw new LoopdError(
        "LOOPD_ROUTINE_OWNED",
        `"${spec.name}" is owned by ${before.source}; edit the file`,
        {
          hint: `Change it in ${before.source}; \`loopd apply\` (or \`loopd serve -f\`) picks the change up.`,
        },
      );
    }
    // The same rules as `apply`: the schedule moves only when the trigger or `until` changed.
    const pauseToggled = before.spec.paused !== spec.paused;
    let nextDueAt = before.nextDueAt;
    if (scheduleChanged(before.spec, spec)) {
      nextDueAt = scheduleFrom(spec.trigger, spec.until, now);
    } else if (pauseToggled && !spec.paused) {
      nextDueAt = dueOnResume(
        spec.trigger,
        { previousDueMs: before.nextDueAt, scheduledRuns: before.scheduledRuns },
        now,
      );
    }
    await updateRoutineSpec(db, before.id, { spec, specHash: hash, source: null, nextDueAt, now });
    if (pauseToggled) {
      await setRoutineState(db, before.id, {
        state: spec.paused ? "paused" : "active",
        pausedReason: spec.paused ? "declared paused" : null,
        nextDueAt,
        now,
      });
    }
    return { routine: routineView((await findRoutineByName(db, spec.name))!), created: false };
  });
}

/** Validated as the one routine of a file holding the applied dates, tiers and channels. */
function validate(routine: Record<string, unknown>, settings: ConfigSettings): RoutineConfig {
  // `onUnsatisfied.run` names a routine in the store, not in this one-routine "file": checked above.
  const { onUnsatisfied, ...checked } = routine;
  const fix = (onUnsatisfied as { run?: unknown } | undefined)?.run;
  const { run: _, ...restOfOnUnsatisfied } = (onUnsatisfied ?? {}) as Record<string, unknown>;
  const result = configSchema.safeParse({
    ...(settings.dates ? { dates: settings.dates } : {}),
    ...(settings.models ? { models: settings.models } : {}),
    ...(settings.channels ? { channels: settings.channels } : {}),
    routines: [onUnsatisfied === undefined ? checked : { ...checked, onUnsatisfied: restOfOnUnsatisfied }],
  });
  if (!result.success) {
    throw invalid(
      result.error.issues.map((issue) => ({
        // `routines.0.cron` → `cron`: the caller sent one routine, not a file.
        path: issue.path.slice(issue.path[0] === "routines" ? 2 : 0).join(".") || "(root)",
        message: issue.message,
      })),
    );
  }
  const config = result.data.routines[0]!;
  if (typeof fix === "string") return { ...config, onUnsatisfied: { ...config.onUnsatisfied, run: fix } };
  return config;
}

function invalid(issues: Array<{ path: string; message: string }>): LoopdError {
  return new LoopdError(
    "LOOPD_CONFIG_INVALID",
    `invalid routine: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ")}`,
    {
      hint: "Fix the fields named; the routine takes loopd.yaml's shape (GET /api/v1/openapi.json, `loopd schema`).",
      details: { issues },
    },
  );
}
