/**
 * /api/v1/health, /api/v1/version and /api/v1/status (`loopd status` with LOOPD_URL); the open
 * `/healthz` stays outside the API for probes.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { status, StatusViewSchema as statusViewSchema } from "../../app/status.js";
import type { Api, ApiDeps } from "./deps.js";
import { errorResponses, HealthSchema, VersionSchema } from "./schemas.js";

const healthRoute = createRoute({
  method: "get",
  path: "/health",
  tags: ["system"],
  summary: "The daemon: version, store, worker id, runs in progress",
  responses: {
    200: { description: "Healthy", content: { "application/json": { schema: HealthSchema } } },
    ...errorResponses(401),
  },
});

const versionRoute = createRoute({
  method: "get",
  path: "/version",
  tags: ["system"],
  summary: "loopd's version",
  responses: {
    200: { description: "The version", content: { "application/json": { schema: VersionSchema } } },
    ...errorResponses(401),
  },
});

const StatusSchema = z.object(statusViewSchema.shape).openapi("Status");

const statusRoute = createRoute({
  method: "get",
  path: "/status",
  tags: ["system"],
  summary:
    "The daemon at a glance: store and schema, workers seen in the last two minutes, next due, failing and paused routines, spend today",
  responses: {
    200: { description: "The status", content: { "application/json": { schema: StatusSchema } } },
    ...errorResponses(401),
  },
});

export function registerSystemRoutes(api: Api, deps: ApiDeps): void {
  api.openapi(healthRoute, (c) =>
    c.json(
      {
        ok: true,
        version: deps.version,
        store: deps.store.location,
        workerId: deps.workerId,
        activeRuns: deps.activeRuns(),
      },
      200,
    ),
  );
  api.openapi(versionRoute, (c) => c.json({ version: deps.version }, 200));
  api.openapi(statusRoute, async (c) =>
    c.json(
      await status(deps.store, {
        version: deps.version,
        now: deps.now(),
        daemon: { url: deps.baseUrl(), pid: process.pid, workerId: deps.workerId },
      }),
      200,
    ),
  );
}
