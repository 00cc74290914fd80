/**
 * A run's work as its deliverable (a routine's `deliver`): `none` leaves it in the worktree,
 * `commit` commits whatever the agent left uncommitted on the run branch before the worktree
 * can be reused, `push` also pushes that branch to the routine's remote. This file holds the
 * record written on the run (`runs.delivery`) and the pure rules around it: the defaults,
 * the commit message, the remote branch name, and which remote branches loopd may overwrite.
 */

export const DELIVER_MODES = ["none", "commit", "push"] as const;
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

/** What became of a run's work; the JSON in `runs.delivery`, shown by show-run, the API and the dashboard. */
export interface RunDelivery {
  mode: "commit" | "push";
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
