/**
 * A run's work as its deliverable (a routine's `deliver`): `none` leaves it in the worktree,
 * `commit` commits whatever the agent left uncommitted on the run branch before the worktree
 * can be reused, `push` also pushes that branch to the routine's remote, `pr` pushes it and
 * opens (or updates) a GitHub pull request from it. This file holds the record written on
 * the run (`runs.delivery`) and the pure rules around it: the defaults, the commit message,
 * the remote branch name, which remote branches loopd may overwrite, and the PR's text.
 */
import { formatUsd } from "./money.js";

export const DELIVER_MODES = ["none", "commit", "push", "pr"] as const;
export type DeliverMode = (typeof DELIVER_MODES)[number];

/** Author and committer of loopd's commits unless `git.author` says otherwise. */
export const DEFAULT_GIT_AUTHOR = "loopd <loopd@localhost>";

/**
 * Where `deliver: push` goes. `branch` and `force` may use `{routine}` and `{run}` (the run
 * branch's leaf: the run id, `-<attempt>` for a retry).
 */
export interface PushSpec {
  /** A remote of the repo (or a URL). URL repos: `origin` is the URL they were cloned from. */
  remote: string;
  /** The remote branch the run branch is pushed to. */
  branch: string;
  /** Remote branches loopd owns: only these are overwritten (`--force-with-lease`). */
  force: string;
}

export const DEFAULT_PUSH: PushSpec = {
  remote: "origin",
  branch: "loopd/{routine}/{run}",
  force: "loopd/{routine}/*",
};

/**
 * `deliver: pr` pushes to one branch per routine, so each run's work replaces the last one's
 * on the same pull request (the PR shows the latest run), rather than opening a PR per run.
 */
export const DEFAULT_PR_PUSH: PushSpec = {
  remote: "origin",
  branch: "loopd/{routine}",
  force: "loopd/{routine}",
};

/** The pull request of `deliver: pr` (defaults filled in, except what only GitHub knows). */
export interface PrSpec {
  /** owner/name on GitHub; absent: read from the push remote's URL. */
  repo?: string;
  /** The branch the PR merges into; absent: the repository's default branch. */
  base?: string;
  /** The PR's title; absent: the run's summary line. `{routine}` and `{run}` are filled in. */
  title?: string;
  draft: boolean;
  labels: string[];
  /** The daemon's variable holding the GitHub token for this routine (default GITHUB_TOKEN, GH_TOKEN, `gh auth token`). */
  tokenEnv?: string;
}

/** What became of a run's work; the JSON in `runs.delivery`, shown by show-run, the API and the dashboard. */
export interface RunDelivery {
  mode: "commit" | "push" | "pr";
  /** The branch holding the work (the run branch unless the agent switched branches). */
  branch: string;
  /** The branch head with the work (loopd's commit, or the agent's own); null when no commit could be made. */
  commit: string | null;
  pushed: boolean;
  /** push: the remote's URL (credentials removed), else its name; null for `commit`. */
  remote: string | null;
  /** push: the branch on the remote. */
  remoteBranch: string | null;
  /** push: why it was not pushed although nothing went wrong (the run failed, or escaped). */
  skipped: string | null;
  /** The commit or the push failed (`LOOPD_DELIVERY_FAILED`); the run's outcome is unchanged. */
  error: { code: string; message: string; hint: string } | null;
  /** pr: the pull request opened (`created`) or updated with this run's work. */
  pullRequest?: { number: number; url: string; created: boolean } | null;
}

/** What the PR's text is made of. */
export interface PullRequestFacts {
  routine: string;
  runId: number;
  summary: string | null;
  costUsd: number | null;
  /** `git diff --shortstat` of the run's work: "3 files changed, 10 insertions(+), 2 deletions(-)". */
  diffStat: string | null;
  commit: string;
}

/** The marker in a `deliver: pr` PR's body, naming the routine whose PR it is. */
export function pullRequestMarker(routine: string): string {
  return `<!-- loopd:deliver:${routine} -->`;
}

