/**
 * POST /api/v1/apply: `loopd apply` for a client that reaches the daemon only through the API
 * (LOOPD_URL). The client sends loopd.yaml's text, the path it read it from (named in errors
 * and stored as the routines' source) and that file's folder, the base of relative `repo:`
 * paths — which must exist on the daemon's machine. The same use-case as a local apply runs.
 */
import { isAbsolute } from "node:path";
import { createRoute, z } from "@hono/zod-openapi";
import { applyConfig } from "../../app/apply-config.js";
import type { Api, ApiDeps } from "./deps.js";
import { errorResponses } from "./schemas.js";

const ApplyBodySchema = z
  .object({
    text: z.string().openapi({ description: "loopd.yaml's content." }),
    file: z
      .string()
      .min(1)
      .openapi({ description: "The file's path as the client sees it.", example: "/srv/app/loopd.yaml" }),
    dir: z
      .string()
      .refine(isAbsolute, "must be an absolute path")
      .openapi({ description: "The file's folder: the base of relative paths, on the daemon's machine." }),
    dryRun: z.boolean().default(false),
    prune: z.boolean().default(false),
  })
  .openapi("ApplyRequest");

const ApplyResultSchema = z
  .object({
    file: z.string(),
    dryRun: z.boolean(),
    changes: z.array(
      z.object({
        action: z.string(),
        name: z.string(),
        fields: z.array(z.string()).optional(),
        reason: z.string().optional(),
      }),
    ),
    settings: z.array(z.string()),
    location: z.string().openapi({ description: "The store written." }),
  })
  .openapi("ApplyResult");

const route = createRoute({
  method: "post",
  path: "/apply",
  tags: ["routines"],
  summary: "Make the routines match a loopd.yaml (or, with dryRun, show the plan)",
  request: { body: { required: true, content: { "application/json": { schema: ApplyBodySchema } } } },
  responses: {
    200: {
      description: "The plan, carried out unless dryRun",
      content: { "application/json": { schema: ApplyResultSchema } },
    },
    ...errorResponses(400, 401),
  },
});

export function registerApplyRoutes(api: Api, deps: ApiDeps): void {
  api.openapi(route, async (c) => {
    const { text, file, dir, dryRun, prune } = c.req.valid("json");
    const result = await applyConfig(deps.store, {
      file,
      sent: { text, dir },
      dryRun,
      prune,
      now: deps.now(),
    });
    const changed =
      result.settings.length > 0 || result.changes.some((change) => change.action !== "unchanged");
    if (!dryRun && changed) deps.onFired(); // new or moved schedules: let the scheduler look now
    return c.json({ ...result, location: deps.store.location }, 200);
  });
}
