/** Use-cases on runs. */

import type { z } from "zod";
import type { CheckResult } from "../domain/check.js";
import { LoopdError } from "../domain/errors.js";
import { meteringDisagrees } from "../domain/metering.js";
import type { TokenUsage } from "../domain/run-report.js";
import type { RunStatus } from "../domain/run-status.js";
import { listRunArtifacts } from "../store/run-artifacts.js";
import { listRunEvents } from "../store/run-events.js";
import { findRunSandbox } from "../store/run-sandbox.js";
import { findRun, listRuns } from "../store/runs.js";
import { findRunMetering } from "../store/sql/meter-request.js";
import type { Store } from "../store/store.js";
import { requireRoutine } from "./routines.js";
import { type RunEventView, runEventView } from "./run-event-view.js";
import type { RunDetailSchema } from "./view-schemas.js";
import { type RunView, runView } from "./views.js";

export async function listRunViews(
  store: Store,
  options: { routine?: string; status?: RunStatus; limit?: number; before?: number },
): Promise<RunView[]> {
  const routineId =
    options.routine === undefined ? undefined : (await requireRoutine(store, options.routine)).id;
  const runs = await listRuns(store.db, {
    ...(routineId !== undefined ? { routineId } : {}),
    ...(options.status !== undefined ? { status: options.status } : {}),
    ...(options.before !== undefined ? { beforeId: options.before } : {}),
    limit: options.limit ?? 20,
  });
  return runs.map(runView);
}

/** One run's view without its artifacts (cheap enough to poll); undefined when it does not exist. */
export async function findRunView(store: Store, runId: number): Promise<RunView | undefined> {
  const run = await findRun(store.db, runId);
  return run ? runView(run) : undefined;
}

/** A run's log in order; `afterId` returns only what came after an event a follower has. */
export async function listRunLog(
  store: Store,
  runId: number,
  options: { afterId?: number } = {},
): Promise<RunEventView[]> {
  return (await listRunEvents(store.db, runId, options)).map(runEventView);
}

/** A run with its last attempt's changes, final message and check result. */
export type RunDetail = z.infer<typeof RunDetailSchema>;

function parseCheck(content: string | null): CheckResult | null {
  if (content === null) return null;
  try {
    return JSON.parse(content) as CheckResult;
  } catch {
    return null; // an unreadable artifact must not hide the rest of the run
  }
}

export async function showRun(store: Store, runId: number): Promise<RunDetail> {
  const run = await findRun(store.db, runId);
  if (!run) {
    throw new LoopdError("LOOPD_NOT_FOUND", `no run ${runId}`, { hint: "Run `loopd runs` to see run ids." });
  }
  const artifacts = (await listRunArtifacts(store.db, runId)).filter(
    (artifact) => artifact.attempt === run.attempt,
  );
  const text = (kind: string) => artifacts.find((artifact) => artifact.kind === kind)?.content ?? null;
  const list = (kind: string) => JSON.parse(text(kind) ?? "[]") as string[];
  return {
    ...runView(run),
    changedFiles: list("changed-files"),
    escaped: list("escaped"),
    diff: text("diff") ?? "",
    finalMessage: text("final-message"),
    check: parseCheck(text("check")),
    ...(await meteringView(store, run.id, run.usage, run.costUsd)),
    sandbox: await findRunSandbox(store.db, run.id, run.attempt),
  };
}

/** How the run was metered; the harness's own totals only when they disagree with the gateway's. */
async function meteringView(
  store: Store,
  runId: number,
  usage: TokenUsage,
  costUsd: number,
): Promise<Pick<RunDetail, "metering" | "reported">> {
  const { metering, reported } = await findRunMetering(store.db, runId);
  const disagrees =
    reported !== null &&
    meteringDisagrees(
      { usage, costUsd },
      { usage: { ...reported, tokensReasoning: 0 }, costUsd: reported.costUsd },
    );
  return { metering, reported: disagrees ? reported : null };
}
