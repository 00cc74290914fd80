/**
 * The HTTP API under /api/v1 (OpenAPIHono): every route is declared with zod schemas, so the
 * same declaration validates requests, types the handlers and writes the OpenAPI 3.1
 * document served at /api/v1/openapi.json. Every route, the document included, needs the
 * API token (auth.ts). Handlers call `app/` use-cases and throw LoopdErrors; errors.ts turns
 * them into `{ error }` responses.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { LoopdError } from "../../domain/errors.js";
import { registerApplyRoutes } from "./apply.js";
import { requireApiToken } from "./auth.js";
import { registerCheckRoutes } from "./checks.js";
import { registerCostRoutes } from "./costs.js";
import { registerDeliveryRoutes } from "./deliveries.js";
import type { Api, ApiDeps } from "./deps.js";
import { onApiError, onApiNotFound, problem, validationHook } from "./errors.js";
import { registerEventRoutes } from "./events.js";
import { registerFeedbackRoutes } from "./feedback.js";
import { registerMemoryRoutes } from "./memory.js";
import { registerRemindRoutes } from "./remind.js";
import { registerRoutineRoutes } from "./routines.js";
import { registerRunRoutes } from "./runs.js";
import { registerSystemRoutes } from "./system.js";
import { registerTestRoutes } from "./tests.js";

export type { ApiDeps } from "./deps.js";

export const API_BASE = "/api/v1";
const MAX_BODY_BYTES = 1024 * 1024;

export function createApi(deps: ApiDeps): Api {
  const api = new OpenAPIHono({ defaultHook: validationHook }).basePath(API_BASE) as unknown as Api;
  api.onError(onApiError);
  api.use("*", requireApiToken(deps.token));
  api.use(
    "*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => problem(c, new LoopdError("LOOPD_HOOK_TOO_LARGE", `body over ${MAX_BODY_BYTES} bytes`)),
    }),
  );
  api.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description: "The token in <home>/api-token (or `?access_token=` for EventSource).",
  });

  registerSystemRoutes(api, deps);
  registerRoutineRoutes(api, deps);
  registerApplyRoutes(api, deps);
  registerMemoryRoutes(api, deps);
  registerRunRoutes(api, deps);
  registerEventRoutes(api, deps);
  registerCostRoutes(api, deps);
  registerCheckRoutes(api, deps);
  registerRemindRoutes(api, deps);
  registerDeliveryRoutes(api, deps);
  registerTestRoutes(api, deps);
  registerFeedbackRoutes(api, deps);

  api.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "loopd",
      version: deps.version,
      description:
        "Routines, runs, costs, watches and deliveries of a loopd daemon. Errors are `{ error: { code, message, hint } }` (docs/errors.md).",
    },
    security: [{ bearer: [] }],
  });
  // Anything else under /api/v1 is a JSON 404, not the dashboard's HTML.
  api.all("*", onApiNotFound);
  return api;
}
