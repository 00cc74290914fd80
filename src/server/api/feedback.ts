/** /api/v1/feedback: the themes of feedback-triage routines (`loopd feedback` with LOOPD_URL). */
import { createRoute, z } from "@hono/zod-openapi";
import { FeedbackClusterViewSchema as clusterViewSchema, feedbackClusterViews } from "../../app/feedback.js";
import type { Api, ApiDeps } from "./deps.js";
import { errorResponses } from "./schemas.js";

const FeedbackClusterViewSchema = z.object(clusterViewSchema.shape).openapi("FeedbackClusterView");

const route = createRoute({
  method: "get",
  path: "/feedback",
  tags: ["feedback"],
  summary:
    "The feedback themes of feedback-triage routines: id, label, size, status and representative items",
  request: {
    query: z.object({
      routine: z
        .string()
        .min(1)
        .optional()
        .openapi({ description: "Only this routine (default: every feedback-triage routine)." }),
      all: z.enum(["0", "1"]).optional().openapi({ description: "1: resolved themes too." }),
    }),
  },
  responses: {
    200: {
      description: "The themes, largest first per routine",
      content: { "application/json": { schema: z.object({ clusters: z.array(FeedbackClusterViewSchema) }) } },
    },
    ...errorResponses(401, 404),
  },
});

export function registerFeedbackRoutes(api: Api, deps: ApiDeps): void {
  api.openapi(route, async (c) => {
    const { routine, all } = c.req.valid("query");
    const clusters = await feedbackClusterViews(deps.store, {
      ...(routine !== undefined ? { routine } : {}),
      all: all === "1",
    });
    return c.json({ clusters }, 200);
  });
}
