/**
 * Tools on routines: create_loop, list_routines, get_routine, pause, resume, delete_routine.
 * create_loop builds the routine in loopd.yaml's shape and hands it to the same use-case as
 * `PUT /api/v1/routines/{name}`, so channels, tiers, named dates and file ownership are
 * checked exactly as for loopd.yaml.
 */
import { isAbsolute, resolve } from "node:path";
import { Temporal } from "temporal-polyfill";
import { z } from "zod";
import { ROUTINE_SUMMARY_FIELDS, RoutineDetailSchema, RoutineViewSchema } from "../../app/view-schemas.js";
import { HARNESSES, NOTIFY_EVENTS } from "../../domain/config-values.js";
import { LoopdError } from "../../domain/errors.js";
import { isInstantSyntax } from "../../domain/instant.js";
import { findTime, formatInstant } from "../../domain/remind-when.js";
import { systemTimeZone } from "../../domain/time-zone.js";
import { defineTool, type ToolContext } from "../tool.js";

/** What an agent loop may spend when the caller names no budget: a runaway loop stays cheap. */
export const DEFAULT_AGENT_BUDGET = { perRun: 1, perDay: 5 } as const;
export const MCP_LABEL = "mcp";

const routineName = z
  .string()
  .describe("Routine name: lowercase letters, digits and dashes, e.g. `nightly-deps`. Unique in loopd.");

const budget = z.object({
  perRun: z.number().positive().optional().describe("USD cap for one run."),
  perDay: z.number().positive().optional().describe("USD cap per UTC day."),
});

const createLoop = defineTool({
  name: "create_loop",
  title: "Create a durable loop",
  description: [
    "Schedule work that keeps running after this conversation ends: loopd (a local daemon) fires it on a",
    "schedule, keeps its history, and survives restarts. Use it when the user asks to check, re-run or",
    'revisit something later or repeatedly ("every 30m run the tests", "every weekday at 9 summarise CI").',
    "Give exactly one task — `command` (a shell command: costs nothing to run, prefer it whenever a command",
    "can do the job) or `prompt` (a coding agent runs it: every firing spends model tokens) — and exactly",
    "one trigger: `every` (interval like 30m, 2h), `cron` (with optional `tz`) or `at` (one time: ISO",
    'date-time or a phrase like "tomorrow 9am"). The loop runs in `repo`, by default the current working',
    `directory. Agent loops get a budget of $${DEFAULT_AGENT_BUDGET.perRun} per run and $${DEFAULT_AGENT_BUDGET.perDay} per day unless you give one.`,
    "Fails if the name is taken unless `replace: true`. Does not run it now: call run_now for that.",
  ].join(" "),
  input: z.object({
    name: routineName,
    prompt: z.string().optional().describe("Task for a coding agent (spends model tokens on every run)."),
    command: z.string().optional().describe("Shell command, run with `sh -c` in the repo (free)."),
    every: z.string().optional().describe('Interval trigger: "30s", "10m", "2h", "1d".'),
    cron: z.string().optional().describe('Cron trigger, e.g. "0 9 * * 1-5" (5 fields), read in `tz`.'),
    tz: z.string().optional().describe("IANA time zone for `cron`/`at` (default this machine's)."),
    at: z
      .string()
      .optional()
      .describe('One-off trigger: "2026-12-01T09:00", an ISO instant, or a phrase like "tomorrow 9am".'),
    repo: z
      .string()
      .optional()
      .describe("Folder or git repo to run in (default: the current working directory)."),
    harness: z
      .enum(HARNESSES)
      .optional()
      .describe("Agent CLI for a `prompt` (default from loopd's config); `shell` for a `command`."),
    tier: z.string().optional().describe("Model tier declared in loopd.yaml's `models` (e.g. fast, strong)."),
    budget: budget.optional().describe("Spending caps in USD."),
    notify: z
      .object({
        to: z.union([z.string(), z.array(z.string())]).describe("Channel name(s) declared in loopd.yaml."),
        on: z.array(z.enum(NOTIFY_EVENTS)).optional().describe("Events that notify (default [failure])."),
      })
      .optional()
      .describe("Who hears about runs."),
    description: z.string().optional().describe("One line for people reading `loopd ls`."),
    replace: z.boolean().optional().describe("Replace an existing routine of this name (default false)."),
  }),
  output: z.object({
    routine: RoutineViewSchema,
    created: z.boolean(),
    repo: z.string(),
    budget: budget.nullable(),
    next: z.string(),
  }),
  async handler(args, context) {
    const triggers = (["every", "cron", "at"] as const).filter((key) => args[key] !== undefined);
    if (triggers.length === 0) {
      throw new LoopdError("LOOPD_USAGE", "create_loop needs a trigger: `every`, `cron` or `at`", {
        hint: 'Add e.g. every: "1h"; use run_now to run something once right away.',
      });
    }
    if (!args.replace && (await context.backend.findRoutine(args.name))) {
      throw new LoopdError("LOOPD_CONFIG_INVALID", `a routine named "${args.name}" already exists`, {
        hint: "Pick another name, or pass replace: true to overwrite it (get_routine shows the current one).",
      });
    }
    const cwd = context.backend.options.cwd;
    const repo = args.repo === undefined ? cwd : isAbsolute(args.repo) ? args.repo : resolve(cwd, args.repo);
    const chosenBudget = args.budget ?? (args.prompt !== undefined ? { ...DEFAULT_AGENT_BUDGET } : undefined);
    const routine = {
      description: describe(args.description, context),
      labels: [MCP_LABEL],
      repo,
      ...pick(args, ["prompt", "command", "every", "cron", "tz", "harness", "tier", "notify"]),
      ...(args.at !== undefined ? { at: resolveAt(args.at, args.tz, context) } : {}),
      ...(chosenBudget ? { budget: chosenBudget } : {}),
    };
    const result = await context.backend.upsertRoutine(args.name, routine);
    return {
      ...result,
      repo,
      budget: chosenBudget ?? null,
      next: result.routine.nextDueAt
        ? `First run ${result.routine.nextDueAt} (${result.routine.trigger}). Check on it with list_runs or get_routine.`
        : `No run is scheduled (${result.routine.trigger}).`,
    };
  },
});

