/**
 * `loopd remind "<sentence>"`: a sentence → a plan (the deterministic parser, then the cheap
 * model tier for what it cannot read) → the watch routine a user could have written in
 * loopd.yaml → scheduled in the store. The routine is labelled `remind` and belongs to no
 * config file, so `loopd apply` never touches it.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describeCheck, toCheckSpec } from "../domain/check.js";
import { configSchema, type RoutineConfig } from "../domain/config-schema.js";
import { LoopdError } from "../domain/errors.js";
import { describeGithubTarget, parseGithubTarget } from "../domain/github-ref.js";
import { normaliseSentence, parseReminder } from "../domain/remind-parser.js";
import { planToRoutine, REMIND_EXAMPLES, type RemindPlan } from "../domain/remind-plan.js";
import type { TestRunner } from "../domain/remind-subject.js";
import { findZone } from "../domain/remind-zone.js";
import { specHash, toRoutineSpec } from "../domain/routine-spec.js";
import type { ConfigSettings } from "../domain/settings.js";
import { firstDueAt } from "../domain/trigger.js";
import type { HarnessRegistry } from "../harness/harness.js";
import { findRoutineByName, insertRoutine } from "../store/routines.js";
import { CONFIG_SETTING, getSetting } from "../store/settings.js";
import type { Store } from "../store/store.js";
import { oneLine, planWithModel } from "./remind-model.js";
import { type RoutineView, routineView } from "./views.js";

export interface RemindRequest {
  sentence: string;
  now: number;
  /** The zone the sentence is read in unless it names one. */
  timeZone: string;
  /** `timeZone` was given by the user (`--tz`): a sentence naming another zone is an error. */
  timeZoneGiven?: boolean;
  /** The folder the user is in: the watch's repo (command and test checks run there). */
  cwd: string;
  /** Channels to ping; default the only declared channel. */
  to?: string[];
  name?: string;
  /** Ask the cheap model tier when the parser cannot read the sentence (default true). */
  useModel?: boolean;
  /** Needed for the model fallback only. */
  harnesses?: () => Promise<HarnessRegistry>;
  env: NodeJS.ProcessEnv;
}

export interface PlannedReminder {
  plan: RemindPlan;
  /** Who understood the sentence. */
  source: "parser" | { model: string; costUsd: number };
  /** The routine, in loopd.yaml's shape. */
  routine: Record<string, unknown>;
  /** The check in words. */
  check: string;
  /** When it is first evaluated (ISO). */
  firstEvaluationAt: string | null;
}

export async function planReminder(store: Store, request: RemindRequest): Promise<PlannedReminder> {
  const settings = (await getSetting<ConfigSettings>(store.db, CONFIG_SETTING)) ?? {};
  const parsed = parseReminder(request.sentence, {
    now: request.now,
    timeZone: request.timeZone,
    timeZoneGiven: request.timeZoneGiven === true,
    ...(settings.dates ? { dates: settings.dates } : {}),
    testRunner: detectTestRunner(request.cwd),
  });
  let plan: RemindPlan;
  let source: PlannedReminder["source"] = "parser";
  if (parsed.ok) {
    plan = parsed.plan;
  } else if (parsed.code) {
    // The sentence contradicts itself or --tz: a model would only guess which half was meant.
    throw new LoopdError(parsed.code, parsed.reason, parsed.hint ? { hint: parsed.hint } : {});
  } else {
    // A zone the sentence names holds for the model too (--tz, when given, was checked above or wins).
    const named = request.timeZoneGiven ? undefined : findZone(normaliseSentence(request.sentence));
    const modelZone = named?.ok && named.zone ? named.zone.id : request.timeZone;
    const fallback =
      request.useModel !== false && request.harnesses
        ? await planWithModel({
            sentence: request.sentence,
            now: request.now,
            timeZone: modelZone,
            parserReason: parsed.reason,
            settings,
            harnesses: await request.harnesses(),
            env: request.env,
            store,
          })
        : null;
    if (!fallback?.ok)
      throw unparsed(
        parsed.reason,
        fallback?.unavailable
          ? `no model is available to ask (${fallback.reason})`
          : fallback
            ? `the model tier could not either (${fallback.tier}: ${oneLine(fallback.reason)})`
            : request.useModel !== false
              ? "no model tier is declared to ask (`models:` in loopd.yaml)"
              : null,
      );
    plan = { ...fallback.plan, timeZone: fallback.plan.timeZone ?? modelZone };
    source = { model: fallback.tier, costUsd: fallback.costUsd };
  }
  const timeZone = plan.timeZone ?? request.timeZone;
  const to = chooseChannels(request.to, settings);
  const name = request.name ?? (await freeName(store, baseName(plan)));
  const routine = {
    ...planToRoutine(plan, { name, to, description: request.sentence }),
    tz: timeZone,
  };
  const spec = validate(routine, { ...request, timeZone }, settings);
  const first = firstDueAt(spec.trigger, request.now);
  return {
    plan,
    source,
    routine,
    check: describeCheck(toCheckSpec(plan.check)),
    firstEvaluationAt: first === null ? null : new Date(first).toISOString(),
  };
}

