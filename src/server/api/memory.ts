/** /api/v1/routines/{name}/memory: what a routine remembers between runs, with its size and cap. */
import { createRoute, z } from "@hono/zod-openapi";
import { forgetMemory, setMemory, showMemory } from "../../app/memory.js";
import type { Api, ApiDeps } from "./deps.js";
import { errorResponses, MemoryViewSchema, RoutineNameParam } from "./schemas.js";

const route = createRoute({
  method: "get",
  path: "/routines/{name}/memory",
  tags: ["routines"],
  summary: "A routine's memory",
  request: { params: RoutineNameParam },
  responses: {
    200: { description: "The memory", content: { "application/json": { schema: MemoryViewSchema } } },
    ...errorResponses(401, 404),
  },
});

const setRoute = createRoute({
  method: "put",
  path: "/routines/{name}/memory",
  tags: ["routines"],
  summary: "Replace a routine's memory",
  request: {
    params: RoutineNameParam,
    body: {
      required: true,
      content: { "application/json": { schema: z.object({ content: z.string() }).openapi("MemoryBody") } },
    },
  },
  responses: {
    200: { description: "The memory now", content: { "application/json": { schema: MemoryViewSchema } } },
    ...errorResponses(400, 401, 404),
  },
});

const clearRoute = createRoute({
  method: "delete",
  path: "/routines/{name}/memory",
  tags: ["routines"],
  summary: "Clear a routine's memory",
  request: { params: RoutineNameParam },
  responses: {
    200: {
      description: "Whether there was a memory to clear",
      content: { "application/json": { schema: z.object({ routine: z.string(), cleared: z.boolean() }) } },
    },
    ...errorResponses(401, 404),
  },
});

export function registerMemoryRoutes(api: Api, deps: ApiDeps): void {
  api.openapi(route, async (c) => c.json(await showMemory(deps.store, c.req.valid("param").name), 200));
  api.openapi(setRoute, async (c) =>
    c.json(
      await setMemory(deps.store, c.req.valid("param").name, c.req.valid("json").content, deps.now()),
      200,
    ),
  );
  api.openapi(clearRoute, async (c) =>
    c.json(await forgetMemory(deps.store, c.req.valid("param").name), 200),
  );
}
