/**
 * The words an agent gets from loopd: the task as a prompt, and the standing instructions of
 * an unattended run (where it works, that nobody answers questions, what its final message
 * is for). Repo docs and memory are added by the executor.
 */
import { agentCheckPrompt } from "../checks/agent-check.js";
import type { RoutineSpec } from "../domain/routine-spec.js";
import type { ClaimedRun } from "../store/sql/claim-runs.js";

export function agentPrompt(spec: Pick<RoutineSpec, "task" | "check">, input: string | null): string {
  const { task } = spec;
  if (task.kind === "check") {
    if (spec.check?.kind !== "agent") throw new Error("only agent checks run as agents");
    return agentCheckPrompt(spec.check, input);
  }
  const base =
    task.kind === "prompt" ? task.prompt : `Run this command and report the result: ${task.command}`;
  return input ? `${base}\n\nInput for this run:\n${input}` : base;
}

export function loopdInstructions(
  run: ClaimedRun,
  workspace: { cwd: string; branch: string | null; mode: string },
): string {
  const where =
    workspace.mode === "in-place"
      ? `You work in ${workspace.cwd}.`
      : `You work in ${workspace.cwd}, a private ${workspace.mode === "copy" ? "copy" : "git worktree"} of the repository${workspace.branch ? ` on branch ${workspace.branch}` : ""}. Change files only inside it: changes anywhere else fail the run.`;
  return [
    "# loopd run",
    `You are running unattended as the loopd routine "${run.routineName}" (run ${run.id}, attempt ${run.attempt}, due ${new Date(run.dueAt).toISOString()}).`,
    where,
    "Nobody will answer questions during the run: make reasonable decisions and state them in your final message.",
    // A check's answer is a JSON object and nothing else (checks/agent-check.ts).
    run.spec.task.kind === "check"
      ? "Your final message is the JSON answer the task asks for, and nothing else."
      : "Start your final message with a one-line result; it becomes the run's summary.",
  ].join("\n");
}
