/**
 * The loopd.yaml schema (zod 4). It is the single source for validation, for the JSON Schema
 * that `loopd schema` prints (committed as schema/loopd.schema.json) and, later, for the
 * HTTP API's OpenAPI document. Values stay as the user wrote them (`30m`, `launch - 1d`);
 * `routine-spec.ts` turns a valid config into the normalised form the store keeps.
 */
import { Cron } from "croner";
import { z } from "zod";
import { parseDuration } from "./duration.js";
import { isInstantSyntax, resolveInstant } from "./instant.js";
import { isIanaTimeZone } from "./time-zone.js";

export const HARNESSES = ["claude", "codex", "gemini", "opencode", "builtin", "shell"] as const;
export const CATCH_UP_POLICIES = ["latest", "all", "none"] as const;
export const OVERLAP_POLICIES = ["skip", "queue", "cancel-previous", "allow"] as const;
export const WORKSPACE_MODES = ["worktree", "in-place"] as const;
export const NOTIFY_EVENTS = [
  "start",
  "success",
  "failure",
  "timeout",
  "skipped",
  "unsatisfied",
  "deadline",
  "budget",
  "auth",
] as const;

/** Routine and tier names end up in branch names (`loopd/<routine>/<run>`) and URLs. */
const NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

const name = (what: string) =>
  z
    .string({ error: `expected a ${what} name` })
    .regex(NAME_PATTERN, { error: `a ${what} name uses lowercase letters, digits and dashes (max 63)` });

export const durationSchema = z
  .string({ error: "expected a duration like 30s, 10m, 2h or 1d" })
  .superRefine((value, ctx) => {
    const parsed = parseDuration(value);
    if (!parsed.ok) ctx.addIssue({ code: "custom", message: parsed.reason });
  })
  .meta({ description: "A positive duration with a unit: 30s, 10m, 2h, 1d, 1w.", examples: ["30m"] });

export const cronSchema = z
  .string({ error: "expected a cron expression" })
  .superRefine((value, ctx) => {
    try {
      new Cron(value, { paused: true });
    } catch {
      ctx.addIssue({ code: "custom", message: `"${value}" is not a valid cron expression` });
    }
  })
  .meta({
    description: "Cron expression (5 fields, or 6 with seconds first), evaluated in `tz`.",
    examples: ["0 9 * * 1-5"],
  });

export const timeZoneSchema = z
  .string({ error: "expected an IANA time zone" })
  .superRefine((value, ctx) => {
    if (!isIanaTimeZone(value)) {
      ctx.addIssue({
        code: "custom",
        message: `"${value}" is not an IANA time zone (e.g. Europe/Berlin, UTC)`,
      });
    }
  })
  .meta({ description: "IANA time-zone name; defaults to the zone of the machine running `loopd apply`." });

export const instantSchema = z
  .string({ error: "expected a date/time" })
  .superRefine((value, ctx) => {
    if (!isInstantSyntax(value)) {
      ctx.addIssue({
        code: "custom",
        message: `"${value}" is not a date/time; use 2026-11-29, 2026-11-29T09:00 or a named date`,
      });
    }
  })
  .meta({
    description:
      "ISO date (start of day), ISO local date-time (in the routine's zone), ISO instant with offset, or a named date from `dates`, optionally ± a duration (`launch - 1d`).",
    examples: ["2026-11-29T09:00", "launch - 1d"],
  });

const money = z
  .number({ error: "expected an amount in USD" })
  .positive({ error: "must be a positive amount" });

export const budgetSchema = z
  .strictObject({
    perRun: money.optional().meta({ description: "USD cap for one run." }),
    perDay: money.optional().meta({ description: "USD cap per UTC day." }),
    perMonth: money.optional().meta({ description: "USD cap per calendar month (UTC)." }),
    tokensPerRun: z
      .int()
      .positive()
      .optional()
      .meta({ description: "Token cap for one run (input not from cache + output)." }),
  })
  .meta({ description: "Hard spending caps in USD (and tokens per run)." });

export const verifySchema = z
  .strictObject({
    command: z
      .string()
      .min(1)
      .meta({ description: "Shell command run in the run's workspace; exit 0 = verified." }),
    timeout: durationSchema.optional().meta({ description: "Timeout of the verification (default 10m)." }),
  })
  .meta({
    description: "How to check an agent's work; a failed check escalates to the next tier in `escalate`.",
  });

const rangeSchema = z.strictObject({
  min: z.number().min(0).optional(),
  max: z.number().min(0).optional(),
});

