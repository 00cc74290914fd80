/** /api/v1/flaky: the tests of ci-health routines, classified (`loopd flaky` with LOOPD_URL). */
import { createRoute, z } from "@hono/zod-openapi";
import { flakyTests } from "../../app/flaky-tests.js";
import { FlakyTestViewSchema as flakyTestViewSchema } from "../../app/view-schemas.js";
import type { Api, ApiDeps } from "./deps.js";
import { errorResponses } from "./schemas.js";

const FlakyTestViewSchema = z.object(flakyTestViewSchema.shape).openapi("FlakyTestView");

const route = createRoute({
  method: "get",
  path: "/flaky",
  tags: ["tests"],
  summary:
    "Each test of the ci-health routines: broken, flaky, new, recovered or passing, with its flake rate",
  request: {
    query: z.object({
      routine: z
        .string()
        .min(1)
        .optional()
        .openapi({ description: "Only this routine (default: every ci-health routine)." }),
    }),
  },
  responses: {
    200: {
      description: "The tests, broken first, then flaky by flake rate",
      content: { "application/json": { schema: z.object({ tests: z.array(FlakyTestViewSchema) }) } },
    },
    ...errorResponses(401, 404),
  },
});

export function registerTestRoutes(api: Api, deps: ApiDeps): void {
  api.openapi(route, async (c) => {
    const { routine } = c.req.valid("query");
    const tests = await flakyTests(deps.store, routine !== undefined ? { routine } : {});
    return c.json({ tests }, 200);
  });
}