/** Creates the watch; a name taken in the meantime is an error, not an overwrite. */
export async function scheduleReminder(
  store: Store,
  planned: PlannedReminder,
  request: Pick<RemindRequest, "now" | "timeZone" | "cwd">,
): Promise<RoutineView> {
  const settings = (await getSetting<ConfigSettings>(store.db, CONFIG_SETTING)) ?? {};
  const spec = validate(planned.routine, request, settings);
  return store.writeTransaction(async (db) => {
    if (await findRoutineByName(db, spec.name)) {
      throw new LoopdError("LOOPD_CONFIG_INVALID", `a routine named "${spec.name}" already exists`, {
        hint: "Pass another `--name`, or remove the old one with `loopd rm`.",
      });
    }
    const routine = await insertRoutine(db, {
      name: spec.name,
      source: null,
      spec,
      specHash: specHash(spec),
      state: "active",
      pausedReason: null,
      nextDueAt: firstDueAt(spec.trigger, request.now),
      now: request.now,
    });
    return routineView(routine);
  });
}

/** Validated exactly like loopd.yaml, against the applied config (channels, tiers, named dates). */
function validate(
  routine: Record<string, unknown>,
  request: Pick<RemindRequest, "now" | "timeZone" | "cwd">,
  settings: ConfigSettings,
) {
  const fix = (routine.onUnsatisfied as { run?: string } | undefined)?.run;
  // A fix routine lives in the store, not in this one-routine "file": checked separately below.
  const { onUnsatisfied: _, ...checked } = routine;
  const result = configSchema.safeParse({
    ...(settings.dates ? { dates: settings.dates } : {}),
    ...(settings.models ? { models: settings.models } : {}),
    ...(settings.channels ? { channels: settings.channels } : {}),
    routines: [checked],
  });
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new LoopdError(
      "LOOPD_CONFIG_INVALID",
      `the plan is not a valid watch: ${issue?.path.join(".") || "(root)"}: ${issue?.message}`,
      {
        hint: "Rephrase the sentence, or write the watch in loopd.yaml (`loopd schema` documents `check:`).",
      },
    );
  }
  const config = result.data.routines[0]!;
  const declared: RoutineConfig = fix === undefined ? config : { ...config, onUnsatisfied: { run: fix } };
  return toRoutineSpec(declared, 0, {
    configDir: request.cwd,
    defaultTimeZone: request.timeZone,
    now: request.now,
    config: {
      ...(settings.dates ? { dates: settings.dates } : {}),
      ...(settings.models ? { models: settings.models as never } : {}),
    },
  });
}

