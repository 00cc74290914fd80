/**
 * /api/v1/deliveries: notification deliveries (the outbox), newest first; ?failed=1 for the ones
 * in trouble; with the count of every delivery by status (`loopd deliveries`' totals line).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { deliveryCounts, listDeliveryViews, retryDeliveryById } from "../../app/deliveries.js";
import type { Api, ApiDeps } from "./deps.js";
import { DeliveryViewSchema, errorResponses } from "./schemas.js";

const route = createRoute({
  method: "get",
  path: "/deliveries",
  tags: ["deliveries"],
  summary: "Notification deliveries, newest first",
  request: {
    query: z.object({
      failed: z
        .enum(["0", "1", "true", "false"])
        .optional()
        .openapi({ description: "Only deliveries that failed (retrying or dead)." }),
      limit: z.coerce.number().int().min(1).max(500).optional().openapi({ type: "integer", example: 20 }),
    }),
  },
  responses: {
    200: {
      description: "The deliveries",
      content: {
        "application/json": {
          schema: z.object({
            deliveries: z.array(DeliveryViewSchema),
            counts: z
              .record(DeliveryViewSchema.shape.status, z.int())
              .openapi({ description: "Every delivery (not only the listed ones), by status." }),
          }),
        },
      },
    },
    ...errorResponses(400, 401),
  },
});

const retryRoute = createRoute({
  method: "post",
  path: "/deliveries/{id}/retry",
  tags: ["deliveries"],
  summary: "Make a pending or dead delivery due now",
  request: {
    params: z.object({
      id: z.string().min(1).openapi({ description: "The delivery's id, or the short prefix lists show." }),
    }),
  },
  responses: {
    200: {
      description: "The delivery, due now",
      content: { "application/json": { schema: DeliveryViewSchema } },
    },
    ...errorResponses(400, 401, 404),
  },
});

export function registerDeliveryRoutes(api: Api, deps: ApiDeps): void {
  api.openapi(route, async (c) => {
    const { failed, limit } = c.req.valid("query");
    const [deliveries, counts] = await Promise.all([
      listDeliveryViews(deps.store, {
        failed: failed === "1" || failed === "true",
        ...(limit !== undefined ? { limit } : {}),
      }),
      deliveryCounts(deps.store),
    ]);
    return c.json({ deliveries, counts }, 200);
  });
  api.openapi(retryRoute, async (c) => {
    const delivery = await retryDeliveryById(deps.store, c.req.valid("param").id, deps.now());
    deps.onFired(); // the delivery worker would otherwise see it at its next rescan
    return c.json(delivery, 200);
  });
}