/** The PR's title: `pr.title` with placeholders filled, else the run's summary line. */
export function pullRequestTitle(pattern: string | undefined, facts: PullRequestFacts): string {
  if (pattern) return expandBranchPattern(pattern, { routine: facts.routine, run: String(facts.runId) });
  return commitMessage({ id: facts.runId, routine: facts.routine, summary: facts.summary })[0]!;
}

/** The PR's description: the run's summary, the size of the change, what it cost, and the run. */
export function pullRequestBody(facts: PullRequestFacts): string {
  const cost = facts.costUsd === null ? "unknown" : formatUsd(facts.costUsd);
  return [
    pullRequestMarker(facts.routine),
    facts.summary?.trim() || `The work of run ${facts.runId} of \`${facts.routine}\`.`,
    "",
    "---",
    `- Changes: ${facts.diffStat ?? "none"} (commit ${facts.commit.slice(0, 12)})`,
    `- Cost: ${cost}`,
    `- Run: ${facts.runId} of \`${facts.routine}\` — \`loopd show-run ${facts.runId}\``,
    "",
    "Opened by loopd (`deliver: pr`); the next run of this routine updates this pull request.",
  ].join("\n");
}

/** Agents in a git worktree commit their work; shell commands and watches deliver nothing. */
export function defaultDeliverMode(spec: {
  harness: string;
  workspace: string;
  task: { kind: string };
}): DeliverMode {
  return spec.harness !== "shell" && spec.task.kind !== "check" && spec.workspace === "worktree"
    ? "commit"
    : "none";
}

/** `Name <email>` → its parts; null when it is not of that form. */
export function parseAuthor(text: string): { name: string; email: string } | null {
  const match = /^\s*([^<>]*?)\s*<([^<>\s]+)>\s*$/.exec(text);
  if (!match?.[1] || !match[2]) return null;
  return { name: match[1], email: match[2] };
}

/** The run's one-line summary (or a fallback) as the subject, then the `Loopd-Run:` trailer. */
export function commitMessage(run: { id: number; routine: string; summary: string | null }): string[] {
  const line = (run.summary ?? "").split("\n", 1)[0]?.trim() ?? "";
  const subject = line
    ? line.length > 200
      ? `${line.slice(0, 199)}…`
      : line
    : `${run.routine}: run ${run.id}`;
  return [subject, `Loopd-Run: ${run.id}`];
}

/** Fills `{routine}` and `{run}` in a branch pattern. */
export function expandBranchPattern(pattern: string, names: { routine: string; run: string }): string {
  return pattern.replaceAll("{routine}", names.routine).replaceAll("{run}", names.run);
}

/** Whether `branch` matches a glob (`*`: within one path segment, `**`: across segments). */
export function branchMatches(glob: string, branch: string): boolean {
  const source = glob
    .split(/(\*\*|\*)/)
    .map((part) =>
      part === "**" ? ".*" : part === "*" ? "[^/]*" : part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"),
    )
    .join("");
  return new RegExp(`^${source}$`).test(branch);
}

/** Removes user names and passwords from URLs (`https://user:token@host` → `https://***@host`). */
export function withoutCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi, "$1***@");
}

/** A branch pattern: ref characters and `{routine}`/`{run}` only (validated in the config). */
export const BRANCH_PATTERN = /^(?!\/)(?!.*\/\/)(?!.*\.\.)(?!.*\/$)[A-Za-z0-9._/{}-]+$/;
export const BRANCH_GLOB = /^(?!\/)(?!.*\/\/)(?!.*\.\.)(?!.*\/$)[A-Za-z0-9._/{}*-]+$/;

/** Placeholders other than `{routine}` and `{run}`, for the config's error message. */
export function unknownPlaceholders(pattern: string): string[] {
  return [...pattern.matchAll(/\{[^}]*\}?/g)]
    .map((match) => match[0])
    .filter((placeholder) => placeholder !== "{routine}" && placeholder !== "{run}");
}
