/**
 * The API's request and response shapes as zod schemas, for validation and the OpenAPI
 * document. They describe the stable views of `app/` (views.ts, checks.ts, costs.ts,
 * deliveries.ts, runs.ts): a view changing shape without its schema fails the type check.
 * The routine body is loopd.yaml's routine schema itself.
 */
import { z } from "@hono/zod-openapi";
import { HARNESSES, name, routineSchema } from "../../domain/config-schema.js";
import { COST_REPORT_KEYS } from "../../domain/cost-report.js";
import { DELIVERY_STATUSES } from "../../domain/delivery-status.js";
import { OUTCOMES, ROUTINE_STATES, RUN_STATUSES, RUN_TRIGGERS } from "../../domain/run-status.js";

const isoTime = z.string().openapi({ format: "date-time", example: "2026-11-29T09:00:00.000Z" });
const isoTimeOrNull = isoTime.nullable();
const codedError = z.object({ code: z.string().nullable(), message: z.string() }).nullable();
const runError = z
  .object({
    code: z.string().nullable(),
    message: z.string(),
    hint: z.string().nullable().openapi({
      description: "The specific fix for this error (the harness's, else docs/errors.md's for the code).",
    }),
  })
  .nullable();
const verdict = z.enum(["satisfied", "unsatisfied"]);
const RunDeliverySchema = z
  .object({
    mode: z.enum(["commit", "push"]),
    branch: z
      .string()
      .openapi({ description: "The branch holding the run's work.", example: "loopd/fix-docs/42" }),
    commit: z
      .string()
      .nullable()
      .openapi({ description: "The branch head with the work; null when the commit failed." }),
    pushed: z.boolean(),
    remote: z.string().nullable().openapi({ description: "push: the remote's URL (no credentials)." }),
    remoteBranch: z.string().nullable(),
    skipped: z
      .string()
      .nullable()
      .openapi({ description: "push: why it was not pushed (the run failed, or escaped its worktree)." }),
    error: z
      .object({ code: z.string(), message: z.string(), hint: z.string() })
      .nullable()
      .openapi({ description: "LOOPD_DELIVERY_FAILED: a hook refused the commit, or the remote the push." }),
  })
  .nullable()
  .openapi("RunDelivery", {
    description: "What became of the run's work (`deliver`); null when there was none.",
  });
const anyObject = (description: string) => z.unknown().openapi({ type: "object", description });

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

export const RoutineViewSchema = z
  .object({
    name: z.string(),
    description: z.string().nullable(),
    state: z.enum(ROUTINE_STATES),
    pausedReason: z.string().nullable(),
    pausedCode: z.string().nullable().openapi({
      description:
        "Why it paused, as a code: LOOPD_ROUTINE_FAILING (the failure circuit breaker), LOOPD_AUTH_*, …",
    }),
    pauseHint: z.string().nullable().openapi({ description: "What to do about the pause." }),
    misfire: z.object({ dueAt: isoTime, lateByMs: z.number(), hint: z.string() }).nullable().openapi({
      description: "Set when its due time is more than two periods behind with no run: nothing schedules it.",
    }),
    trigger: z.string().openapi({ description: "The trigger in words.", example: "every 10m" }),
    triggerSpec: anyObject("The normalised trigger (`kind`: every, cron, at, by, event, manual …)."),
    nextDueAt: isoTimeOrNull,
    harness: z.enum(HARNESSES),
    tier: z.string().nullable(),
    check: z.string().nullable().openapi({ description: "A watch's check in words." }),
    lastVerdict: verdict.nullable(),
    labels: z.array(z.string()),
    health: z.object({
      lastRunAt: isoTimeOrNull,
      lastOutcome: z.enum(OUTCOMES).nullable(),
      lastError: codedError,
      consecutiveFailures: z.int(),
      lastSuccessAt: isoTimeOrNull,
      lastUnverified: z.boolean().openapi({
        description: "The last run succeeded with no `verify` although its last tool call failed.",
      }),
    }),
    source: z
      .string()
      .nullable()
      .openapi({ description: "The loopd.yaml that owns it; null when made over the API, MCP or remind." }),
    createdAt: isoTime,
    updatedAt: isoTime,
  })
  .openapi("RoutineView");

export const RoutineSummarySchema = RoutineViewSchema.extend({
  costTodayUsd: z.number().openapi({ description: "Ledger spend since 00:00 UTC." }),
}).openapi("RoutineSummary");

