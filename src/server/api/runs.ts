/**
 * /api/v1/runs: list (filters, newest first, paged by `before`), show, the diff as text, and
 * the run's log as JSON or, followed, as a Server-Sent Events stream (events.ts).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { listRunLog, listRunViews, showRun } from "../../app/runs.js";
import type { Api, ApiDeps } from "./deps.js";
import { followRun, requireRunView, wantsStream } from "./events.js";
import { errorResponses, RunDetailSchema, RunEventSchema, RunIdParam, RunViewSchema } from "./schemas.js";

const tags = ["runs"];

const listRoute = createRoute({
  method: "get",
  path: "/runs",
  tags,
  summary: "Runs, newest first",
  request: {
    query: z.object({
      routine: z.string().min(1).optional(),
      status: RunViewSchema.shape.status.optional(),
      limit: z.coerce.number().int().min(1).max(500).optional().openapi({ type: "integer", example: 20 }),
      before: z.coerce
        .number()
        .int()
        .positive()
        .optional()
        .openapi({ type: "integer", description: "Only runs with a smaller id (the next page)." }),
    }),
  },
  responses: {
    200: {
      description: "The runs",
      content: { "application/json": { schema: z.object({ runs: z.array(RunViewSchema) }) } },
    },
    ...errorResponses(400, 401, 404),
  },
});

const showRoute = createRoute({
  method: "get",
  path: "/runs/{id}",
  tags,
  summary: "One run with its changed files, diff, final message and check result",
  request: { params: RunIdParam },
  responses: {
    200: { description: "The run", content: { "application/json": { schema: RunDetailSchema } } },
    ...errorResponses(400, 401, 404),
  },
});

const diffRoute = createRoute({
  method: "get",
  path: "/runs/{id}/diff",
  tags,
  summary: "The run's unified diff (empty when it changed nothing)",
  request: { params: RunIdParam },
  responses: {
    200: { description: "The diff", content: { "text/plain": { schema: z.string() } } },
    ...errorResponses(400, 401, 404),
  },
});

const eventsRoute = createRoute({
  method: "get",
  path: "/runs/{id}/events",
  tags,
  summary: "The run's log; with ?follow=1 (or Accept: text/event-stream) a live SSE stream",
  description:
    "The stream replays stored events (SSE `id:` = event id, so `Last-Event-ID` resumes), then follows new ones; `event: run` carries the RunView whenever the status changes, `event: end` the final RunView, after which the stream closes. Comment lines keep it alive every 15 s.",
  request: {
    params: RunIdParam,
    query: z.object({
      after: z.coerce
        .number()
        .int()
        .min(0)
        .optional()
        .openapi({ type: "integer", description: "Only events with a larger id." }),
      follow: z.enum(["0", "1", "true", "false"]).optional(),
      access_token: z
        .string()
        .optional()
        .openapi({ description: "For EventSource, which cannot send headers." }),
    }),
  },
  responses: {
    200: {
      description: "The events (JSON), or the stream",
      content: {
        "application/json": { schema: z.object({ events: z.array(RunEventSchema) }) },
        "text/event-stream": { schema: z.string() },
      },
    },
    ...errorResponses(400, 401, 404),
  },
});

export function registerRunRoutes(api: Api, deps: ApiDeps): void {
  const { store } = deps;

  api.openapi(listRoute, async (c) => {
    const query = c.req.valid("query");
    const runs = await listRunViews(store, {
      ...(query.routine !== undefined ? { routine: query.routine } : {}),
      ...(query.status !== undefined ? { status: query.status } : {}),
      ...(query.limit !== undefined ? { limit: query.limit } : {}),
      ...(query.before !== undefined ? { before: query.before } : {}),
    });
    return c.json({ runs }, 200);
  });

  api.openapi(showRoute, async (c) => c.json(await showRun(store, c.req.valid("param").id), 200));

  api.openapi(diffRoute, async (c) => {
    const run = await showRun(store, c.req.valid("param").id);
    return c.text(run.diff, 200);
  });

  api.openapi(eventsRoute, async (c) => {
    const { id } = c.req.valid("param");
    const query = c.req.valid("query");
    const run = await requireRunView(deps, id); // 404 before a stream starts
    const lastEventId = Number(c.req.header("last-event-id"));
    const after = Number.isInteger(lastEventId) && lastEventId > 0 ? lastEventId : query.after;
    if (wantsStream(c, query.follow)) return followRun(c, deps, run.id, after ?? 0);
    const events = await listRunLog(store, run.id, after !== undefined ? { afterId: after } : {});
    return c.json({ events }, 200);
  });
}
