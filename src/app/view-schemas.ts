/**
 * The stable JSON shapes of routines, runs, run events, costs, budgets, watches, deliveries
 * and memory as zod schemas: declared once here, their TypeScript types derived from them
 * (views.ts, runs.ts, run-event-view.ts, costs.ts, budgets.ts, checks.ts, deliveries.ts,
 * memory.ts), the HTTP API's OpenAPI document built from them (server/api/schemas.ts
 * names them as components) and MCP's tool outputs checked against them.
 *
 * Plain zod with `.meta()` descriptions: app/ carries no HTTP library, and the descriptions
 * reach the OpenAPI document and MCP's JSON schemas alike.
 */
import { z } from "zod";
import type { CheckResult } from "../domain/check.js";
import { HARNESSES } from "../domain/config-schema.js";
import { COST_REPORT_KEYS } from "../domain/cost-report.js";
import { DELIVERY_STATUSES } from "../domain/delivery-status.js";
import { METERING_MODES } from "../domain/metering.js";
import type { RoutineSpec } from "../domain/routine-spec.js";
import { OUTCOMES, ROUTINE_STATES, RUN_STATUSES, RUN_TRIGGERS } from "../domain/run-status.js";
import { TEST_CLASSES } from "../domain/test-health.js";
import type { PublicSpec } from "./views.js";

const isoTime = z.string().meta({ format: "date-time", example: "2026-11-29T09:00:00.000Z" });
const isoTimeOrNull = isoTime.nullable();
const codedError = z.object({ code: z.string().nullable(), message: z.string() }).nullable();
const verdict = z.enum(["satisfied", "unsatisfied"]);

/**
 * A value the document shows only as "an object" while the type keeps what the view really
 * holds (the normalised trigger): spelling it out in zod would restate the config schema.
 */
function opaqueObject<T>(description: string): z.ZodType<T> {
  return z.unknown().meta({ type: "object", description }) as unknown as z.ZodType<T>;
}

export const RoutineViewSchema = z.object({
  name: z.string(),
  description: z.string().nullable(),
  state: z.enum(ROUTINE_STATES),
  pausedReason: z.string().nullable(),
  pausedCode: z.string().nullable().meta({
    description:
      "Why it paused, as a code: LOOPD_ROUTINE_FAILING (the failure circuit breaker), LOOPD_AUTH_*, …",
  }),
  pauseHint: z.string().nullable().meta({ description: "What to do about the pause." }),
  misfire: z.object({ dueAt: isoTime, lateByMs: z.number(), hint: z.string() }).nullable().meta({
    description: "Set when its due time is more than two periods behind with no run: nothing schedules it.",
  }),
  trigger: z.string().meta({ description: "The trigger in words.", example: "every 10m" }),
  triggerSpec: opaqueObject<RoutineSpec["trigger"]>(
    "The normalised trigger (`kind`: every, cron, at, by, event, manual …).",
  ),
  nextDueAt: isoTimeOrNull,
  harness: z.enum(HARNESSES),
  tier: z.string().nullable(),
  check: z.string().nullable().meta({ description: "A watch's check in words." }),
  lastVerdict: verdict.nullable(),
  labels: z.array(z.string()),
  health: z.object({
    lastRunAt: isoTimeOrNull,
    lastOutcome: z.enum(OUTCOMES).nullable(),
    lastError: codedError,
    consecutiveFailures: z.int(),
    lastSuccessAt: isoTimeOrNull,
    lastUnverified: z.boolean().meta({
      description: "The last run succeeded with no `verify` although its last tool call failed.",
    }),
  }),
  source: z
    .string()
    .nullable()
    .meta({ description: "The loopd.yaml that owns it; null when made over the API, MCP or remind." }),
  createdAt: isoTime,
  updatedAt: isoTime,
});

/** What a routine's line in the API's listing adds to its view: what it spent today. */
export const ROUTINE_SUMMARY_FIELDS = {
  costTodayUsd: z.number().meta({ description: "Ledger spend since 00:00 UTC." }),
};

export const RunDeliverySchema = z
  .object({
    mode: z.enum(["commit", "push", "pr"]),
    branch: z
      .string()
      .meta({ description: "The branch holding the run's work.", example: "loopd/fix-docs/42" }),
    commit: z
      .string()
      .nullable()
      .meta({ description: "The branch head with the work; null when the commit failed." }),
    pushed: z.boolean(),
    remote: z.string().nullable().meta({ description: "push: the remote's URL (no credentials)." }),
    remoteBranch: z.string().nullable(),
    skipped: z
      .string()
      .nullable()
      .meta({ description: "push: why it was not pushed (the run failed, or escaped its worktree)." }),
    error: z
      .object({ code: z.string(), message: z.string(), hint: z.string() })
      .nullable()
      .meta({ description: "LOOPD_DELIVERY_FAILED: a hook refused the commit, or the remote the push." }),
    pullRequest: z
      .object({ number: z.number(), url: z.string(), created: z.boolean() })
      .nullable()
      .optional()
      .meta({ description: "pr: the pull request opened (`created`) or updated with the run's work." }),
  })
  .nullable()
  .meta({ description: "What became of the run's work (`deliver`); null when there was none." });

