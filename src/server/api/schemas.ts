/**
 * The API's request and response shapes as zod schemas, for validation and the OpenAPI
 * document. The routine, run, run event and cost views are app/view-schemas.ts's own, named
 * here as components; the others describe the stable views of `app/` (checks.ts,
 * deliveries.ts, …): a view changing shape without its schema fails the type check. The
 * routine body is loopd.yaml's routine schema itself.
 */
import { z } from "@hono/zod-openapi";
import {
  BudgetLineSchema as budgetLineSchema,
  CheckViewSchema as checkViewSchema,
  CostsViewSchema as costsViewSchema,
  DeliveryViewSchema as deliveryViewSchema,
  MemoryViewSchema as memoryViewSchema,
  ROUTINE_DETAIL_FIELDS,
  ROUTINE_SUMMARY_FIELDS,
  RUN_DETAIL_FIELDS,
  RunDeliverySchema,
  RunEventViewSchema,
  RoutineViewSchema as routineViewSchema,
  RunViewSchema as runViewSchema,
} from "../../app/view-schemas.js";
import { name, routineSchema } from "../../domain/config-schema.js";

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "LOOPD_NOT_FOUND" }),
      message: z.string(),
      hint: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi("Error");

export const HealthSchema = z
  .object({
    ok: z.boolean(),
    version: z.string(),
    store: z.string(),
    workerId: z.string(),
    activeRuns: z.int(),
  })
  .openapi("Health");

export const VersionSchema = z.object({ version: z.string() }).openapi("Version");

/*
 * The views come from app/view-schemas.ts; here they become named components. Rebuilt from
 * their shapes with this module's zod (extended for OpenAPI), so the schemas extending them
 * (RoutineSummary, RoutineDetail, RunDetail) are documented as `allOf` their base.
 */
export const RoutineViewSchema = z.object(routineViewSchema.shape).openapi("RoutineView");

export const RoutineSummarySchema =
  RoutineViewSchema.extend(ROUTINE_SUMMARY_FIELDS).openapi("RoutineSummary");

export const RunViewSchema = z
  .object({ ...runViewSchema.shape, delivery: RunDeliverySchema.meta({ id: "RunDelivery" }) })
  .openapi("RunView");

export const RunDetailSchema = RunViewSchema.extend({
  ...RUN_DETAIL_FIELDS,
  check: RUN_DETAIL_FIELDS.check.unwrap().meta({ id: "CheckResult" }).nullable(),
}).openapi("RunDetail");

export const RunEventSchema = z.object(RunEventViewSchema.shape).openapi("RunEvent");

export const CheckViewSchema = z.object(checkViewSchema.shape).openapi("CheckView");

export const RoutineDetailSchema = RoutineViewSchema.extend({
  ...ROUTINE_DETAIL_FIELDS,
  recentRuns: z.array(RunViewSchema),
  memory: z.string().nullable().openapi({ description: "The routine's memory; null when it has none." }),
  checks: CheckViewSchema.nullable().openapi({ description: "A watch's state; null for other routines." }),
}).openapi("RoutineDetail");

export const CostsViewSchema = z.object(costsViewSchema.shape).openapi("CostsView");

export const BudgetLineSchema = z.object(budgetLineSchema.shape).openapi("BudgetLine");

export const MemoryViewSchema = z.object(memoryViewSchema.shape).openapi("MemoryView");

export const DeliveryViewSchema = z.object(deliveryViewSchema.shape).openapi("DeliveryView");

/**
 * loopd.yaml's routine, field by field; `name` may be left out (the path names the routine).
 * The cross-field rules (one trigger, one task, …) run in the use-case with the applied
 * settings, exactly as for loopd.yaml.
 */
export const RoutineBodySchema = z
  .strictObject({ ...routineSchema.shape, name: name("routine").optional() })
  .openapi("RoutineConfig", {
    description:
      "A routine in loopd.yaml's shape, as JSON. A relative `repo` resolves against the daemon's working directory.",
  });

export const RoutineNameParam = z.object({
  name: z
    .string()
    .min(1)
    .openapi({ param: { name: "name", in: "path" }, example: "nightly-flaky" }),
});

export const RunIdParam = z.object({
  id: z.coerce
    .number()
    .int()
    .positive()
    .openapi({ param: { name: "id", in: "path" }, type: "integer", example: 42 }),
});

export const FiredSchema = z
  .object({
    runId: z.int(),
    routine: z.string(),
    url: z.string().nullable().openapi({ description: "The run in the dashboard." }),
  })
  .openapi("Fired");

/** `application/json` error responses, by status. */
export function errorResponses<S extends number>(...statuses: S[]) {
  const description: Record<number, string> = {
    400: "Invalid request (LOOPD_API_INVALID, LOOPD_CONFIG_INVALID, LOOPD_USAGE)",
    401: "Missing or wrong API token (LOOPD_API_UNAUTHORIZED)",
    404: "Not found (LOOPD_NOT_FOUND)",
    409: "Conflict (LOOPD_ROUTINE_OWNED)",
  };
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: description[status] ?? "Error",
        content: { "application/json": { schema: ErrorSchema } },
      },
    ]),
  ) as Record<S, { description: string; content: { "application/json": { schema: typeof ErrorSchema } } }>;
}
