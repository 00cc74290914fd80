/**
 * `check:` in loopd.yaml — the condition a watch evaluates — and what happens when it is not
 * met (`onUnsatisfied`). One of: a command's exit status, a test re-run up to N times, the
 * state of a GitHub issue/PR/discussion or the check runs of a PR or branch, an HTTP probe,
 * or a cheap model's yes/no verdict. `loopd remind` writes exactly these objects.
 */
import { z } from "zod";
import { name, url } from "./config-values.js";
import { type GithubTargetKind, parseGithubTarget } from "./github-ref.js";

/** What "done" means for each kind of GitHub subject. */
export const GITHUB_STATES = {
  issue: ["open", "closed", "fixed", "new-comments"],
  pr: [
    "open",
    "closed",
    "merged",
    "approved",
    "changes-requested",
    "mergeable",
    "conflicting",
    "behind",
    "up-to-date",
    "new-comments",
  ],
  discussion: ["open", "closed", "answered", "resolved"],
  ref: [],
} as const satisfies Record<GithubTargetKind, readonly string[]>;

const githubStates = [
  ...new Set([...GITHUB_STATES.issue, ...GITHUB_STATES.pr, ...GITHUB_STATES.discussion]),
] as [string, ...string[]];

const githubSubject = (kind: GithubTargetKind, example: string) =>
  z
    .string()
    .min(1)
    .refine((text) => parseGithubTarget(text, kind)?.kind === kind, {
      error: `expected a GitHub ${kind === "pr" ? "pull request" : kind} URL or ${example}`,
    });

export const githubCheckSchema = z
  .strictObject({
    issue: githubSubject("issue", "owner/repo#N")
      .optional()
      .meta({ description: "Issue URL or owner/repo#N." }),
    pr: githubSubject("pr", "owner/repo#N")
      .optional()
      .meta({ description: "Pull request URL or owner/repo#N." }),
    discussion: githubSubject("discussion", "a discussion URL")
      .optional()
      .meta({ description: "Discussion URL (…/discussions/N)." }),
    ref: githubSubject("ref", "owner/repo@branch").optional().meta({
      description:
        "Branch or commit whose check runs must be green: owner/repo@main or a …/tree/<branch> URL.",
    }),
    state: z.enum(githubStates).optional().meta({
      description:
        "The state that satisfies the check. issue: open | closed (default) | fixed (closed as completed) | new-comments; pr: open | closed | merged (default) | approved | changes-requested (reviews: each reviewer's latest) | mergeable | conflicting (GitHub's `mergeable`; unknown while GitHub computes it is an error, never a verdict) | behind | up-to-date (commits on the base the head lacks) | new-comments (conversation and review comments since `since`); discussion: open | closed | answered | resolved (default: answered, or closed as resolved).",
    }),
    checks: z.literal("green").optional().meta({
      description: "Satisfied when every check run and commit status of the PR head or ref passed.",
    }),
    since: z.iso
      .datetime({ offset: true, error: "expected an ISO 8601 instant with an offset" })
      .optional()
      .meta({
        description:
          "For `state: new-comments`: comments created after this instant count (`loopd remind` writes when the watch was made).",
      }),
    base: z
      .string()
      .regex(/^[\w./-]+$/, { error: "expected a branch name" })
      .optional()
      .meta({
        description:
          "For `state: behind` / `up-to-date`: the branch to compare with (default: the PR's base).",
      }),
  })
  .superRefine((check, ctx) => {
    const subjects = (["issue", "pr", "discussion", "ref"] as const).filter(
      (key) => check[key] !== undefined,
    );
    if (subjects.length !== 1) {
      ctx.addIssue({
        code: "custom",
        path: [],
        message:
          subjects.length === 0
            ? "a github check needs one subject: `issue`, `pr`, `discussion` or `ref`"
            : `a github check has one subject; found ${subjects.join(" and ")}`,
      });
      return;
    }
    const kind = subjects[0]!;
    if (check.state !== undefined && !(GITHUB_STATES[kind] as readonly string[]).includes(check.state)) {
      ctx.addIssue({
        code: "custom",
        path: ["state"],
        message:
          kind === "ref"
            ? "a `ref` check waits for `checks: green`, not a state"
            : `${kind === "issue" ? "an" : "a"} ${kind === "pr" ? "pull request" : kind} can be ${GITHUB_STATES[kind].join(", ")}; not "${check.state}"`,
      });
    }
    if (check.checks !== undefined && kind !== "pr" && kind !== "ref") {
      ctx.addIssue({
        code: "custom",
        path: ["checks"],
        message: "`checks: green` applies to a `pr` or a `ref`",
      });
    }
    if (check.checks !== undefined && check.state !== undefined) {
      ctx.addIssue({ code: "custom", path: ["checks"], message: "give `state` or `checks`, not both" });
    }
    if ((check.state === "new-comments") !== (check.since !== undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["since"],
        message:
          check.state === "new-comments"
            ? "`state: new-comments` needs `since` (the instant after which comments are new)"
            : "`since` applies to `state: new-comments`",
      });
    }
    if (check.base !== undefined && check.state !== "behind" && check.state !== "up-to-date") {
      ctx.addIssue({
        code: "custom",
        path: ["base"],
        message: "`base` applies to `state: behind` or `up-to-date`",
      });
    }
  })
  .meta({
    description: "State of a GitHub issue, pull request, discussion, or the check runs of a PR/branch.",
  });

