/**
 * `pr-babysit`: keeps a repository's pull requests green and up to date. Each tick a
 * deterministic pass (src/loops/pr-babysit/) looks at the watched PRs and only hands work to
 * an agent when a check failure persists or a conflict needs resolving; its fix is a new
 * commit on top of the PR's head branch. The prompt below is the agent's standing brief.
 */
import { z } from "zod";
import { envName } from "../config-values.js";
import type { RoutineTemplate } from "./template.js";

export const PR_FILTER = /^(mine|all|label:.+)$/;
const REPO = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

export const prBabysitParams = z.strictObject({
  repo: z
    .string({ error: "the repository as owner/name" })
    .regex(REPO, { error: "the repository as owner/name, e.g. acme/shop" })
    .meta({ description: "The GitHub repository as owner/name." }),
  prs: z.string().regex(PR_FILTER, { error: "mine, all or label:<name>" }).default("mine").meta({
    description: "Which open PRs: mine (authored by the token's user, default), all, or label:<name>.",
  }),
  update: z.enum(["merge", "rebase", "off"]).default("merge").meta({
    description:
      "A PR behind its base without conflicts: merge the base in (GitHub's update-branch, default), rebase, or off.",
  }),
  fix: z.boolean().default(true).meta({
    description: "Let an agent fix a failure that persists, or resolve a conflict (default true).",
  }),
  maxPrs: z.int().min(1).max(100).default(10).meta({ description: "PRs looked at per tick (default 10)." }),
  retryFlaky: z.int().min(0).max(5).default(1).meta({
    description:
      "Re-runs of a failed job that looks flaky (it passed on this commit before) before an agent is asked (default 1).",
  }),
  pushBranches: z.string().min(1).optional().meta({
    description:
      "Glob of head branches loopd may push fixes to (`*` within a segment, `**` across); default: PRs authored by the token's user.",
  }),
  remote: z.string().min(1).optional().meta({
    description:
      "Clone URL to fetch and push PR branches (default the API's clone URL; a local bare repo in tests).",
  }),
  tokenEnv: envName.optional().meta({
    description:
      "Environment variable of the daemon holding the GitHub token (default GITHUB_TOKEN, GH_TOKEN, `gh auth token`).",
  }),
});

export type PrBabysitParams = z.output<typeof prBabysitParams>;

export const PR_BABYSIT_PROMPT = `You look after a pull request whose CI is failing (or that conflicts with its base).
You are on the PR's head branch in a git worktree. Make the smallest change that makes the failing check pass, following the repository's own docs and conventions.
- Read the failing job's log below; reproduce the failure locally when you can.
- Do not commit, amend, rebase or push: loopd commits your changes as one new commit on top of the PR and pushes it.
- Do not weaken or delete tests to make them pass. If the failure is not caused by this PR, or you cannot fix it, change nothing and say why in your final message.`;

export const prBabysit: RoutineTemplate = {
  name: "pr-babysit",
  description: "Keep pull requests green and up to date: update branches, re-run flaky jobs, fix failing CI.",
  ready: true,
  params: prBabysitParams as unknown as RoutineTemplate["params"],
  expand(params) {
    return {
      description: `Babysit ${String(params.repo)}'s pull requests`,
      prompt: PR_BABYSIT_PROMPT,
      // The tick decides per PR when to look again (every minute while red, up to an hour while green).
      every: "1m",
      timeout: "30m",
      budget: { perRun: 2, perDay: 10 },
      loop: { kind: "pr-babysit", ...params },
    };
  },
  example: `name: pr-babysit
template: pr-babysit
params:
  repo: <owner>/<name>        # fill in: the GitHub repository
  prs: mine                   # mine | all | label:<name>
  update: merge               # behind its base: merge | rebase | off
  fix: true                   # let an agent fix a persisting failure
  retryFlaky: 1               # re-runs of a job that passed on this commit before
  # pushBranches: "feature/**" # default: PRs authored by the token's user
# The agent's fix must pass this before it is pushed:
verify:
  command: npm test
# Overrides: anything the template sets (prompt, every, budget, timeout) can be set here.
# budget: { perRun: 2, perDay: 10 }
`,
};
