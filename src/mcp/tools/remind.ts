/**
 * remind: a sentence → the same plan `loopd remind` makes (the parser, then the cheap model
 * tier), returned for the agent to check; scheduled only when called again with confirm: true.
 */
import { z } from "zod";
import type { PlannedReminder } from "../../app/remind.js";
import { RoutineViewSchema } from "../../app/view-schemas.js";
import { LoopdError } from "../../domain/errors.js";
import { isIanaTimeZone, systemTimeZone } from "../../domain/time-zone.js";
import { defineTool } from "../tool.js";
import { MCP_LABEL } from "./routines.js";

const remind = defineTool({
  name: "remind",
  title: "Set a reminder / watch from a sentence",
  description: [
    'Turn one sentence into a watch that pings the user, e.g. "tomorrow, check https://github.com/acme/web/issues/34',
    'and ping me if it isn\'t closed", "tell me when CI is green on https://github.com/acme/web/pull/7",',
    '"bug me if test/sync.test.ts doesn\'t go green after retry". Call it first WITHOUT confirm: it only returns',
    "the plan (when it looks, what it checks, whom it pings) and schedules nothing. Show or check the plan, then",
    "call again with the same sentence and confirm: true to schedule it. Checks run by loopd itself are free;",
    "a sentence the parser cannot read is handed to the cheap model tier (a small cost, reported in `source`).",
    "Needs a notification channel declared in loopd.yaml.",
  ].join(" "),
  input: z.object({
    sentence: z.string().min(1).describe("What to watch, when, and when to ping."),
    confirm: z.boolean().optional().describe("true: schedule the plan. Default false: only return it."),
    to: z.array(z.string()).optional().describe("Channel(s) to ping (default: the only declared channel)."),
    name: z.string().optional().describe("Routine name (default: derived from the subject)."),
    tz: z.string().optional().describe("IANA time zone the sentence is read in (default this machine's)."),
  }),
  output: z.object({
    scheduled: z.boolean(),
    plan: z.record(z.string(), z.unknown()),
    source: z.union([z.literal("parser"), z.object({ model: z.string(), costUsd: z.number() })]),
    routineConfig: z.record(z.string(), z.unknown()).describe("The watch in loopd.yaml's shape."),
    check: z.string(),
    firstEvaluationAt: z.string().nullable(),
    routine: RoutineViewSchema.nullable().describe("The scheduled watch (confirm: true only)."),
    next: z.string(),
  }),
  async handler(args, context) {
    const timeZone = args.tz ?? systemTimeZone();
    if (!isIanaTimeZone(timeZone)) {
      throw new LoopdError("LOOPD_USAGE", `"${timeZone}" is not an IANA time zone`, {
        hint: "Use a zone like Europe/Berlin, America/New_York or UTC.",
      });
    }
    const { backend } = context;
    const request = {
      sentence: args.sentence,
      now: backend.options.now(),
      timeZone,
      timeZoneGiven: args.tz !== undefined,
      cwd: backend.options.cwd,
      ...(args.to ? { to: args.to } : {}),
      ...(args.name ? { name: args.name } : {}),
    };
    const planned = await backend.planReminder(request);
    if (!args.confirm) {
      return {
        ...shape(planned),
        scheduled: false,
        routine: null,
        next: "Nothing is scheduled yet. If the plan is right, call remind again with the same sentence and confirm: true.",
      };
    }
    const labelled = {
      ...planned,
      routine: { ...planned.routine, labels: labelsWithMcp(planned.routine.labels) },
    };
    const routine = await backend.scheduleReminder(labelled, request);
    return {
      ...shape(labelled),
      scheduled: true,
      routine,
      next: `Scheduled as ${routine.name}. list_routines shows it; delete_routine cancels it.`,
    };
  },
});

export const remindTools = [remind];

function shape(planned: PlannedReminder) {
  return {
    plan: planned.plan as unknown as Record<string, unknown>,
    source: planned.source,
    routineConfig: planned.routine,
    check: planned.check,
    firstEvaluationAt: planned.firstEvaluationAt,
  };
}

function labelsWithMcp(labels: unknown): string[] {
  const given = Array.isArray(labels)
    ? labels.filter((label): label is string => typeof label === "string")
    : [];
  return given.includes(MCP_LABEL) ? given : [...given, MCP_LABEL];
}
