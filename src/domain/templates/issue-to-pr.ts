/**
 * `issue-to-pr`: an open issue carrying the configured label becomes a fix PR that says
 * `Fixes #N`, one per issue. Each tick a deterministic pass (src/loops/issue-to-pr/) looks at
 * the labelled issues and hands one that is new (or edited since) to an agent; a labelled
 * issue's `issues.labeled` webhook wakes the routine for the same pass. The prompt below is
 * the agent's standing brief.
 */
import { z } from "zod";
import { envName } from "../config-values.js";
import type { RoutineTemplate } from "./template.js";

export const issueToPrParams = z.strictObject({
  repo: z
    .string({ error: "the repository as owner/name" })
    .regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, { error: "the repository as owner/name, e.g. acme/shop" })
    .meta({ description: "The GitHub repository as owner/name." }),
  label: z
    .string()
    .min(1)
    .default("loopd")
    .meta({ description: "The issue label that asks for a fix (default loopd)." }),
  base: z.string().min(1).optional().meta({
    description: "Branch the fix starts from and the PR targets (default the repository's default branch).",
  }),
  branchPrefix: z
    .string()
    .regex(/^[A-Za-z0-9._/-]+$/, { error: "a branch name prefix like loopd/issue-" })
    .default("loopd/issue-")
    .meta({ description: "The fix branch is this prefix + the issue number (default loopd/issue-)." }),
  maxIssues: z.int().min(1).max(100).default(10).meta({
    description: "Labelled issues looked at per tick, oldest first; one is fixed per tick (default 10).",
  }),
  remote: z.string().min(1).optional().meta({
    description:
      "Clone URL to fetch and push the fix branch (default the API's clone URL; a local bare repo in tests).",
  }),
  tokenEnv: envName.optional().meta({
    description:
      "Environment variable of the daemon holding the GitHub token (default GITHUB_TOKEN, GH_TOKEN, `gh auth token`).",
  }),
});

export type IssueToPrParams = z.output<typeof issueToPrParams>;

export const ISSUE_TO_PR_PROMPT = `You fix a bug reported in a GitHub issue. You are on a fresh branch in a git worktree of the repository.
- Read the repository's own docs (README, CONTRIBUTING, docs/) and follow its conventions.
- First reproduce the report: write a test that fails because of the bug, where the repository has tests. Then make the smallest change that fixes it, so that test passes.
- Do not commit, rebase or push: loopd commits your changes, runs the routine's verify command, pushes the branch and opens the pull request.
- End with a short explanation of the cause and the change: it becomes the pull request's description.
- If you cannot reproduce the issue or are not confident in a fix, change nothing and say what you tried and what you found.`;

export const issueToPr: RoutineTemplate = {
  name: "issue-to-pr",
  description: "Turn a labelled issue into a fix PR that says Fixes #N, one PR per issue.",
  ready: true,
  params: issueToPrParams as unknown as RoutineTemplate["params"],
  expand(params) {
    return {
      description: `Fix ${String(params.repo)} issues labelled ${String(params.label)}`,
      prompt: ISSUE_TO_PR_PROMPT,
      // The label's webhook wakes it at once; the schedule catches labels set while it was not listening.
      every: "10m",
      timeout: "30m",
      events: [{ github: "issues.labeled", label: params.label, repo: params.repo }],
      budget: { perRun: 3, perDay: 15 },
      loop: { kind: "issue-to-pr", ...params },
    };
  },
  example: `name: issue-to-pr
template: issue-to-pr
params:
  repo: <owner>/<name>   # fill in: the GitHub repository
  label: loopd           # the label that asks for a fix
  # base: main           # default: the repository's default branch
  # branchPrefix: loopd/issue-   # the fix branch is loopd/issue-<number>
# The agent's fix must pass this before the branch is pushed and the PR opened:
verify:
  command: npm test
# Overrides: anything the template sets (prompt, every, budget, timeout) can be set here.
# budget: { perRun: 3, perDay: 15 }
`,
};
