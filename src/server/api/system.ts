/** /api/v1/health and /api/v1/version (the open `/healthz` stays outside the API for probes). */
import { createRoute } from "@hono/zod-openapi";
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
}
