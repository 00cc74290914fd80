/**
 * The loopd.yaml schema (zod 4): routines and the config file, from the value types in
 * config-values.ts and the sections in config-sections.ts. It is the single source for validation, for the JSON Schema
 * that `loopd schema` prints (committed as schema/loopd.schema.json) and, later, for the
 * HTTP API's OpenAPI document. Values stay as the user wrote them (`30m`, `launch - 1d`);
 * `routine-spec.ts` turns a valid config into the normalised form the store keeps.
 */
import { z } from "zod";
import { checkSchema, onUnsatisfiedSchema } from "./config-checks.js";
import {
  budgetSchema,
  channelSchema,
  modelTierSchema,
  notifyRuleSchema,
  routingRuleSchema,
  subAgentSchema,
  untilSchema,
  verifySchema,
} from "./config-sections.js";
import {
  CATCH_UP_POLICIES,
  cronSchema,
  durationSchema,
  envName,
  HARNESSES,
  instantSchema,
  money,
  type NOTIFY_EVENTS,
  name,
  OVERLAP_POLICIES,
  timeZoneSchema,
  WORKSPACE_MODES,
  webhookSecret,
} from "./config-values.js";
import { isInstantSyntax, resolveInstant } from "./instant.js";

export * from "./config-checks.js";
export * from "./config-sections.js";
export * from "./config-values.js";

const routineObject = z.strictObject({
  name: name("routine"),
  description: z.string().optional(),
  paused: z.boolean().optional().meta({ description: "Declared paused: applied but not scheduled." }),
  repo: z.string().min(1).optional().meta({
    description: "Repository path (relative to loopd.yaml) or clone URL; default the folder of loopd.yaml.",
  }),
  workspace: z
    .enum(WORKSPACE_MODES)
    .optional()
    .meta({ description: "worktree (default for agents) or in-place (default for shell)." }),
  prompt: z.string().min(1).optional().meta({ description: "The task, for agent harnesses." }),
  template: name("template").optional().meta({ description: "A built-in task template." }),
  params: z.record(z.string(), z.unknown()).optional().meta({ description: "Parameters for `template`." }),
  command: z.string().min(1).optional().meta({ description: "Shell command (harness: shell)." }),
  harness: z.enum(HARNESSES).optional(),
  tier: name("tier").optional().meta({ description: "Model tier from `models`." }),
  escalate: z
    .array(name("tier"))
    .optional()
    .meta({ description: "Tiers to escalate to, in order, on failure." }),
  model: z.string().min(1).optional().meta({ description: "Explicit model; overrides the tier's." }),
  every: durationSchema.optional().meta({ description: "Run at this interval (anchored, no drift)." }),
  jitter: durationSchema
    .optional()
    .meta({ description: "Random delay up to this much per occurrence (with `every`)." }),
  cron: cronSchema.optional(),
  tz: timeZoneSchema.optional(),
  at: instantSchema.optional().meta({ description: "Run once at this instant." }),
  until: untilSchema.optional(),
  by: instantSchema.optional().meta({
    description:
      "Deadline of a watch: the `check` is evaluated every `every` (default 2h) until satisfied, and a last time at the deadline; still unsatisfied then → `deadline` notification and `onUnsatisfied`.",
  }),
  check: checkSchema.optional(),
  onUnsatisfied: onUnsatisfiedSchema.optional(),
  maxTurns: z.int().positive().optional().meta({ description: "Agent turn cap (default 30)." }),
  timeout: durationSchema.optional().meta({ description: "Per-run timeout (default 1h)." }),
  retries: z
    .int()
    .min(0)
    .max(20)
    .optional()
    .meta({ description: "Retries after a failed attempt (default 0)." }),
  catchUp: z
    .enum(CATCH_UP_POLICIES)
    .optional()
    .meta({ description: "After downtime: latest (default), all, none." }),
  maxCatchup: z.int().positive().optional().meta({ description: "Bound for catchUp: all (default 10)." }),
  overlap: z.enum(OVERLAP_POLICIES).optional().meta({
    description: "When the previous run is still going: skip (default), queue, cancel-previous, allow.",
  }),
  budget: budgetSchema.optional(),
  verify: verifySchema.optional(),
  events: z
    .array(
      z.strictObject({
        github: z
          .string()
          .regex(/^[a-z_]+(\.[a-z_]+)?$/, { error: "a GitHub event like check_suite.completed or push" })
          .meta({
            description: "GitHub event, optionally with its action: `check_suite.completed`, `push`.",
          }),
        conclusion: z
          .string()
          .min(1)
          .optional()
          .meta({ description: "check_suite/check_run/workflow_run conclusion, e.g. failure." }),
        repo: z.string().min(1).optional().meta({ description: "owner/name; `*` wildcards allowed." }),
        label: z
          .string()
          .min(1)
          .optional()
          .meta({ description: "The issue or pull request carries this label." }),
        branch: z
          .string()
          .min(1)
          .optional()
          .meta({ description: "Head branch (check suites, workflow runs, pushes)." }),
      }),
    )
    .optional()
    .meta({
      description:
        "Inbound events that fire this routine (`POST /hooks/github`); the payload summary is its input.",
    }),
  hook: z
    .strictObject({
      secret: webhookSecret
        .optional()
        .meta({ description: "Standard Webhooks secret: deliveries must be signed with it." }),
      tokenEnv: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
        .optional()
        .meta({ description: "Environment variable of the daemon holding a bearer token for this hook." }),
    })
    .refine((hook) => hook.secret !== undefined || hook.tokenEnv !== undefined, {
      error: "a hook needs a `secret` or a `tokenEnv`",
    })
    .optional()
    .meta({
      description: "Accept `POST /hooks/r/<routine>` to fire this routine (signed or with a bearer token).",
    }),
  notify: z.union([notifyRuleSchema, z.array(notifyRuleSchema)]).optional(),
  labels: z.array(z.string().min(1)).optional().meta({ description: "Free labels, for people and filters." }),
  requires: z.array(z.string().min(1)).optional().meta({
    description: "Worker labels a run needs (`loopd worker --labels gpu,repo-x`); harness names count.",
  }),
  base: z.string().min(1).optional().meta({
    description:
      "Git ref the run's worktree branches from; default the repo's current HEAD (path) or default branch (URL).",
  }),
  docs: z.array(z.string().min(1)).optional().meta({
    description: "Extra docs/playbooks (paths in the repo) given to the agent with AGENTS.md, CLAUDE.md, …",
  }),
  memory: z
    .boolean()
    .optional()
    .meta({ description: "Keep a memory between runs (default true for agent harnesses)." }),
  secrets: z.array(envName).optional().meta({
    description: "Names of environment variables passed to the agent (and redacted from stored events).",
  }),
  env: z
    .record(envName, z.string())
    .optional()
    .meta({ description: "Literal environment variables for the run (not secret)." }),
  mcpConfig: z.string().min(1).optional().meta({
    description: "MCP config file (relative to loopd.yaml) for harnesses that take one (claude).",
  }),
  agents: z
    .record(name("sub-agent"), subAgentSchema)
    .optional()
    .meta({ description: "Sub-agents for the builtin harness." }),
});