export const RunViewSchema = z
  .object({
    id: z.int(),
    routine: z.string(),
    dueAt: isoTime,
    trigger: z.enum(RUN_TRIGGERS),
    status: z.enum(RUN_STATUSES),
    reason: z.string().nullable(),
    attempt: z.int(),
    maxAttempts: z.int(),
    workerId: z.string().nullable(),
    queuedAt: isoTime,
    startedAt: isoTimeOrNull,
    finishedAt: isoTimeOrNull,
    durationMs: z.number().nullable(),
    exitCode: z.int().nullable(),
    summary: z.string().nullable(),
    error: runError,
    usage: z.object({
      tokensIn: z.number(),
      tokensOut: z.number(),
      tokensCached: z.number(),
      tokensReasoning: z.number(),
    }),
    costUsd: z.number(),
    turns: z.int().nullable(),
    sessionId: z.string().nullable(),
    branch: z.string().nullable(),
    workspace: z.string().nullable(),
    headCommit: z.string().nullable(),
    tier: z.string().nullable(),
    routeReason: z.string().nullable(),
    verdict: verdict.nullable(),
    delivery: RunDeliverySchema,
    unverified: z.boolean().openapi({
      description:
        "Succeeded with no `verify` although its last tool call failed (an error, or a command that exited non-zero): nobody checked the work.",
    }),
  })
  .openapi("RunView");

const CheckResultSchema = z
  .object({
    status: z.enum(["satisfied", "unsatisfied", "error"]),
    summary: z.string(),
    evidence: z.record(z.string(), z.unknown()),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
  })
  .openapi("CheckResult");

export const RunDetailSchema = RunViewSchema.extend({
  changedFiles: z.array(z.string()),
  escaped: z.array(z.string()),
  diff: z.string().openapi({ description: 'Unified diff of the last attempt ("" when none).' }),
  finalMessage: z.string().nullable(),
  check: CheckResultSchema.nullable(),
}).openapi("RunDetail");

export const RunEventSchema = z
  .object({
    id: z.int().openapi({ description: "Increasing; the SSE `id:` and `?after=` cursor." }),
    runId: z.int(),
    attempt: z.int(),
    at: isoTime,
    type: z.string().openapi({ example: "log" }),
    stream: z.string().nullable().openapi({ example: "stdout" }),
    data: z.union([z.string(), z.record(z.string(), z.unknown())]).openapi({
      description: "The output line for `log` events; the event's fields (an object) for the others.",
    }),
  })
  .openapi("RunEvent");

export const CheckViewSchema = z
  .object({
    routine: z.string(),
    check: z.string(),
    subject: z.string(),
    state: z.enum(["open", "satisfied", "missed", "done", "paused"]),
    nextEvaluationAt: isoTimeOrNull,
    deadline: isoTimeOrNull,
    lastVerdict: verdict.nullable(),
    last: z
      .object({
        runId: z.int(),
        at: isoTimeOrNull,
        status: z.enum(["satisfied", "unsatisfied", "error"]).nullable(),
        summary: z.string().nullable(),
        evidence: z.record(z.string(), z.unknown()).nullable(),
      })
      .nullable(),
    onUnsatisfied: z.object({ notify: z.boolean(), run: z.string().nullable() }),
    notifies: z.array(z.string()),
  })
  .openapi("CheckView");

export const RoutineDetailSchema = RoutineViewSchema.extend({
  spec: anyObject("The normalised routine the store keeps (defaults filled in, times resolved)."),
  yaml: z.string().openapi({
    description:
      "The routine as a user writes it in loopd.yaml: defaults left out, the hook secret as its fingerprint.",
  }),
  recentRuns: z.array(RunViewSchema),
  memory: z.string().nullable().openapi({ description: "The routine's memory; null when it has none." }),
  checks: CheckViewSchema.nullable().openapi({ description: "A watch's state; null for other routines." }),
}).openapi("RoutineDetail");

const costFigures = {
  runs: z.int(),
  tokensIn: z.number(),
  tokensOut: z.number(),
  tokensCached: z.number(),
  costUsd: z.number(),
};

export const CostsViewSchema = z
  .object({
    by: z.enum(COST_REPORT_KEYS),
    since: isoTime,
    routine: z.string().nullable(),
    rows: z.array(z.object({ key: z.string(), ...costFigures, tokensReasoning: z.number() })),
    total: z.object(costFigures),
  })
  .openapi("CostsView");

export const DeliveryViewSchema = z
  .object({
    id: z.string(),
    type: z.string(),
    channel: z.string(),
    routine: z.string().nullable(),
    runId: z.int().nullable(),
    status: z.enum(DELIVERY_STATUSES),
    attempts: z.int(),
    nextAttemptAt: isoTimeOrNull,
    deliveredAt: isoTimeOrNull,
    digestUntil: isoTimeOrNull,
    lastError: z.string().nullable(),
    createdAt: isoTime,
  })
  .openapi("DeliveryView");

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