export const httpCheckSchema = z
  .strictObject({
    url,
    method: z.enum(["GET", "HEAD", "POST"]).optional().meta({ description: "Default GET." }),
    status: z
      .union([z.int().min(100).max(599), z.enum(["2xx", "3xx", "4xx", "5xx"])])
      .optional()
      .meta({ description: "Expected status: a code or a class (default 2xx)." }),
    contains: z.string().min(1).optional().meta({ description: "Text the response body must contain." }),
    matches: z
      .string()
      .min(1)
      .refine(isRegExp, { error: "not a valid regular expression" })
      .optional()
      .meta({ description: "Regular expression the response body must match." }),
    headers: z.record(z.string(), z.string()).optional().meta({ description: "Request headers." }),
  })
  .meta({ description: "An HTTP probe: status (and optionally body) of a URL." });

export const testRetrySchema = z
  .strictObject({
    command: z
      .string()
      .min(1)
      .meta({ description: "Test command, e.g. `npx vitest run test/sync.test.ts`." }),
    retries: z
      .int()
      .min(1)
      .max(10)
      .optional()
      .meta({ description: "Re-runs after a failure (default 2): green if any try passes." }),
  })
  .meta({
    description: "Run a test up to 1 + retries times; green if it passes, flaky when results are mixed.",
  });

export const agentCheckSchema = z
  .strictObject({
    question: z.string().min(1).meta({ description: "A yes/no question; yes = satisfied." }),
    subject: z.string().min(1).optional().meta({ description: "What to look at: a URL, path or text." }),
    tier: name("tier").optional().meta({ description: "Model tier (default: the cheapest declared)." }),
  })
  .meta({
    description: "Ask a model; it must answer JSON `{ satisfied, reason }` (anything else is an error).",
  });

export const checkSchema = z
  .strictObject({
    command: z
      .string()
      .min(1)
      .optional()
      .meta({ description: "Satisfied when this command exits 0 (in the repo)." }),
    testRetry: testRetrySchema.optional(),
    github: githubCheckSchema.optional(),
    http: httpCheckSchema.optional(),
    agent: agentCheckSchema.optional(),
  })
  .superRefine((check, ctx) => {
    const kinds = CHECK_KINDS.filter((key) => check[key] !== undefined);
    if (kinds.length !== 1) {
      ctx.addIssue({
        code: "custom",
        path: [],
        message:
          kinds.length === 0
            ? `a check needs one of ${CHECK_KINDS.map((kind) => `\`${kind}\``).join(", ")}`
            : `a check has one kind; found ${kinds.join(" and ")}`,
      });
    }
  })
  .meta({ description: "The condition this routine evaluates (a watch): satisfied, unsatisfied or error." });

export const CHECK_KINDS = ["command", "testRetry", "github", "http", "agent"] as const;

export const onUnsatisfiedSchema = z
  .strictObject({
    notify: z
      .boolean()
      .optional()
      .meta({ description: "Send the `unsatisfied`/`deadline` notification (default true)." }),
    run: name("routine")
      .optional()
      .meta({ description: "Start this routine, with the evidence as its input." }),
  })
  .meta({
    description:
      "What to do when the check is not met (at `at`, at the `by` deadline, or after the retries).",
  });

/** Default cadence of a `by` watch (and of `loopd remind`'s until-satisfied watches). */
export const DEFAULT_WATCH_EVERY = "2h";
/** A CI status (`checks: green`) changes within minutes of a push: waiting 2 h for it is useless. */
export const DEFAULT_CI_WATCH_EVERY = "5m";

/**
 * How far a CI-status watch with the default cadence backs off while its verdict stays the
 * same: a red or pending CI that has not moved for an hour is not worth a look every 5 m.
 */
export const DEFAULT_CI_WATCH_BACKOFF = "2h";

/** The cadence a watch gets when none is written: minutes for CI status, hours for the rest. */
export function defaultWatchEvery(check: CheckConfig | undefined): string {
  return isCiStatus(check) ? DEFAULT_CI_WATCH_EVERY : DEFAULT_WATCH_EVERY;
}

/** The backoff that comes with the default cadence (`defaultWatchEvery`): only CI status has one. */
export function defaultWatchBackoff(check: CheckConfig | undefined): string | undefined {
  return isCiStatus(check) ? DEFAULT_CI_WATCH_BACKOFF : undefined;
}

function isCiStatus(check: CheckConfig | undefined): boolean {
  return check?.github?.checks !== undefined;
}

export type CheckConfig = z.output<typeof checkSchema>;
export type GithubCheckConfig = z.output<typeof githubCheckSchema>;

function isRegExp(text: string): boolean {
  try {
    new RegExp(text);
    return true;
  } catch {
    return false;
  }
}