function chooseChannels(given: string[] | undefined, settings: ConfigSettings): string[] {
  const declared = Object.keys(settings.channels ?? {});
  if (given && given.length > 0) {
    const unknown = given.filter((channel) => !declared.includes(channel));
    if (unknown.length > 0) {
      throw new LoopdError("LOOPD_REMIND_NO_CHANNEL", `unknown channel "${unknown[0]}"`, {
        hint:
          declared.length > 0
            ? `Declared channels: ${declared.join(", ")}.`
            : "Declare a channel under `channels:` in loopd.yaml and run `loopd apply`.",
      });
    }
    return given;
  }
  if (declared.length === 1) return declared;
  throw new LoopdError(
    "LOOPD_REMIND_NO_CHANNEL",
    declared.length === 0
      ? "no notification channel is declared to ping"
      : `${declared.length} channels are declared; which one should it ping?`,
    {
      hint:
        declared.length === 0
          ? "Add one to loopd.yaml (e.g. `channels: { me: { type: desktop } }`), run `loopd apply`, then try again."
          : `Pass \`--to <channel>\` (${declared.join(", ")}).`,
    },
  );
}

function unparsed(reason: string, modelReason: string | null): LoopdError {
  return new LoopdError(
    "LOOPD_REMIND_UNPARSED",
    `could not read that as a reminder: ${reason}${modelReason ? `; ${modelReason}` : ""}`,
    {
      hint: `Sentences it understands:\n  ${REMIND_EXAMPLES.join("\n  ")}`,
      details: { reason, ...(modelReason ? { modelReason } : {}), examples: [...REMIND_EXAMPLES] },
    },
  );
}

/** `watch-web-discussion-12`, `watch-sync-test`, `watch-status-example-com`. */
function baseName(plan: RemindPlan): string {
  const check = plan.check;
  let words: string;
  if (check.github) {
    const text = check.github.issue ?? check.github.pr ?? check.github.discussion ?? check.github.ref ?? "";
    const kind = check.github.issue
      ? "issue"
      : check.github.pr
        ? "pr"
        : check.github.discussion
          ? "discussion"
          : "ref";
    const target = parseGithubTarget(text, kind);
    words = target ? `${target.repo} ${kind} ${describeGithubTarget(target).split(/[#@]/)[1]}` : kind;
  } else if (check.http) {
    words = new URL(check.http.url).hostname;
  } else if (check.testRetry) {
    words =
      plan.subject
        .split(/[/\\]/)
        .pop()
        ?.replace(/\.(test|spec)\.[a-z]+$|\.[a-z]+$/i, "") ?? "test";
  } else {
    words = plan.subject;
  }
  const slug = words
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40)
    .replace(/-+$/, "");
  return `watch-${slug || "reminder"}`;
}

async function freeName(store: Store, base: string): Promise<string> {
  for (let suffix = 1; suffix < 1000; suffix++) {
    const name = suffix === 1 ? base : `${base}-${suffix}`;
    if (!(await findRoutineByName(store.db, name))) return name;
  }
  return `${base}-${Date.now().toString(36)}`;
}

/** Which test runner a test id belongs to, from the repo's manifest files. */
export function detectTestRunner(dir: string): TestRunner | null {
  const packageJson = join(dir, "package.json");
  if (existsSync(packageJson)) {
    try {
      const manifest = JSON.parse(readFileSync(packageJson, "utf8")) as Record<
        string,
        Record<string, string> | undefined
      >;
      const deps = { ...manifest.dependencies, ...manifest.devDependencies };
      if ("vitest" in deps) return "vitest";
      if ("jest" in deps) return "jest";
      return "npm";
    } catch {
      return "npm";
    }
  }
  if (["pytest.ini", "pyproject.toml", "setup.cfg", "tox.ini"].some((file) => existsSync(join(dir, file))))
    return "pytest";
  if (existsSync(join(dir, "go.mod"))) return "go";
  return null;
}
