/**
 * POST /api/v1/remind/plan and POST /api/v1/remind: `loopd remind` for a client that reaches
 * the daemon only through the API (LOOPD_URL). The sentence is read on the daemon — with the
 * daemon's applied config (channels, tiers, named dates) and, for what the parser cannot read,
 * the daemon's harnesses — and `cwd` names the watch's repo on the daemon's machine, like
 * `apply`'s `dir`. Planning writes nothing; scheduling creates the watch and wakes the engine.
 */
import { isAbsolute } from "node:path";
import { createRoute, z } from "@hono/zod-openapi";
import { type PlannedReminder, planReminder, scheduleReminder } from "../../app/remind.js";
import type { Api, ApiDeps } from "./deps.js";
import { errorResponses, RoutineViewSchema } from "./schemas.js";

const SentenceFields = {
  sentence: z
    .string()
    .min(1)
    .openapi({ example: "tell me when CI is green on https://github.com/acme/web/pull/7" }),
  timeZone: z.string().min(1).openapi({
    description: "IANA zone the sentence's times are read in, unless the sentence names one.",
    example: "Europe/Berlin",
  }),
  timeZoneGiven: z.boolean().optional().openapi({
    description:
      "`timeZone` was chosen by the user (`--tz`), not this machine's default: a sentence naming another zone is LOOPD_REMIND_ZONE_CONFLICT.",
  }),
  cwd: z.string().refine(isAbsolute, "must be an absolute path").openapi({
    description: "The watch's repo (command and test checks run there), on the daemon's machine.",
  }),
  now: z
    .number()
    .int()
    .optional()
    .openapi({ description: "The instant the sentence is read at (ms); default the daemon's clock." }),
};

const PlanBodySchema = z
  .object({
    ...SentenceFields,
    to: z
      .array(z.string())
      .optional()
      .openapi({ description: "Channels to ping; default the only one declared." }),
    name: z.string().optional(),
    useModel: z
      .boolean()
      .default(true)
      .openapi({ description: "Ask the cheap model tier when the parser cannot read the sentence." }),
  })
  .openapi("RemindPlanRequest");

const PlannedReminderSchema = z
  .object({
    plan: z.record(z.string(), z.unknown()).openapi({ description: "What the sentence was read as." }),
    source: z.union([z.literal("parser"), z.object({ model: z.string(), costUsd: z.number() })]),
    routine: z.record(z.string(), z.unknown()).openapi({ description: "The watch, in loopd.yaml's shape." }),
    check: z.string().openapi({ description: "The check in words." }),
    firstEvaluationAt: z.string().nullable(),
  })
  .openapi("PlannedReminder");

const ScheduleBodySchema = z
  .object({ ...SentenceFields, planned: PlannedReminderSchema })
  .openapi("RemindScheduleRequest");

const planRoute = createRoute({
  method: "post",
  path: "/remind/plan",
  tags: ["watches"],
  summary: "Read a sentence into the watch it amounts to (nothing is written)",
  request: { body: { required: true, content: { "application/json": { schema: PlanBodySchema } } } },
  responses: {
    200: { description: "The plan", content: { "application/json": { schema: PlannedReminderSchema } } },
    ...errorResponses(400, 401),
  },
});

const scheduleRoute = createRoute({
  method: "post",
  path: "/remind",
  tags: ["watches"],
  summary: "Schedule a planned reminder (validated again against the applied config)",
  request: { body: { required: true, content: { "application/json": { schema: ScheduleBodySchema } } } },
  responses: {
    201: { description: "The watch", content: { "application/json": { schema: RoutineViewSchema } } },
    ...errorResponses(400, 401),
  },
});

export function registerRemindRoutes(api: Api, deps: ApiDeps): void {
  api.openapi(planRoute, async (c) => {
    const body = c.req.valid("json");
    const planned = await planReminder(deps.store, {
      sentence: body.sentence,
      now: body.now ?? deps.now(),
      timeZone: body.timeZone,
      ...(body.timeZoneGiven !== undefined ? { timeZoneGiven: body.timeZoneGiven } : {}),
      cwd: body.cwd,
      useModel: body.useModel,
      ...(body.to ? { to: body.to } : {}),
      ...(body.name ? { name: body.name } : {}),
      env: deps.env ?? {},
      ...(deps.harnesses ? { harnesses: deps.harnesses } : {}),
    });
    return c.json(planned, 200);
  });

  api.openapi(scheduleRoute, async (c) => {
    const body = c.req.valid("json");
    const routine = await scheduleReminder(deps.store, body.planned as unknown as PlannedReminder, {
      now: body.now ?? deps.now(),
      timeZone: body.timeZone,
      cwd: body.cwd,
    });
    deps.onFired(); // a new schedule: let the scheduler look now
    return c.json(routine, 201);
  });
}