export const RunViewSchema = z.object({
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
  error: z
    .object({
      code: z.string().nullable(),
      message: z.string(),
      hint: z.string().nullable().meta({
        description: "The specific fix for this error (the harness's, else docs/errors.md's for the code).",
      }),
    })
    .nullable(),
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
  routeReason: z.string().nullable().meta({
    description: 'Why the router picked the tier ("fast: rule `docs-only`", "strong: escalated after …").',
  }),
  verdict: verdict
    .nullable()
    .meta({ description: "A watch run's verdict (null when the run evaluated no check, or it errored)." }),
  delivery: RunDeliverySchema,
  unverified: z.boolean().meta({
    description:
      "Succeeded with no `verify` although its last tool call failed (an error, or a command that exited non-zero): nobody checked the work.",
  }),
});

export const CheckResultSchema = z.object({
  status: z.enum(["satisfied", "unsatisfied", "error"]),
  summary: z.string(),
  evidence: z.record(z.string(), z.unknown()),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
}) satisfies z.ZodType<CheckResult>;

/** What a run's detail adds to its view (the API extends its named RunView with these). */
export const RUN_DETAIL_FIELDS = {
  changedFiles: z.array(z.string()),
  escaped: z.array(z.string()),
  diff: z.string().meta({ description: 'Unified diff of the last attempt ("" when none).' }),
  finalMessage: z.string().nullable(),
  check: CheckResultSchema.nullable().meta({
    description: "A watch's check result for this attempt: verdict (or error), one-line summary, evidence.",
  }),
  metering: z.enum(METERING_MODES).nullable().meta({
    description:
      "How the run's model spend was counted: `gateway` (request by request through loopd's gateway; `usage` and `costUsd` are its count) or `reported` (the harness's own report at the end); null for runs that call no model.",
  }),
  reported: z
    .object({ tokensIn: z.number(), tokensOut: z.number(), tokensCached: z.number(), costUsd: z.number() })
    .nullable()
    .meta({
      description:
        "A gateway-metered run whose harness reported other totals (more than 5% or $0.0001 apart): what the harness said. null when they agree, or the run was not gateway-metered.",
    }),
};

export const RunDetailSchema = RunViewSchema.extend({
  ...RUN_DETAIL_FIELDS,
  sandbox: z
    .object({
      mode: z.string().meta({ description: "on | required (off: no record)." }),
      confined: z.boolean(),
      reason: z.string().optional().meta({ description: "Why it ran unconfined." }),
      note: z
        .string()
        .optional()
        .meta({ description: "What else to know (builtin: bash confined, file tools path-checked)." }),
      write: z.array(z.string()).optional().meta({ description: "Paths it could write." }),
      read: z.array(z.string()).optional().meta({ description: "Paths it could read (besides those)." }),
      network: z
        .union([z.literal("all"), z.array(z.string())])
        .optional()
        .meta({ description: "Hosts it could reach through the proxy, or all." }),
      loopback: z.array(z.string()).optional().meta({ description: "Loopback endpoints forwarded in." }),
    })
    .nullable()
    .meta({
      description: "The sandbox the last attempt ran in (harness/sandbox/); null when none was asked for.",
    }),
});

/** One pull request (pr-babysit) or issue (issue-to-pr) a built-in loop watches. */
export const WatchedItemViewSchema = z.object({
  item: z.string().meta({ example: "#12" }),
  kind: z.enum(["pull-request", "issue"]),
  status: z.string().meta({ example: "green" }),
  note: z.string().meta({ description: "What the loop's last look did or saw." }),
  head: z.string().nullable().meta({ description: "The head commit the state is about." }),
  url: z.string().nullable().meta({ description: "The pull request or issue on GitHub." }),
  nextLookAt: isoTime.nullable().meta({
    description: "The next look; null when the next tick looks or the loop waits for a new head.",
  }),
});

/** What a routine's detail adds to its view (the API adds its memory and watch state). */
export const ROUTINE_DETAIL_FIELDS = {
  spec: opaqueObject<PublicSpec>(
    "The normalised routine the store keeps (defaults filled in, times resolved); secrets as in `yaml`.",
  ),
  yaml: z.string().meta({
    description:
      "The routine as a user writes it in loopd.yaml: defaults left out, the hook secret as its fingerprint.",
  }),
  recentRuns: z.array(RunViewSchema),
  watching: z.array(WatchedItemViewSchema).optional().meta({
    description:
      "A built-in loop's routine (`loop:`): the pull requests (pr-babysit) or issues (issue-to-pr) it watches, with what its last look found.",
  }),
};