const listRoutines = defineTool({
  name: "list_routines",
  title: "List routines",
  description:
    "All loops and watches loopd knows (from loopd.yaml, this or other agents, `loopd remind`): trigger, state, next run, health and what each spent today (costTodayUsd, USD since 00:00 UTC). Free; read-only.",
  readOnly: true,
  input: z.object({
    label: z
      .string()
      .optional()
      .describe('Only routines with this label (e.g. "mcp" for ones agents created).'),
  }),
  output: z.object({ routines: z.array(RoutineViewSchema.extend(ROUTINE_SUMMARY_FIELDS)) }),
  async handler(args, context) {
    const routines = await context.backend.listRoutines();
    return {
      routines: args.label === undefined ? routines : routines.filter((r) => r.labels.includes(args.label!)),
    };
  },
});

const getRoutine = defineTool({
  name: "get_routine",
  title: "Show one routine",
  description:
    "One routine's settings (the normalised spec: task, trigger, repo, budget), health and most recent runs. Free; read-only.",
  readOnly: true,
  input: z.object({
    name: routineName,
    runs: z.int().min(1).max(50).optional().describe("Recent runs to include (default 5)."),
  }),
  output: RoutineDetailSchema,
  async handler(args, context) {
    return context.backend.showRoutine(args.name, args.runs ?? 5);
  },
});

const pause = defineTool({
  name: "pause",
  title: "Pause a routine",
  description:
    "Stop scheduling a routine until resume is called (a run already going finishes). Use it to stop a loop that misbehaves or spends too much without losing its history.",
  input: z.object({ name: routineName, reason: z.string().optional().describe("Why, shown in `loopd ls`.") }),
  output: z.object({ routine: RoutineViewSchema }),
  async handler(args, context) {
    return { routine: await context.backend.pauseRoutine(args.name, args.reason) };
  },
});

const resume = defineTool({
  name: "resume",
  title: "Resume a routine",
  description:
    "Schedule a paused routine again from now; occurrences missed while paused are not run. Agent loops start spending tokens again.",
  input: z.object({ name: routineName }),
  output: z.object({ routine: RoutineViewSchema }),
  async handler(args, context) {
    return { routine: await context.backend.resumeRoutine(args.name) };
  },
});

const deleteRoutine = defineTool({
  name: "delete_routine",
  title: "Delete a routine",
  description:
    "Delete a routine with its runs and memory (spent costs stay in the ledger). Prefer pause when it may be wanted again. A routine declared in a loopd.yaml comes back on the next `loopd apply`: edit the file instead.",
  input: z.object({ name: routineName }),
  output: z.object({ removed: z.string(), source: z.string().nullable() }),
  async handler(args, context) {
    const removed = await context.backend.removeRoutine(args.name);
    return { removed: removed.name, source: removed.source };
  },
});

export const routineTools = [createLoop, listRoutines, getRoutine, pause, resume, deleteRoutine];

function describe(given: string | undefined, context: ToolContext): string {
  const origin = `created by ${context.clientName()} via MCP`;
  return given ? `${given} (${origin})` : origin;
}

/** ISO and named dates pass through for loopd.yaml's own check; a phrase is placed here. */
function resolveAt(at: string, tz: string | undefined, context: ToolContext): string {
  if (isInstantSyntax(at)) return at;
  const timeZone = tz ?? systemTimeZone();
  const found = findTime(at, {
    now: context.backend.options.now(),
    timeZone,
    dates: {},
    defaultTime: Temporal.PlainTime.from("09:00"),
  });
  if (!found.ok || !found.time) {
    throw new LoopdError(
      "LOOPD_USAGE",
      `at: could not read "${at}" as a time${found.ok ? "" : ` (${found.reason})`}`,
      {
        hint: 'Give an ISO date-time like "2026-12-01T09:00" or a phrase like "tomorrow 9am" or "in 2 hours".',
      },
    );
  }
  return formatInstant(found.time.epochMs, timeZone);
}

function pick<T extends object, K extends keyof T>(value: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const picked: Partial<Pick<T, K>> = {};
  for (const key of keys) if (value[key] !== undefined) picked[key] = value[key];
  return picked;
}
