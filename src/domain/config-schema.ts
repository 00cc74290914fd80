/**
 * The loopd.yaml schema (zod 4): the config file, from the value types in config-values.ts,
 * the sections in config-sections.ts and the routine in config-routine.ts. It is the single
 * source for validation, for the JSON Schema that `loopd schema` prints (committed as
 * schema/loopd.schema.json) and for the HTTP API's OpenAPI document. Values stay as the user wrote them (`30m`, `launch - 1d`);
 * `routine-spec.ts` turns a valid config into the normalised form the store keeps.
 */
import { z } from "zod";
import { routineSchema } from "./config-routine.js";
import {
  channelSchema,
  gitSchema,
  harnessesSchema,
  modelTierSchema,
  type notifyRuleSchema,
  routingRuleSchema,
} from "./config-sections.js";
import {
  boundedDuration,
  type CATCH_UP_POLICIES,
  durationSchema,
  type HARNESSES,
  instantSchema,
  money,
  type NOTIFY_EVENTS,
  name,
  type OVERLAP_POLICIES,
  type WORKSPACE_MODES,
} from "./config-values.js";
import { isInstantSyntax, resolveInstant } from "./instant.js";
import { METERING_MODES } from "./metering.js";
import { sandboxSettingsSchema } from "./sandbox.js";

export * from "./config-checks.js";
export * from "./config-routine.js";
export * from "./config-sections.js";
export * from "./config-values.js";

/** Far above any real setup; 184k routines made `apply` fail in the store instead of here. */
export const MAX_ROUTINES = 10_000;