export const RoutineDetailSchema = RoutineViewSchema.extend(ROUTINE_DETAIL_FIELDS);

/** `data` is structured, never JSON inside JSON: a `log` event's line, every other event's object. */
export const RunEventViewSchema = z.object({
  id: z.int().meta({ description: "Increasing; the SSE `id:` and `?after=` cursor." }),
  runId: z.int(),
  attempt: z.int(),
  at: isoTime,
  type: z.string().meta({ example: "log" }),
  stream: z.string().nullable().meta({ example: "stdout" }),
  data: z.union([z.string(), z.record(z.string(), z.unknown())]).meta({
    description: "The output line for `log` events; the event's fields (an object) for the others.",
  }),
});

const costFigures = {
  runs: z.int(),
  tokensIn: z.number(),
  tokensOut: z.number(),
  tokensCached: z.number(),
  costUsd: z.number(),
};

export const CostsViewSchema = z.object({
  by: z.enum(COST_REPORT_KEYS),
  since: isoTime,
  routine: z.string().nullable(),
  rows: z.array(z.object({ key: z.string(), ...costFigures, tokensReasoning: z.number() })),
  total: z.object(costFigures),
});

export const BudgetLineSchema = z.object({
  routine: z.string().nullable().meta({ description: "null for the config-wide caps" }),
  period: z.enum(["day", "month"]),
  limitUsd: z.number(),
  spentUsd: z.number(),
  resetsAt: z.string().meta({ description: "End of the current UTC day or month (ISO)" }),
});

export const WATCH_STATES = ["open", "satisfied", "missed", "done", "paused"] as const;

export const CheckViewSchema = z.object({
  routine: z.string(),
  check: z.string(),
  subject: z
    .string()
    .meta({ description: "What the check is about: the URL, command or question, as written." }),
  state: z.enum(WATCH_STATES),
  nextEvaluationAt: isoTimeOrNull,
  deadline: isoTimeOrNull,
  lastVerdict: verdict.nullable(),
  last: z
    .object({
      runId: z.int(),
      at: isoTimeOrNull,
      status: CheckResultSchema.shape.status.nullable(),
      summary: z.string().nullable(),
      evidence: z.record(z.string(), z.unknown()).nullable(),
    })
    .nullable()
    .meta({ description: "The last evaluation: when, what it found (or why it could not look)." }),
  onUnsatisfied: z.object({ notify: z.boolean(), run: z.string().nullable() }),
  notifies: z.array(z.string()),
});

export const DeliveryViewSchema = z.object({
  id: z.string(),
  type: z.string(),
  channel: z.string().meta({ description: '"" for an event no channel asked for: recorded, nothing sent.' }),
  routine: z.string().nullable(),
  runId: z.int().nullable(),
  status: z.enum(DELIVERY_STATUSES),
  attempts: z.int(),
  nextAttemptAt: isoTimeOrNull.meta({
    description: "When a pending row is tried next (a row being sent: when its lease ends); null otherwise.",
  }),
  deliveredAt: isoTimeOrNull.meta({
    description: "Delivered: when it was sent; digested: when it was sealed into a digest row.",
  }),
  digestUntil: isoTimeOrNull.meta({
    description:
      "A held row (waiting for its channel's digest): when the digest window ends; null otherwise.",
  }),
  lastError: z.string().nullable(),
  createdAt: isoTime,
});

export const MemoryViewSchema = z.object({
  routine: z.string(),
  content: z.string().meta({ description: '"" when the routine remembers nothing' }),
  bytes: z.int(),
  maxBytes: z.int(),
  updatedAt: z.string().nullable().meta({ description: "ISO time of the last write; null: never written" }),
});

/** `loopd flaky`: one test of a ci-health routine, classified over its window (domain/test-health.ts). */
export const FlakyTestViewSchema = z.object({
  routine: z.string(),
  testId: z.string().meta({
    description: "`<classname>::<name>` from the JUnit report.",
    example: "src/cart.test.ts::cart > applies a coupon",
  }),
  class: z.enum(TEST_CLASSES).meta({
    description:
      "broken: fails every time since a commit; flaky: failed and passed on the same commit; new: first seen in the latest run; recovered: failed in the window, passes now; passing; skipped.",
  }),
  flakeRate: z
    .number()
    .meta({ description: "Share (0..1) of its runs that failed on a commit it also passed on." }),
  runs: z.int().meta({ description: "Runs of the window it has a result in." }),
  lastFailure: z.string().nullable().meta({ description: "The last failure's message." }),
  lastFailedAt: isoTimeOrNull,
  since: isoTimeOrNull.meta({
    description: "Since when it is in its class (broken, flaky, recovered, new).",
  }),
  sinceCommit: z.string().nullable(),
  firstSeen: isoTime,
  lastSeen: isoTime,
});
