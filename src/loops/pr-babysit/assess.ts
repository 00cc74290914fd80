/**
 * What pr-babysit makes of one pull request, decided without I/O: its CI state from check
 * runs and statuses, what to do next, when to look again, and the memory kept per PR.
 */
import { branchMatches } from "../../domain/run-delivery.js";
import type { CheckRunInfo, CommitStatusInfo, PullDetail } from "../../github/index.js";

export type CiState = "green" | "pending" | "red";

/** Per pull request, between ticks (table `loop_items`, item `pr:<number>`). */
export interface PrMemory {
  /** The head sha this memory is about; a new head starts over (but keeps `attempted`). */
  head: string;
  /** What the PR looked like at the last look, for the report: green, behind, pending, red, conflict, fixing, gave-up, refused. */
  status: string;
  nextCheckAt: number;
  intervalMs: number;
  /** Jobs seen passing on this head: a later failure of one of them looks flaky. */
  passed: string[];
  /** Re-runs spent per job on this head. */
  reruns: Record<string, number>;
  /** Failure signatures an agent was given (check + head sha + first error line): never twice. */
  attempted: string[];
  /** The agent gave up (or a fix could not land) on this head: reported once, left alone until the head moves. */
  gaveUp: boolean;
  /** The last thing loopd did or saw, in a few words. */
  note: string;
  /** The pull request on GitHub, for the faces. */
  url?: string;
}

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
const FAILED = new Set(["failure", "timed_out", "startup_failure"]);
const FAILED_STATUS = new Set(["failure", "error"]);

export function freshMemory(head: string): PrMemory {
  return {
    head,
    status: "new",
    nextCheckAt: 0,
    intervalMs: MINUTE,
    passed: [],
    reruns: {},
    attempted: [],
    gaveUp: false,
    note: "",
  };
}

/** The memory for the head GitHub shows now: a moved head forgets the last head's re-runs and give-up. */
export function memoryFor(stored: PrMemory | undefined, head: string): PrMemory {
  if (!stored) return freshMemory(head);
  if (stored.head === head) return stored;
  return { ...freshMemory(head), attempted: stored.attempted.slice(-50) };
}

export function ciState(checks: CheckRunInfo[], statuses: CommitStatusInfo[]): CiState {
  if (checks.some((check) => check.conclusion !== null && FAILED.has(check.conclusion))) return "red";
  if (statuses.some((status) => FAILED_STATUS.has(status.state))) return "red";
  if (checks.some((check) => check.status !== "completed") || statuses.some((s) => s.state === "pending")) {
    return "pending";
  }
  return "green";
}

export function isFailedConclusion(conclusion: string | null): boolean {
  return conclusion !== null && FAILED.has(conclusion);
}

/** GitHub knows there are conflicts (`mergeable: false`, state `dirty`). */
export function hasConflicts(pull: Pick<PullDetail, "mergeable" | "mergeableState">): boolean {
  return pull.mergeable === false || pull.mergeableState === "dirty";
}

/** Every minute while something is going on; doubling toward an hour while green and up to date. */
export function nextLook(
  memory: PrMemory,
  calm: boolean,
  now: number,
): Pick<PrMemory, "nextCheckAt" | "intervalMs"> {
  const intervalMs = calm ? Math.min(Math.max(memory.intervalMs * 2, 2 * MINUTE), HOUR) : MINUTE;
  return { intervalMs, nextCheckAt: now + intervalMs };
}

/** A failure's signature: the check, the commit, and the first error line of its log. */
export function failureSignature(check: string, head: string, firstError: string | null): string {
  return `${check}@${head}:${(firstError ?? "").slice(0, 200)}`;
}

/**
 * Whether loopd may push to this PR's head branch, and if not why. Never the default branch
 * or a protected one, never a fork that does not allow maintainers to push; then `pushBranches`
 * when given, else only PRs authored by the token's user.
 */
export function pushRefusal(
  pull: Pick<PullDetail, "head" | "author" | "fromFork" | "maintainerCanModify">,
  rules: {
    defaultBranch: string;
    protectedHead: boolean;
    pushBranches: string | undefined;
    me: string | null;
  },
): string | null {
  if (pull.fromFork && !pull.maintainerCanModify)
    return "its branch is in a fork that does not allow maintainers to push";
  if (!pull.fromFork && pull.head.ref === rules.defaultBranch)
    return `its head is the default branch ${rules.defaultBranch}`;
  if (rules.protectedHead) return `its head branch ${pull.head.ref} is protected`;
  if (rules.pushBranches !== undefined) {
    return branchMatches(rules.pushBranches, pull.head.ref)
      ? null
      : `its head branch ${pull.head.ref} is outside pushBranches (${rules.pushBranches})`;
  }
  if (rules.me === null || pull.author?.toLowerCase() !== rules.me.toLowerCase()) {
    return `it is not authored by ${rules.me ?? "the token's user"} (set pushBranches to push to others' branches)`;
  }
  return null;
}
