/**
 * One routine in loopd.yaml: its fields (task, trigger, policies, agent settings, watch) and
 * the rules between them. Cross-references to the rest of the file (tiers, channels, named
 * dates, other routines) are checked by config-schema.ts, which knows the whole file.
 */
import { z } from "zod";
import { checkSchema, defaultWatchEvery, onUnsatisfiedSchema } from "./config-checks.js";
import {
  budgetSchema,
  notifyRuleSchema,
  pushSchema,
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
  intervalSchema,
  name,
  OVERLAP_POLICIES,
  timeoutSchema,
  timeZoneSchema,
  WORKSPACE_MODES,
  webhookSecret,
} from "./config-values.js";
import { parseDuration } from "./duration.js";
import { METERING_MODES } from "./metering.js";
import { DELIVER_MODES } from "./run-delivery.js";
import { sandboxSchema } from "./sandbox.js";

const prSchema = z
  .strictObject({
    repo: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, { error: "owner/name of the GitHub repository" })
      .optional()
      .meta({ description: "owner/name on GitHub (default: read from the push remote's URL)." }),
    base: z
      .string()
      .min(1)
      .optional()
      .meta({ description: "The branch the PR merges into (default the repository's default branch)." }),
    title: z.string().min(1).max(256).optional().meta({
      description: "The PR's title; `{routine}` and `{run}` are filled in (default: the run's summary line).",
    }),
    draft: z.boolean().optional().meta({ description: "Open the PR as a draft (default false)." }),
    labels: z.array(z.string().min(1)).optional().meta({ description: "Labels added to the PR." }),
    tokenEnv: envName.optional().meta({
      description:
        "The daemon's environment variable holding the GitHub token for this routine (default GITHUB_TOKEN, GH_TOKEN, `gh auth token`).",
    }),
  })
  .meta({ description: "The pull request of `deliver: pr`." });