export const configSchema = z
  .strictObject({
    $schema: z.string().optional(),
    version: z.literal(1).optional().meta({ description: "Config format version." }),
    dates: z
      .record(name("date"), instantSchema)
      .optional()
      .meta({ description: "Named dates usable in `at` and `until`: `launch: 2026-12-10`." }),
    models: z.record(name("tier"), modelTierSchema).optional().meta({ description: "Model tiers." }),
    budgets: z
      .strictObject({
        daily: money.optional(),
        monthly: money.optional(),
        perRun: money.optional(),
        tokensPerMinute: z.int().positive().optional().meta({
          description:
            "Token-velocity alarm: a run using more tokens per minute than this is stopped (default 2,000,000).",
        }),
        usdPerMinute: money.optional().meta({
          description:
            "Spend-velocity alarm of every routine without its own `budget.usdPerMinute`: a routine spending more USD than this in a minute is stopped and paused.",
        }),
      })
      .optional()
      .meta({ description: "Global USD caps." }),
    github: z
      .strictObject({
        webhookSecretEnv: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
          .optional()
          .meta({
            description:
              "Environment variable holding the GitHub webhook secret (default GITHUB_WEBHOOK_SECRET).",
          }),
        apiUrl: z.url().optional().meta({
          description:
            "GitHub API base for `github` checks (default GITHUB_API_URL, else https://api.github.com; GitHub Enterprise: https://<host>/api/v3). The token comes from GITHUB_TOKEN, GH_TOKEN or `gh auth token`.",
        }),
      })
      .optional()
      .meta({
        description: "GitHub: inbound webhooks (`POST /hooks/github`) and the API for `github` checks.",
      }),
    git: gitSchema.optional(),
    routing: z
      .strictObject({
        rules: z
          .array(routingRuleSchema)
          .optional()
          .meta({ description: "First matching rule picks the tier." }),
        explore: z
          .number()
          .min(0)
          .max(1)
          .optional()
          .meta({ description: "Share of runs that try another tier to keep learning (default 0.05)." }),
      })
      .optional()
      .meta({ description: "How runs without an explicit `tier` are routed." }),
    channels: z.record(name("channel"), channelSchema).optional(),
    limits: z
      .strictObject({
        concurrency: z.int().positive().optional().meta({ description: "Running runs across all workers." }),
        perRepo: z.int().positive().optional().meta({ description: "Running runs per repo (path or URL)." }),
      })
      .optional()
      .meta({ description: "Concurrency caps shared by every process on this store." }),
    workspaces: z
      .strictObject({
        pool: z
          .int()
          .min(0)
          .max(16)
          .optional()
          .meta({ description: "Warm worktrees kept per repo (default 2)." }),
        keep: z.enum(["failed", "always", "never"]).optional().meta({
          description: "Keep a run's worktree for inspection: failed (default), always, never.",
        }),
        pruneAfter: durationSchema
          .optional()
          .meta({ description: "Remove kept worktrees after (default 7d)." }),
      })
      .optional()
      .meta({ description: "Per-run git worktrees." }),
    context: z
      .strictObject({
        maxBytes: z
          .int()
          .min(1024)
          .optional()
          .meta({ description: "Cap on repo agent docs given to a run (default 32768)." }),
        memoryMaxBytes: z
          .int()
          .min(256)
          .optional()
          .meta({ description: "Cap on a routine's memory; oldest entries go first (default 16384)." }),
      })
      .optional()
      .meta({ description: "What agents get in context." }),
    auth: z
      .strictObject({
        pauseAfter: z.int().positive().optional().meta({
          description: "Pause a routine after this many consecutive auth failures (default 3).",
        }),
      })
      .optional(),
    failures: z
      .strictObject({
        pauseAfter: z.int().min(0).optional().meta({
          description:
            "Pause a routine after this many failed runs in a row, of any kind (default 5; 0 never pauses); a routine's own `pauseAfter` wins.",
        }),
      })
      .optional()
      .meta({ description: "The failure circuit breaker." }),
    runs: z
      .strictObject({
        keepFor: boundedDuration({ min: 60_000 }).optional().meta({
          description:
            "Delete finished runs, their events and artifacts after (default 30d; at least 1m); settled budget reservations, ci-health test results outside a routine's window and inbound hook ids (kept at least 7d) go after it too.",
        }),
        keepPerRoutine: z.int().min(1).optional().meta({
          description: "Each routine's newest finished runs kept whatever their age (default 10).",
        }),
      })
      .optional()
      .meta({ description: "Retention of finished runs; the cost ledger is never pruned." }),
    pricing: z
      .record(
        z.string().min(1),
        z.strictObject({
          input: z.number().min(0).meta({ description: "USD per million uncached input tokens." }),
          cachedInput: z.number().min(0).meta({ description: "USD per million cache-read input tokens." }),
          output: z
            .number()
            .min(0)
            .meta({ description: "USD per million output tokens (reasoning included)." }),
        }),
      )
      .optional()
      .meta({
        description:
          "Model prices (USD per million tokens) added to or overriding the built-in table; used where a harness reports tokens but not dollars.",
      }),
    harnesses: harnessesSchema.optional(),
    metering: z.enum(METERING_MODES).optional().meta({
      description:
        "How agent spend is counted: `gateway` (default: every model request through loopd's local gateway, metered and capped as it happens) or `reported` (each harness's own report when the run ends). A routine's `metering` overrides it.",
    }),
    sandbox: sandboxSettingsSchema.optional(),
    routines: z
      .array(routineSchema)
      .max(MAX_ROUTINES, {
        error: `more than ${MAX_ROUTINES} routines in one file; split them or use fewer, broader ones`,
      })
      .default([]),
  })
  .superRefine((config, ctx) => {
    const seen = new Map<string, number>();
    config.routines.forEach((routine, index) => {
      const first = seen.get(routine.name);
      if (first !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["routines", index, "name"],
          message: `duplicate routine name "${routine.name}" (first at routines[${first}])`,
        });
      }
      seen.set(routine.name, index);
      checkReferences(config, routine, index, ctx);
      const fix = routine.onUnsatisfied?.run;
      if (fix !== undefined && !config.routines.some((other) => other.name === fix)) {
        ctx.addIssue({
          code: "custom",
          path: ["routines", index, "onUnsatisfied", "run"],
          message: `unknown routine "${fix}"; \`onUnsatisfied.run\` names a routine in this file`,
        });
      }
      checkInstants(config.dates, routine, index, ctx);
    });
    const tiers = Object.keys(config.models ?? {});
    config.routing?.rules?.forEach((rule, index) => {
      if (!tiers.includes(rule.tier)) {
        ctx.addIssue({
          code: "custom",
          path: ["routing", "rules", index, "tier"],
          message: `unknown model tier "${rule.tier}"${knownList("tiers under `models`", tiers)}`,
        });
      }
    });
  });

