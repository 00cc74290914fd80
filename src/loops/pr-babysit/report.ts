/**
 * The words pr-babysit leaves behind: the agent's brief for a failing check or a conflict,
 * and the one sticky comment per PR (edited on later ticks, never a second one).
 */
import type { JobInfo, JobLog, PullDetail } from "../../github/index.js";

export function failureInput(pull: PullDetail, job: JobInfo, log: JobLog): string {
  return [
    `Pull request #${pull.number} "${pull.title}" (${pull.htmlUrl}): ${pull.head.ref} into ${pull.base.ref}.`,
    `The check "${job.name}" fails on ${pull.head.sha.slice(0, 12)}${log.step ? `, in the step "${log.step}"` : ""}${job.htmlUrl ? ` (${job.htmlUrl})` : ""}.`,
    ...(log.firstError ? [`First error: ${log.firstError}`] : []),
    "",
    `The failing step's log${log.truncated ? " (trimmed)" : ""}:`,
    "```",
    log.text.trimEnd(),
    "```",
  ].join("\n");
}

export function conflictInput(pull: PullDetail, baseRef: string): string {
  return [
    `Pull request #${pull.number} "${pull.title}" (${pull.htmlUrl}) conflicts with its base ${pull.base.ref}.`,
    `Merge the base in: run \`git merge --no-edit ${baseRef}\`, resolve every conflict keeping the intent of both sides, and \`git add\` the resolved files (loopd commits the merge).`,
    "If you cannot resolve it with confidence, run `git merge --abort`, change nothing, and say why.",
  ].join("\n");
}

export interface CommentFacts {
  routine: string;
  runId: number;
  /** What happened, one or two sentences of Markdown. */
  message: string;
  ok: boolean;
}

export function stickyBody(facts: CommentFacts): string {
  return [
    `${facts.ok ? "✅" : "⚠️"} **loopd** (routine \`${facts.routine}\`, run ${facts.runId})`,
    "",
    facts.message,
    "",
    "<sub>This comment is edited in place on later ticks.</sub>",
  ].join("\n");
}