import { expandRoutine, loopSchema, templateIssues } from "./templates/index.js";

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
  template: name("template").optional().meta({
    description:
      "A built-in template (`loopd templates`): the routine it expands to, with this routine's own fields on top.",
  }),
  params: z
    .record(z.string(), z.unknown())
    .optional()
    .meta({ description: "Parameters for `template` (`loopd templates` lists them)." }),
  loop: loopSchema.optional(),
  command: z.string().min(1).optional().meta({ description: "Shell command (harness: shell)." }),
  harness: z.enum(HARNESSES).optional(),
  tier: name("tier").optional().meta({ description: "Model tier from `models`." }),
  escalate: z
    .array(name("tier"))
    .optional()
    .meta({ description: "Tiers to escalate to, in order, on failure." }),
  model: z.string().min(1).optional().meta({ description: "Explicit model; overrides the tier's." }),
  every: intervalSchema
    .optional()
    .meta({ description: "Run at this interval (anchored, no drift; at least 1s)." }),
  jitter: durationSchema
    .optional()
    .meta({ description: "Random delay up to this much per occurrence (with `every`)." }),
  cron: cronSchema.optional(),
  tz: timeZoneSchema.optional(),
  at: instantSchema.optional().meta({ description: "Run once at this instant." }),
  until: untilSchema.optional(),
  by: instantSchema.optional().meta({
    description:
      "Deadline of a watch: the `check` is evaluated every `every` (default 2h; 5m for a CI status, `checks: green`) until satisfied, and a last time at the deadline; still unsatisfied then → `deadline` notification and `onUnsatisfied`.",
  }),
  check: checkSchema.optional(),
  backoff: intervalSchema.optional().meta({
    description:
      "Watches: while the verdict stays the same, double the interval after each evaluation, up to this; a changed verdict brings it back to `every`. Default: 2h for a CI status (`checks: green`) whose `every` is omitted, none otherwise.",
  }),
  onUnsatisfied: onUnsatisfiedSchema.optional(),
  maxTurns: z.int().positive().optional().meta({ description: "Agent turn cap (default 30)." }),
  timeout: timeoutSchema.optional().meta({ description: "Per-run timeout (default 1h, 1s to 7d)." }),
  retries: z
    .int()
    .min(0)
    .max(20)
    .optional()
    .meta({ description: "Retries after a failed attempt (default 0)." }),
  pauseAfter: z.int().min(0).optional().meta({
    description:
      "Pause the routine after this many failed runs in a row and notify with the reason (default `failures.pauseAfter`, else 5; 0 never pauses).",
  }),
  catchUp: z
    .enum(CATCH_UP_POLICIES)
    .optional()
    .meta({ description: "After downtime: latest (default), all, none." }),
  maxCatchup: z.int().positive().optional().meta({ description: "Bound for catchUp: all (default 10)." }),
  overlap: z.enum(OVERLAP_POLICIES).optional().meta({
    description: "When the previous run is still going: skip (default), queue, cancel-previous, allow.",
  }),
  budget: budgetSchema.optional(),
  metering: z.enum(METERING_MODES).optional().meta({
    description:
      "How the routine's model spend is counted: `gateway` (default `metering`, else gateway: request by request through loopd's local gateway, caps hold to within one request) or `reported` (the harness's own report when it ends).",
  }),
  verify: verifySchema.optional(),
  expect: z.enum(["changes"]).optional().meta({
    description:
      "What a successful run must have done: `changes` = changed at least one file in its workspace (else LOOPD_NO_CHANGES).",
  }),
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
  deliver: z.enum(DELIVER_MODES).optional().meta({
    description:
      "What becomes of the run's work: none (left in the worktree), commit (committed on the run branch; default for agents in a worktree), push (also pushed to `push.remote`), pr (pushed to `loopd/<routine>` and a GitHub pull request opened from it, updated by later runs).",
  }),
  push: pushSchema.optional(),
  pr: prSchema.optional(),
  docs: z.array(z.string().min(1)).optional().meta({
    description: "Extra docs/playbooks (paths in the repo) given to the agent with AGENTS.md, CLAUDE.md, …",
  }),
  memory: z
    .boolean()
    .optional()
    .meta({ description: "Keep a memory between runs (default true for agent harnesses)." }),
  secrets: z.array(envName).optional().meta({
    description:
      "Names of the daemon's environment variables passed to the run (agent or command) and redacted from everything stored or sent.",
  }),
  env: z
    .record(envName, z.string())
    .optional()
    .meta({ description: "Literal environment variables for the run (not secret)." }),
  inheritEnv: z.boolean().optional().meta({
    description:
      "Shell commands: pass the daemon's whole environment instead of the allow-list + `secrets` + `env` (default false). Secret-named values are still redacted.",
  }),
  sandbox: sandboxSchema.optional(),
  mcpConfig: z.string().min(1).optional().meta({
    description: "MCP config file (relative to loopd.yaml) for harnesses that take one (claude).",
  }),
  agents: z
    .record(name("sub-agent"), subAgentSchema)
    .optional()
    .meta({ description: "Sub-agents for the builtin harness." }),
});

