/**
 * /api/v1/costs: the ledger grouped by routine, model, tier, day or harness, over a window;
 * /api/v1/budgets: where each daily and monthly cap stands.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { budgetStatus } from "../../app/budgets.js";
import { costs } from "../../app/costs.js";
import { DEFAULT_SINCE, parseSince } from "../../domain/since.js";
import type { Api, ApiDeps } from "./deps.js";
import { invalidRequest } from "./errors.js";
import { BudgetLineSchema, CostsViewSchema, errorResponses } from "./schemas.js";

const route = createRoute({
  method: "get",
  path: "/costs",
  tags: ["costs"],
  summary: "What routines, models, tiers, days or harnesses cost",
  request: {
    query: z.object({
      by: CostsViewSchema.shape.by.optional().openapi({ description: "Grouping (default routine)." }),
      since: z
        .string()
        .min(1)
        .optional()
        .openapi({ description: "How far back (default 7d).", example: "30d" }),
      routine: z.string().min(1).optional(),
    }),
  },
  responses: {
    200: { description: "The report", content: { "application/json": { schema: CostsViewSchema } } },
    ...errorResponses(400, 401, 404),
  },
});

const budgetsRoute = createRoute({
  method: "get",
  path: "/budgets",
  tags: ["costs"],
  summary: "Each daily and monthly USD cap with what the ledger holds for the current period",
  responses: {
    200: {
      description: "The caps",
      content: { "application/json": { schema: z.object({ budgets: z.array(BudgetLineSchema) }) } },
    },
    ...errorResponses(401),
  },
});

export function registerCostRoutes(api: Api, deps: ApiDeps): void {
  api.openapi(budgetsRoute, async (c) => c.json(await budgetStatus(deps.store, deps.now()), 200));
  api.openapi(route, async (c) => {
    const query = c.req.valid("query");
    const window = parseSince(query.since ?? DEFAULT_SINCE, deps.now());
    if (!window.ok) throw invalidRequest([{ in: "query", path: "since", message: window.reason }]);
    const view = await costs(deps.store, {
      by: query.by ?? "routine",
      since: window.since,
      ...(query.routine !== undefined ? { routine: query.routine } : {}),
    });
    return c.json(view, 200);
  });
}
