/** /api/v1/checks: the watches and where each stands (open ones, or all with ?all=1). */
import { createRoute, z } from "@hono/zod-openapi";
import { listCheckViews } from "../../app/checks.js";
import type { Api, ApiDeps } from "./deps.js";
import { CheckViewSchema, errorResponses } from "./schemas.js";

const route = createRoute({
  method: "get",
  path: "/checks",
  tags: ["checks"],
  summary: "Watches: open or paused ones, or every one with ?all=1",
  request: {
    query: z.object({ all: z.enum(["0", "1", "true", "false"]).optional() }),
  },
  responses: {
    200: {
      description: "The watches",
      content: { "application/json": { schema: z.object({ checks: z.array(CheckViewSchema) }) } },
    },
    ...errorResponses(400, 401),
  },
});

export function registerCheckRoutes(api: Api, deps: ApiDeps): void {
  api.openapi(route, async (c) => {
    const { all } = c.req.valid("query");
    const checks = await listCheckViews(deps.store, { all: all === "1" || all === "true" });
    return c.json({ checks }, 200);
  });
}