export const routingRuleSchema = z.strictObject({
  name: name("rule"),
  when: z
    .strictObject({
      template: z.string().min(1).optional().meta({ description: "The routine's template." }),
      labels: z.array(z.string().min(1)).min(1).optional().meta({ description: "Any of these labels." }),
      repo: z.string().min(1).optional().meta({ description: "Repo path or URL, `*` wildcards allowed." }),
      files: z.array(z.string().min(1)).min(1).optional().meta({
        description: "Globs; matches when every file the routine's last run touched matches one.",
      }),
      promptChars: rangeSchema.optional().meta({ description: "Prompt length in characters." }),
      failingTests: rangeSchema
        .optional()
        .meta({ description: "Failing tests reported in the run's input (`failing: N`)." }),
    })
    .meta({ description: "All given conditions must hold." }),
  tier: name("tier"),
});

export const untilSchema = z
  .union([
    instantSchema,
    z.strictObject({
      at: instantSchema.optional().meta({ description: "No occurrence after this instant." }),
      runs: z.int().positive().optional().meta({ description: "Stop after this many scheduled runs." }),
    }),
  ])
  .meta({ description: "Stop condition: a deadline, a run count, or both." });

export const notifyRuleSchema = z.strictObject({
  to: z.union([name("channel"), z.array(name("channel")).min(1)]).meta({ description: "Channel name(s)." }),
  on: z
    .array(z.enum(NOTIFY_EVENTS))
    .min(1)
    .optional()
    .meta({ description: "Events that notify; default [failure]." }),
  changeOnly: z
    .boolean()
    .optional()
    .meta({ description: "Only notify when the outcome differs from the last run." }),
  digest: durationSchema.optional().meta({ description: "Batch events into one message per interval." }),
});

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const envName = z.string().regex(ENV_NAME, { error: "an environment variable name (letters, digits, _)" });

export const subAgentSchema = z
  .strictObject({
    description: z
      .string()
      .min(1)
      .meta({ description: "When the main agent should delegate to it (shown to the model)." }),
    tier: name("tier").optional().meta({ description: "Model tier for this sub-agent." }),
    model: z.string().min(1).optional().meta({ description: "Explicit model; overrides the tier's." }),
    maxTurns: z
      .int()
      .positive()
      .optional()
      .meta({ description: "Turn cap for one delegation (default 10)." }),
  })
  .meta({
    description: "A sub-agent the builtin harness may delegate to, e.g. an explorer on a cheap model.",
  });

export const routineSchema = z
  .strictObject({
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
        secret: z
          .string()
          .regex(/^whsec_[A-Za-z0-9+/=]+$/, { error: "a Standard Webhooks secret starts with whsec_" })
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
    labels: z
      .array(z.string().min(1))
      .optional()
      .meta({ description: "Free labels, for people and filters." }),
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
  })
  .superRefine((routine, ctx) => {
    const triggers = (["every", "cron", "at"] as const).filter((key) => routine[key] !== undefined);
    if (triggers.length > 1) {
      ctx.addIssue({
        code: "custom",
        path: [triggers[1]!],
        message: `a routine has one trigger; found ${triggers.join(" and ")}`,
      });
    }
    const tasks = (["prompt", "template", "command"] as const).filter((key) => routine[key] !== undefined);
    if (tasks.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: [],
        message: "a routine needs a task: `prompt`, `template` or `command`",
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
    if (routine.jitter !== undefined && routine.every === undefined) {
      ctx.addIssue({ code: "custom", path: ["jitter"], message: "`jitter` applies to `every` triggers" });
    }
  });

export const modelTierSchema = z.strictObject({
  harness: z.enum(HARNESSES).exclude(["shell"]),
  model: z.string().min(1),
  baseUrl: z
    .url()
    .optional()
    .meta({ description: "Provider base URL (OpenAI-compatible servers, proxies)." }),
});

const url = z.url({ error: "expected a URL" });

export const channelSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("webhook"),
    url,
    secret: z
      .string()
      .regex(/^whsec_[A-Za-z0-9+/=]+$/, { error: "a Standard Webhooks secret starts with whsec_" })
      .optional(),
  }),
  z.strictObject({ type: z.literal("slack"), url }),
  z.strictObject({ type: z.literal("discord"), url }),
  z.strictObject({
    type: z.literal("email"),
    to: z.union([z.email(), z.array(z.email()).min(1)]),
    from: z.email().optional(),
    smtp: url.optional().meta({ description: "smtp(s)://user:pass@host:port; default localhost:25." }),
  }),
  z.strictObject({ type: z.literal("desktop") }),
  z.strictObject({ type: z.literal("command"), command: z.string().min(1) }),
]);

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
      })
      .optional()
      .meta({ description: "Inbound GitHub webhooks (`POST /hooks/github`)." }),
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