export const routineSchema = routineObject.superRefine((routine, ctx) => {
  const triggers = (["every", "cron", "at"] as const).filter((key) => routine[key] !== undefined);
  if (triggers.length > 1) {
    ctx.addIssue({
      code: "custom",
      path: [triggers[1]!],
      message: `a routine has one trigger; found ${triggers.join(" and ")}`,
    });
  }
  const tasks = (["prompt", "template", "command", "check"] as const).filter(
    (key) => routine[key] !== undefined,
  );
  if (tasks.length === 0) {
    ctx.addIssue({
      code: "custom",
      path: [],
      message: "a routine needs a task: `prompt`, `template`, `command` or `check`",
    });
  } else if (tasks.length > 1) {
    ctx.addIssue({
      code: "custom",
      path: [tasks[1]!],
      message: `a routine has one task; found ${tasks.join(" and ")}`,
    });
  }
  if (routine.command !== undefined && routine.harness !== undefined && routine.harness !== "shell") {
    ctx.addIssue({ code: "custom", path: ["command"], message: "`command` runs with harness: shell" });
  }
  if (routine.harness === "shell" && routine.command === undefined) {
    ctx.addIssue({ code: "custom", path: ["harness"], message: "harness: shell needs a `command`" });
  }
  if (routine.params !== undefined && routine.template === undefined) {
    ctx.addIssue({ code: "custom", path: ["params"], message: "`params` are given to a `template`" });
  }
  if (routine.agents !== undefined && routine.harness !== undefined && routine.harness !== "builtin") {
    ctx.addIssue({ code: "custom", path: ["agents"], message: "sub-`agents` run on harness: builtin" });
  }
  checkWatch(routine, ctx);
  if (routine.jitter !== undefined && routine.every === undefined) {
    ctx.addIssue({ code: "custom", path: ["jitter"], message: "`jitter` applies to `every` triggers" });
  }
});

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
    harnesses: z
      .partialRecord(
        z.enum(HARNESSES).exclude(["shell", "builtin"]),
        z.strictObject({
          command: z.string().min(1).optional().meta({ description: "Executable (default: on PATH)." }),
          args: z.array(z.string()).optional().meta({ description: "Extra arguments for every run." }),
        }),
      )
      .optional()
      .meta({ description: "Where the agent CLIs are and extra arguments for them." }),
    routines: z.array(routineSchema).default([]),
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

/** `by`, `onUnsatisfied` and `until: { satisfied }` belong to watches (routines with a `check`). */
function checkWatch(routine: z.output<typeof routineObject>, ctx: z.RefinementCtx): void {
  const needsCheck: Array<[boolean, string]> = [
    [routine.by !== undefined, "by"],
    [routine.onUnsatisfied !== undefined, "onUnsatisfied"],
    [typeof routine.until === "object" && routine.until.satisfied !== undefined, "until"],
  ];
  for (const [present, key] of needsCheck) {
    if (present && routine.check === undefined) {
      ctx.addIssue({
        code: "custom",
        path: [key],
        message: `\`${key}\` applies to a watch: add a \`check\``,
      });
    }
  }
  if (routine.by !== undefined && (routine.at !== undefined || routine.cron !== undefined)) {
    ctx.addIssue({
      code: "custom",
      path: ["by"],
      message: "a `by` watch is evaluated every `every` (default 2h) until its deadline; drop `at`/`cron`",
    });
  }
  if (routine.by !== undefined && routine.until !== undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["until"],
      message: "a `by` watch stops at its deadline; drop `until`",
    });
  }
  const check = routine.check;
  if (check === undefined) return;
  if (check.agent === undefined && (routine.harness !== undefined || routine.tier !== undefined)) {
    ctx.addIssue({
      code: "custom",
      path: [routine.harness !== undefined ? "harness" : "tier"],
      message: "only an `agent` check uses a harness or tier",
    });
  }
  if (check.agent !== undefined && routine.harness === "shell") {
    ctx.addIssue({ code: "custom", path: ["harness"], message: "an `agent` check needs an agent harness" });
  }
}

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