/** Structural type, so the schema's own output type does not refer to itself. */
interface DeclaredNames {
  models?: Record<string, unknown> | undefined;
  channels?: Record<string, unknown> | undefined;
}

function checkReferences(
  config: DeclaredNames,
  routine: RoutineConfig,
  index: number,
  ctx: z.RefinementCtx,
): void {
  const tiers = Object.keys(config.models ?? {});
  const referencedTiers: Array<[string, PropertyKey[]]> = [];
  if (routine.tier !== undefined) referencedTiers.push([routine.tier, ["tier"]]);
  routine.escalate?.forEach((tier, i) => {
    referencedTiers.push([tier, ["escalate", i]]);
  });
  for (const [agent, spec] of Object.entries(routine.agents ?? {})) {
    if (spec.tier !== undefined) referencedTiers.push([spec.tier, ["agents", agent, "tier"]]);
  }
  if (routine.check?.agent?.tier !== undefined)
    referencedTiers.push([routine.check.agent.tier, ["check", "agent", "tier"]]);
  for (const [tier, path] of referencedTiers) {
    if (!tiers.includes(tier)) {
      ctx.addIssue({
        code: "custom",
        path: ["routines", index, ...path],
        message: `unknown model tier "${tier}"${knownList("tiers under `models`", tiers)}`,
      });
    }
  }
  const channels = Object.keys(config.channels ?? {});
  const rules =
    routine.notify === undefined ? [] : Array.isArray(routine.notify) ? routine.notify : [routine.notify];
  rules.forEach((rule, ruleIndex) => {
    const rulePath = Array.isArray(routine.notify) ? ["notify", ruleIndex] : ["notify"];
    for (const channel of Array.isArray(rule.to) ? rule.to : [rule.to]) {
      if (!channels.includes(channel)) {
        ctx.addIssue({
          code: "custom",
          path: ["routines", index, ...rulePath, "to"],
          message: `unknown channel "${channel}"${knownList("channels", channels)}`,
        });
      }
    }
  });
}

/** Named dates (`at: launch - 1d`) must exist; literal dates were checked field by field. */
function checkInstants(
  dates: Record<string, string> | undefined,
  routine: RoutineConfig,
  index: number,
  ctx: z.RefinementCtx,
): void {
  const fields: Array<[string | undefined, PropertyKey[]]> = [
    [routine.at, ["at"]],
    [routine.by, ["by"]],
    [
      typeof routine.until === "string" ? routine.until : routine.until?.at,
      typeof routine.until === "string" ? ["until"] : ["until", "at"],
    ],
  ];
  for (const [value, path] of fields) {
    if (value === undefined || !isInstantSyntax(value)) continue;
    const resolved = resolveInstant(value, { timeZone: "UTC", ...(dates ? { dates } : {}) });
    if (!resolved.ok)
      ctx.addIssue({ code: "custom", path: ["routines", index, ...path], message: resolved.reason });
  }
}

function knownList(what: string, names: string[]): string {
  return names.length > 0 ? `; ${what}: ${names.join(", ")}` : `; no ${what} are declared`;
}

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export type RoutineConfig = z.output<typeof routineSchema>;
export type NotifyRule = z.output<typeof notifyRuleSchema>;
export type ModelTier = z.output<typeof modelTierSchema>;
export type Channel = z.output<typeof channelSchema>;
export type Harness = (typeof HARNESSES)[number];
export type CatchUpPolicy = (typeof CATCH_UP_POLICIES)[number];
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];
export type WorkspaceMode = (typeof WORKSPACE_MODES)[number];
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

/** The JSON Schema for editors and `loopd schema`. */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, {
    io: "input",
    target: "draft-2020-12",
    unrepresentable: "any",
  });
  return {
    ...schema,
    title: "loopd.yaml",
    description: "Routines, model tiers, budgets, named dates and notification channels for loopd.",
  };
}