export const routineSchema = routineObject.superRefine((written, ctx) => {
  if (written.params !== undefined && written.template === undefined) {
    ctx.addIssue({ code: "custom", path: ["params"], message: "`params` are given to a `template`" });
  }
  if (written.template !== undefined) {
    const issues = templateIssues(written.template, written.params);
    for (const issue of issues) {
      ctx.addIssue({
        code: "custom",
        path: issue.path,
        message: issue.message,
        params: { hint: `\`loopd templates\` lists the built-in templates and their params.` },
      });
    }
    if (issues.length > 0) return;
  }
  // A templated routine is checked as the plain routine it expands to.
  const routine = expandRoutine(written);
  const triggers = (["every", "cron", "at"] as const).filter((key) => routine[key] !== undefined);
  if (triggers.length > 1) {
    ctx.addIssue({
      code: "custom",
      path: [triggers[1]!],
      message: `a routine has one trigger; found ${triggers.join(" and ")}`,
    });
  }
  const tasks = (["prompt", "command", "check"] as const).filter((key) => routine[key] !== undefined);
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
  if (routine.inheritEnv === true && routine.command === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["inheritEnv"],
      message: "`inheritEnv` applies to shell commands; agents get an allow-list + `secrets` + `env`",
    });
  }
  if (routine.loop !== undefined && (routine.prompt === undefined || routine.harness === "shell")) {
    ctx.addIssue({
      code: "custom",
      path: ["loop"],
      message: "a `loop` hands its work to an agent: give the routine a `prompt` and an agent harness",
    });
  }
  if (routine.agents !== undefined && routine.harness !== undefined && routine.harness !== "builtin") {
    ctx.addIssue({ code: "custom", path: ["agents"], message: "sub-`agents` run on harness: builtin" });
  }
  checkWatch(routine, ctx);
  checkDeliver(routine, ctx);
  if (routine.jitter !== undefined && routine.every === undefined) {
    ctx.addIssue({ code: "custom", path: ["jitter"], message: "`jitter` applies to `every` triggers" });
  }
});

/** Delivery commits on a run branch: it needs a worktree; `push` and `pr` settings need their mode. */
function checkDeliver(routine: z.output<typeof routineObject>, ctx: z.RefinementCtx): void {
  if (routine.push !== undefined && routine.deliver !== "push" && routine.deliver !== "pr") {
    ctx.addIssue({
      code: "custom",
      path: ["push"],
      message: "`push` settings apply with `deliver: push` or `deliver: pr`",
    });
  }
  if (routine.pr !== undefined && routine.deliver !== "pr") {
    ctx.addIssue({ code: "custom", path: ["pr"], message: "`pr` settings apply with `deliver: pr`" });
  }
  if (routine.deliver === undefined || routine.deliver === "none") return;
  if (routine.check !== undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["deliver"],
      message: "a watch's check delivers no work; drop `deliver`",
    });
    return;
  }
  const isShell = routine.harness === "shell" || routine.command !== undefined;
  const workspace = routine.workspace ?? (isShell ? "in-place" : "worktree");
  if (workspace === "in-place") {
    ctx.addIssue({
      code: "custom",
      path: ["deliver"],
      message: `\`deliver: ${routine.deliver}\` commits on the run's branch of a worktree; set \`workspace: worktree\``,
    });
  }
}

/** A backoff stretches a watch's `every`: it needs a verdict to compare and an interval to stretch. */
function checkBackoff(routine: z.output<typeof routineObject>, ctx: z.RefinementCtx): void {
  if (routine.backoff === undefined || routine.check === undefined) return;
  if (routine.every === undefined && routine.by === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["backoff"],
      message: "`backoff` stretches the interval of an `every` or `by` watch; add `every`",
    });
    return;
  }
  const every = parseDuration(routine.every ?? defaultWatchEvery(routine.check));
  const backoff = parseDuration(routine.backoff);
  if (every.ok && backoff.ok && backoff.ms < every.ms) {
    ctx.addIssue({
      code: "custom",
      path: ["backoff"],
      message: `\`backoff\` is the longest interval; it cannot be shorter than \`every\` (${routine.every ?? defaultWatchEvery(routine.check)})`,
    });
  }
}

/** `by`, `onUnsatisfied` and `until: { satisfied }` belong to watches (routines with a `check`). */
function checkWatch(routine: z.output<typeof routineObject>, ctx: z.RefinementCtx): void {
  const needsCheck: Array<[boolean, string]> = [
    [routine.by !== undefined, "by"],
    [routine.onUnsatisfied !== undefined, "onUnsatisfied"],
    [routine.backoff !== undefined, "backoff"],
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
  checkBackoff(routine, ctx);
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
