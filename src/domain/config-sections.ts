/**
 * The sections of loopd.yaml that routines refer to: budgets, verification, routing rules,
 * stop conditions, notify rules, sub-agents, model tiers and notification channels.
 */
import { z } from "zod";
import {
  HARNESSES,
  instantSchema,
  intervalSchema,
  money,
  NOTIFY_EVENTS,
  name,
  timeoutSchema,
  url,
  webhookSecret,
} from "./config-values.js";
import {
  BRANCH_GLOB,
  BRANCH_PATTERN,
  DEFAULT_GIT_AUTHOR,
  DEFAULT_PUSH,
  unknownPlaceholders,
} from "./run-delivery.js";

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
    usdPerMinute: money.optional().meta({
      description:
        "Spend-velocity alarm: the routine spending more than this in a minute (one runaway run, or runs firing every few seconds) is stopped and paused (default `budgets.usdPerMinute`; none).",
    }),
  })
  .meta({ description: "Hard spending caps in USD (and tokens per run)." });

export const verifySchema = z
  .strictObject({
    command: z
      .string()
      .min(1)
      .meta({ description: "Shell command run in the run's workspace; exit 0 = verified." }),
    timeout: timeoutSchema
      .optional()
      .meta({ description: "Timeout of the verification (default 10m, 1s to 7d)." }),
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

const placeholders = (pattern: string) => unknownPlaceholders(pattern).length === 0;

export const pushSchema = z
  .strictObject({
    remote: z
      .string()
      .min(1)
      .optional()
      .meta({
        description: `A remote of the repo, or a URL (default ${DEFAULT_PUSH.remote}; URL repos: their URL).`,
      }),
    branch: z
      .string()
      .regex(BRANCH_PATTERN, { error: "a branch name; `{routine}` and `{run}` are filled in" })
      .refine(placeholders, { error: "only `{routine}` and `{run}` are filled in" })
      .optional()
      .meta({ description: `The branch on the remote (default ${DEFAULT_PUSH.branch}).` }),
    force: z
      .string()
      .regex(BRANCH_GLOB, { error: "a branch glob such as loopd/{routine}/*" })
      .refine(placeholders, { error: "only `{routine}` and `{run}` are filled in" })
      .optional()
      .meta({
        description: `Remote branches loopd may overwrite with --force-with-lease (default ${DEFAULT_PUSH.force}); others are only fast-forwarded.`,
      }),
  })
  .meta({ description: "Where `deliver: push` pushes the run branch." });

export const gitSchema = z
  .strictObject({
    author: z
      .string()
      .regex(/^[^<>]*[^<>\s][^<>]*<[^<>\s]+>\s*$/, { error: "`Name <email>`" })
      .optional()
      .meta({
        description: `Author and committer of the commits loopd makes (default ${DEFAULT_GIT_AUTHOR}).`,
      }),
    noVerify: z.boolean().optional().meta({
      description:
        "Skip the repo's commit and pre-push hooks (--no-verify) when delivering (default false: hooks run).",
    }),
  })
  .meta({ description: "How loopd commits and pushes a run's work (`deliver`)." });

export const untilSchema = z
  .union([
    instantSchema,
    z.strictObject({
      at: instantSchema.optional().meta({ description: "No occurrence after this instant." }),
      runs: z.int().positive().optional().meta({ description: "Stop after this many scheduled runs." }),
      satisfied: z
        .literal(true)
        .optional()
        .meta({ description: 'Stop once the routine\'s `check` is satisfied ("tell me when …").' }),
    }),
  ])
  .meta({ description: "Stop condition: a deadline, a run count, or both." });

export const notifyRuleSchema = z.strictObject({
  to: z.union([name("channel"), z.array(name("channel")).min(1)]).meta({ description: "Channel name(s)." }),
  on: z.array(z.enum(NOTIFY_EVENTS)).min(1).optional().meta({
    description: "Events that notify; default [failure]. `report`: a built-in loop's digest (ci-health).",
  }),
  changeOnly: z
    .boolean()
    .optional()
    .meta({ description: "Only notify when the outcome differs from the last run." }),
  digest: intervalSchema
    .optional()
    .meta({ description: "Batch events into one message per interval (at least 1s)." }),
});

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

export const modelTierSchema = z.strictObject({
  harness: z.enum(HARNESSES).exclude(["shell"]),
  model: z.string().min(1),
  baseUrl: z
    .url()
    .optional()
    .meta({ description: "Provider base URL (OpenAI-compatible servers, proxies)." }),
});

export const channelSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("webhook"),
    url,
    secret: webhookSecret.optional(),
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
  z.strictObject({ type: z.literal("log") }).meta({
    description: "One line in the output of the daemon that delivers it (`loopd serve`); no setup.",
  }),
]);

/** Codex's sandbox modes (`codex exec --sandbox`), chosen with `harnesses.codex.sandbox`. */
export const CODEX_SANDBOXES = ["read-only", "workspace-write", "danger-full-access"] as const;
export type CodexSandbox = (typeof CODEX_SANDBOXES)[number];

const cliHarnessSchema = z.strictObject({
  command: z.string().min(1).optional().meta({ description: "Executable (default: on PATH)." }),
  args: z.array(z.string()).optional().meta({ description: "Extra arguments for every run." }),
});

export const harnessesSchema = z
  .strictObject({
    claude: cliHarnessSchema.optional(),
    codex: cliHarnessSchema
      .extend({
        sandbox: z.enum(CODEX_SANDBOXES).optional().meta({
          description:
            "Codex's sandbox for the agent's commands (default workspace-write: writes only in the run's folder and the temp dirs). danger-full-access turns it off: for workers confined otherwise (container, VM).",
        }),
      })
      .superRefine((codex, ctx) => {
        const clash = codexSandboxArgument(codex.args ?? []);
        if (clash !== null) {
          ctx.addIssue({
            code: "custom",
            path: ["args"],
            message: `\`${clash}\` chooses Codex's sandbox, which loopd passes itself; set \`harnesses.codex.sandbox\` (${CODEX_SANDBOXES.join(" | ")}) instead`,
          });
        }
      })
      .optional(),
    gemini: cliHarnessSchema.optional(),
    opencode: cliHarnessSchema.optional(),
  })
  .meta({ description: "Where the agent CLIs are and extra arguments for them." });

/** An extra Codex argument that chooses the sandbox itself (loopd passes `--sandbox`), or null. */
export function codexSandboxArgument(args: readonly string[]): string | null {
  return (
    args.find(
      (arg) =>
        arg === "--sandbox" ||
        arg.startsWith("--sandbox=") ||
        /^-s($|[a-z])/.test(arg) ||
        arg === "--dangerously-bypass-approvals-and-sandbox" ||
        arg === "--full-auto" ||
        arg.startsWith("sandbox_mode="),
    ) ?? null
  );
}
