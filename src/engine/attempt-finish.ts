/**
 * After the harness: the workspace is finished (its work committed on the run branch and
 * pushed per `deliver`), the diff, changed files and final message are kept as artifacts, the
 * delivery is recorded, and the result is judged once more: writing outside the worktree, or
 * changing nothing under `expect: changes`, fails the run. Secrets are redacted from all of it.
 */
import type { HarnessResult } from "../harness/harness.js";
import type { ToolOutcomes } from "../harness/tool-outcome.js";
import { type RunArtifact, recordRunHead, saveRunArtifacts } from "../store/run-artifacts.js";
import type { Workspace, WorkspaceReport } from "../workspace/workspaces.js";
import { type Attempt, type AttemptDeps, bookkeepingFailed, failed } from "./attempt.js";
import { redactResult } from "./redaction.js";
import { deliverRequest, recordWorkspaceOutcome } from "./run-delivery.js";

/**
 * Commits the work on the run branch (`deliver`) and frees the workspace before its slot can
 * be reused. Null without workspaces (nothing to report).
 */
export async function deliverWork(
  deps: AttemptDeps,
  attempt: Attempt,
  workspace: Workspace,
  result: HarnessResult | null,
): Promise<WorkspaceReport | null> {
  const deliver = deliverRequest(
    attempt.run,
    workspace,
    attempt.settings,
    result,
    attempt.redact,
    deps.baseEnv,
  );
  if (!deps.workspaces) return null;
  // A run stopped by a timeout or cancel did not succeed, whatever its harness returned: never pushed.
  const succeeded = result?.outcome === "succeeded" && !attempt.signal.aborted;
  return deps.workspaces.finish(workspace, { succeeded, deliver });
}

/** Keeps what the workspace reported: artifacts and the delivery. Failing here keeps the result. */
export async function recordWork(
  deps: AttemptDeps,
  attempt: Attempt,
  report: WorkspaceReport,
  result: HarnessResult | null,
): Promise<void> {
  await saveArtifacts(deps, attempt, report, result).catch((error: unknown) =>
    bookkeepingFailed(attempt.emitRaw, "saving the diff and changed files", error),
  );
  await recordWorkspaceOutcome(deps.store, attempt.run, report, attempt.emit, attempt.redact).catch(
    (error: unknown) => bookkeepingFailed(attempt.emitRaw, "recording the delivery", error),
  );
}

/** The attempt's result as the engine completes it: judged against the report, redacted. */
export function finalResult(
  attempt: Attempt,
  report: WorkspaceReport | null,
  result: HarnessResult | null,
  tools: ToolOutcomes,
): HarnessResult {
  const final =
    report && report.escaped.length > 0
      ? escaped(result, report)
      : unchanged(result, report, attempt.run.spec.expect === "changes");
  return final
    ? redactResult({ ...final, lastToolFailed: tools.lastFailed }, attempt.redact)
    : failed("LOOPD_HARNESS_CRASHED", "the harness returned no result");
}

async function saveArtifacts(
  deps: AttemptDeps,
  attempt: Attempt,
  report: WorkspaceReport,
  result: HarnessResult | null,
): Promise<void> {
  const { run, redact } = attempt;
  const createdAt = deps.now();
  const artifact = (kind: RunArtifact["kind"], content: string): RunArtifact => ({
    runId: run.id,
    attempt: run.attempt,
    kind,
    content: redact(content),
    createdAt,
  });
  const changed = report.changedFiles.filter((path) => !isLoopdFile(path));
  const artifacts: RunArtifact[] = [];
  if (changed.length > 0) artifacts.push(artifact("changed-files", JSON.stringify(changed)));
  if (report.diff) artifacts.push(artifact("diff", report.diff));
  if (report.escaped.length > 0) artifacts.push(artifact("escaped", JSON.stringify(report.escaped)));
  if (result?.finalMessage) artifacts.push(artifact("final-message", result.finalMessage));
  await saveRunArtifacts(deps.store.db, artifacts);
  if (report.headCommit) await recordRunHead(deps.store.db, run.id, run.attempt, report.headCommit);
}

function isLoopdFile(path: string): boolean {
  return path === ".loopd" || path.startsWith(".loopd/");
}

/**
 * `expect: changes`: a run that says it succeeded but changed no file (loopd's own `.loopd/`
 * files aside) fails with LOOPD_NO_CHANGES. Without a report (no workspaces) nobody can tell.
 */
function unchanged(
  result: HarnessResult | null,
  report: WorkspaceReport | null,
  expectChanges: boolean,
): HarnessResult | null {
  if (!expectChanges || !report || result?.outcome !== "succeeded") return result;
  if (report.changedFiles.some((path) => !isLoopdFile(path))) return result;
  return {
    ...result,
    outcome: "failed",
    error: {
      code: "LOOPD_NO_CHANGES",
      message: `the routine expects changes (\`expect: changes\`), and the run changed no file${result.summary ? `; the agent said: ${result.summary}` : ""}`,
    },
  };
}

/** Whatever the agent achieved, writing outside its worktree fails the run. */
function escaped(result: HarnessResult | null, report: WorkspaceReport): HarnessResult {
  const shown = report.escaped.slice(0, 10).join(", ");
  const more = report.escaped.length > 10 ? ` and ${report.escaped.length - 10} more` : "";
  return {
    ...(result ?? { exitCode: null, summary: null }),
    outcome: "failed",
    error: {
      code: "LOOPD_WORKSPACE_ESCAPE",
      message: `the agent changed ${report.escaped.length} path(s) outside its worktree: ${shown}${more}`,
    },
  };
}
