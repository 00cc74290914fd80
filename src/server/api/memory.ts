/** /api/v1/routines/{name}/memory: what a routine remembers between runs, with its size and cap. */
import { createRoute } from "@hono/zod-openapi";
import { showMemory } from "../../app/memory.js";
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

export function registerMemoryRoutes(api: Api, deps: ApiDeps): void {
  api.openapi(route, async (c) => c.json(await showMemory(deps.store, c.req.valid("param").name), 200));
}
