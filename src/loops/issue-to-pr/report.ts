/**
 * The words issue-to-pr leaves behind: the agent's brief for an issue, the fix PR's title and
 * body (`Fixes #N`, the agent's explanation, the run), and the one sticky comment per issue
 * (edited on later ticks, never a second one).
 */
import { formatUsd } from "../../domain/money.js";
import type { IssueInfo } from "../../github/index.js";

export function issueInput(issue: IssueInfo, start: { ref: string; existing: boolean }): string {
  return [
    `GitHub issue #${issue.number} "${issue.title}" (${issue.htmlUrl})${issue.author ? `, reported by ${issue.author}` : ""}:`,
    "",
    issue.body?.trim() || "(the issue has no description beyond its title)",
    "",
    start.existing
      ? `You start from loopd's earlier fix branch for this issue (${start.ref}); the issue was edited since. Build on that work.`
      : `You start from ${start.ref}.`,
  ].join("\n");
}

export function pullTitle(issue: IssueInfo): string {
  const title = `Fix #${issue.number}: ${issue.title}`;
  return title.length > 200 ? `${title.slice(0, 199)}…` : title;
}

export interface PullFacts {
  marker: string;
  issue: IssueInfo;
  routine: string;
  runId: number;
  /** The agent's explanation of the change (its final message). */
  summary: string | null;
  verify: string | null;
  commit: string;
  costUsd: number | null;
}

export function pullBody(facts: PullFacts): string {
  return [
    facts.marker,
    `Fixes #${facts.issue.number}`,
    "",
    facts.summary?.trim() ||
      `The fix of run ${facts.runId} of \`${facts.routine}\` for #${facts.issue.number}.`,
    "",
    "---",
    `- Commit: ${facts.commit.slice(0, 12)}${facts.verify ? ` (\`${facts.verify}\` passed)` : ""}`,
    `- Cost: ${facts.costUsd === null ? "unknown" : formatUsd(facts.costUsd)}`,
    `- Run: ${facts.runId} of \`${facts.routine}\` — \`loopd show-run ${facts.runId}\``,
    "",
    "Opened by loopd (`issue-to-pr`); an edit of the issue makes the next run update this pull request.",
  ].join("\n");
}

export function commentBody(facts: { routine: string; runId: number; message: string; ok: boolean }): string {
  return [
    `${facts.ok ? "✅" : "⚠️"} **loopd** (routine \`${facts.routine}\`, run ${facts.runId})`,
    "",
    facts.message,
    "",
    "<sub>This comment is edited in place when loopd looks at this issue again.</sub>",
  ].join("\n");
}
