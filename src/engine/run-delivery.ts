/**
 * The executor's side of a run's deliverable (`deliver`): what it asks the workspace to do at
 * the end of an attempt (commit message from the run's summary, author and hooks from `git:`,
 * where to push), and afterwards what it writes on the run — the delivery, and where a kept
 * worktree went — with a line in the run's log. The git work itself is workspace/deliver.ts.
 */
import {
  commitMessage,
  DEFAULT_GIT_AUTHOR,
  DEFAULT_PR_PUSH,
  DEFAULT_PUSH,
  expandBranchPattern,
  parseAuthor,
  type RunDelivery,
} from "../domain/run-delivery.js";
import type { ConfigSettings } from "../domain/settings.js";
import type { HarnessEvent, HarnessResult } from "../harness/harness.js";
import { recordRunDelivery, recordRunKept } from "../store/run-artifacts.js";
import type { ClaimedRun } from "../store/sql/claim-runs.js";
import type { Store } from "../store/store.js";
import type { DeliverRequest } from "../workspace/deliver.js";
import type { Workspace, WorkspaceReport } from "../workspace/workspaces.js";

/** What finish() should deliver for this attempt; null for `deliver: none` or no run branch. */
export function deliverRequest(
  run: ClaimedRun,
  workspace: Workspace,
  settings: ConfigSettings,
  result: HarnessResult | null,
  redact: (text: string) => string,
  env: Record<string, string | undefined> = {},
): DeliverRequest | null {
  const { spec } = run;
  if (spec.deliver === "none" || workspace.mode !== "worktree" || workspace.branch === null) return null;
  const prefix = `loopd/${run.routineName}/`;
  const names = {
    routine: run.routineName,
    run: workspace.branch.startsWith(prefix) ? workspace.branch.slice(prefix.length) : String(run.id),
  };
  const push = spec.push ?? (spec.deliver === "pr" ? DEFAULT_PR_PUSH : DEFAULT_PUSH);
  const summary = result?.summary ?? null;
  const redactedSummary = summary === null ? null : redact(summary);
  return {
    mode: spec.deliver,
    message: commitMessage({
      id: run.id,
      routine: run.routineName,
      summary: redactedSummary,
    }),
    author: parseAuthor(settings.git?.author ?? DEFAULT_GIT_AUTHOR) ?? parseAuthor(DEFAULT_GIT_AUTHOR)!,
    noVerify: settings.git?.noVerify ?? false,
    redact,
    ...(spec.deliver === "pr"
      ? {
          pr: {
            spec: spec.pr ?? { draft: false, labels: [] },
            routine: run.routineName,
            runId: run.id,
            summary: redactedSummary,
            costUsd: result?.costUsd ?? null,
            env,
            apiUrl: settings.github?.apiUrl,
          },
        }
      : {}),
    ...(spec.deliver === "push" || spec.deliver === "pr"
      ? {
          push: {
            remote: push.remote,
            branch: expandBranchPattern(push.branch, names),
            force: expandBranchPattern(push.force, names),
          },
        }
      : {}),
  };
}

/** Writes the delivery and a kept worktree's new place on the run, and says what happened in its log. */
export async function recordWorkspaceOutcome(
  store: Store,
  run: ClaimedRun,
  report: WorkspaceReport,
  emit: (event: HarnessEvent) => void,
  redact: (text: string) => string,
): Promise<void> {
  // The pool slot the run started in is reused by the next run: the kept copy is where it is now.
  if (report.keptAt !== null) {
    await recordRunKept(store.db, run.id, run.attempt, report.keptAt);
  }
  if (!report.delivery) return;
  const delivery = redactDelivery(report.delivery, redact);
  await recordRunDelivery(store.db, run.id, run.attempt, delivery);
  emit({ type: "status", data: { event: "delivery", ...delivery } });
}

function redactDelivery(delivery: RunDelivery, redact: (text: string) => string): RunDelivery {
  return {
    ...delivery,
    remote: delivery.remote === null ? null : redact(delivery.remote),
    error: delivery.error
      ? { ...delivery.error, message: redact(delivery.error.message), hint: redact(delivery.error.hint) }
      : null,
  };
}
