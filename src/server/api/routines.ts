/**
 * /api/v1/routines: list (with today's spend), show (with memory and watch state), create or
 * replace (`PUT`, loopd.yaml's shape), pause, resume, remove, run now (`/run`, alias `/fire`).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { listCheckViews } from "../../app/checks.js";
import { showMemory } from "../../app/memory.js";
import { upsertRoutine } from "../../app/routine-upsert.js";
import {
  listRoutineItems,
  pauseRoutine,
  removeRoutine,
  resumeRoutine,
  showRoutine,
} from "../../app/routines.js";
import { fireRoutine } from "../../app/run-now.js";
import { type Api, type ApiDeps, runUrl } from "./deps.js";
import {
  errorResponses,
  FiredSchema,
  RoutineBodySchema,
  RoutineDetailSchema,
  RoutineNameParam,
  RoutineSummarySchema,
  RoutineViewSchema,
} from "./schemas.js";

const tags = ["routines"];

const json = <T>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

const listRoute = createRoute({
  method: "get",
  path: "/routines",
  tags,
  summary: "Every routine with its health and today's spend",
  responses: {
    200: json(z.object({ routines: z.array(RoutineSummarySchema) }), "The routines, by name"),
    ...errorResponses(401),
  },
});

const showRoute = createRoute({
  method: "get",
  path: "/routines/{name}",
  tags,
  summary: "One routine: view, stored spec, recent runs, memory and (for a watch) its check state",
  request: { params: RoutineNameParam },
  responses: { 200: json(RoutineDetailSchema, "The routine"), ...errorResponses(401, 404) },
});

const putRoute = createRoute({
  method: "put",
  path: "/routines/{name}",
  tags,
  summary: "Create or replace a routine (not one a loopd.yaml owns)",
  description:
    "Validated exactly like loopd.yaml against the applied settings; the path's name wins over the body's. The routine has no source, so `loopd apply` never touches it.",
  request: {
    params: RoutineNameParam,
    body: { content: { "application/json": { schema: RoutineBodySchema } }, required: true },
  },
  responses: {
    200: json(z.object({ routine: RoutineViewSchema, created: z.literal(false) }), "Replaced"),
    201: json(z.object({ routine: RoutineViewSchema, created: z.literal(true) }), "Created"),
    ...errorResponses(400, 401, 409),
  },
});

const pauseRoute = createRoute({
  method: "post",
  path: "/routines/{name}/pause",
  tags,
  summary: "Pause a routine (no new runs until resumed)",
  request: {
    params: RoutineNameParam,
    body: {
      content: { "application/json": { schema: z.object({ reason: z.string().min(1).optional() }) } },
    },
  },
  responses: { 200: json(RoutineViewSchema, "The paused routine"), ...errorResponses(400, 401, 404) },
});

const resumeRoute = createRoute({
  method: "post",
  path: "/routines/{name}/resume",
  tags,
  summary: "Resume a paused routine",
  request: { params: RoutineNameParam },
  responses: { 200: json(RoutineViewSchema, "The resumed routine"), ...errorResponses(401, 404) },
});

const deleteRoute = createRoute({
  method: "delete",
  path: "/routines/{name}",
  tags,
  summary: "Remove a routine with its runs and memory (ledger rows stay)",
  request: { params: RoutineNameParam },
  responses: { 204: { description: "Removed" }, ...errorResponses(401, 404) },
});

const runRoute = (path: string, deprecated: boolean) =>
  createRoute({
    method: "post",
    path,
    tags,
    summary: deprecated ? "Alias of POST /routines/{name}/run" : "Queue a run now; it starts at once",
    deprecated,
    request: {
      params: RoutineNameParam,
      body: {
        content: {
          "application/json": {
            schema: z.object({
              text: z
                .string()
                .optional()
                .openapi({ description: "Appended to the run's prompt (LOOPD_INPUT)." }),
              force: z.boolean().optional().openapi({
                description:
                  "Run a routine paused for auth anyway (without it: 409 LOOPD_ROUTINE_PAUSED_AUTH).",
              }),
            }),
          },
        },
      },
    },
    responses: { 202: json(FiredSchema, "Queued"), ...errorResponses(400, 401, 404, 409) },
  });

export function registerRoutineRoutes(api: Api, deps: ApiDeps): void {
  const { store } = deps;

  api.openapi(listRoute, async (c) => {
    return c.json({ routines: await listRoutineItems(store, deps.now()) }, 200);
  });

  api.openapi(showRoute, async (c) => {
    const { name } = c.req.valid("param");
    const detail = await showRoutine(store, name);
    const [memory, checks] = await Promise.all([
      showMemory(store, name),
      detail.check === null ? Promise.resolve([]) : listCheckViews(store, { all: true }),
    ]);
    return c.json(
      {
        ...detail,
        memory: memory.updatedAt === null ? null : memory.content,
        checks: checks.find((check) => check.routine === name) ?? null,
      },
      200,
    );
  });

  api.openapi(putRoute, async (c) => {
    const { name } = c.req.valid("param");
    const result = await upsertRoutine(store, {
      name,
      routine: c.req.valid("json"),
      now: deps.now(),
      cwd: deps.cwd,
    });
    deps.onFired(); // a new or moved schedule: let the scheduler look now
    return result.created
      ? c.json({ routine: result.routine, created: true as const }, 201)
      : c.json({ routine: result.routine, created: false as const }, 200);
  });

  api.openapi(pauseRoute, async (c) => {
    const { name } = c.req.valid("param");
    return c.json(await pauseRoutine(store, name, c.req.valid("json").reason), 200);
  });

  api.openapi(resumeRoute, async (c) => {
    const view = await resumeRoutine(store, c.req.valid("param").name, deps.now());
    deps.onFired();
    return c.json(view, 200);
  });

  api.openapi(deleteRoute, async (c) => {
    await removeRoutine(store, c.req.valid("param").name);
    return c.body(null, 204);
  });

  for (const route of [runRoute("/routines/{name}/run", false), runRoute("/routines/{name}/fire", true)]) {
    api.openapi(route, async (c) => {
      const { name } = c.req.valid("param");
      const { text, force } = c.req.valid("json");
      const fired = await fireRoutine(store, name, {
        now: deps.now(),
        ...(text !== undefined ? { input: text } : {}),
        ...(force ? { force } : {}),
      });
      deps.onFired();
      return c.json({ runId: fired.runId, routine: name, url: runUrl(deps, fired.runId) }, 202);
    });
  }
}
