/**
 * The harness at work, and what is judged and kept right after: the run under its spend watch
 * (budget and token velocity), budget and credential events, `verify`, and the memory update.
 */
import { tierOrder } from "../domain/router.js";
import type { HarnessEvent, HarnessResult } from "../harness/harness.js";
import type { ToolOutcomes } from "../harness/tool-outcome.js";
import { saveMemory } from "./agent-context.js";
import { type Attempt, type AttemptDeps, baseInput, bookkeepingFailed, recordHealth } from "./attempt.js";
import type { AttemptContext } from "./attempt-prepare.js";
import { redactError } from "./redaction.js";
import { overBudget, recordBudgetEvent, watchSpend } from "./spend-watch.js";
import { verifyAttempt } from "./verify.js";

/** Errors that say something about the harness itself: doctor's "last error". */
const HARNESS_HEALTH_ERRORS = new Set([
  "LOOPD_AUTH_EXPIRED",
  "LOOPD_AUTH_MISSING",
  "LOOPD_HARNESS_NOT_INSTALLED",
]);

export interface HarnessRun {
  result: HarnessResult;
  /** Why the spend watch stopped it (over budget, tokens too fast); null when it did not. */
  stoppedBySpend: string | null;
}

/**
 * Runs the harness in the workspace; an agent under a spend watch, which stops it past its
 * budget or token velocity (the result then fails with LOOPD_BUDGET_EXCEEDED). Every tool
 * call's outcome is observed for the unverified flag.
 */
export async function runHarness(
  deps: AttemptDeps,
  attempt: Attempt,
  context: AttemptContext,
  tools: ToolOutcomes,
): Promise<HarnessRun> {
  const { run, signal } = attempt;
  const spend = context.agent ? watchSpend(run, attempt.settings, context.agent.model, deps.now) : null;
  const harnessSignal = spend ? AbortSignal.any([signal, spend.stop.signal]) : signal;
  const observed = (event: HarnessEvent) => {
    if (event.type === "usage") spend?.watch.observe(event.data);
    tools.observe(event);
    attempt.emit(event);
  };
  const result = await attempt.harness.run(
    { ...baseInput(run, harnessSignal), cwd: context.workspace.cwd, env: context.env, agent: context.agent },
    observed,
  );
  if (spend?.stop.signal.aborted && !signal.aborted) {
    const reason = String(spend.stop.signal.reason);
    return { result: overBudget(result, reason), stoppedBySpend: reason };
  }
  return { result, stoppedBySpend: null };
}

/** The `budget.exceeded` notification, and doctor's note of credentials rejected mid-run. */
export async function recordHarnessEvents(
  deps: AttemptDeps,
  attempt: Attempt,
  ran: HarnessRun,
): Promise<void> {
  const { result } = ran;
  if (ran.stoppedBySpend !== null) {
    await recordBudgetEvent(deps.store, attempt.run, deps.now(), ran.stoppedBySpend);
  } else if (result.error?.code === "LOOPD_BUDGET_EXCEEDED") {
    await recordBudgetEvent(deps.store, attempt.run, deps.now(), result.error.message);
  }
  if (result.error && HARNESS_HEALTH_ERRORS.has(result.error.code)) {
    // Credentials that passed preflight but were rejected mid-run: doctor's "last error".
    await recordHealth(
      deps,
      attempt.harness.name,
      { installed: true, version: null, auth: "expired" },
      redactError(result.error, attempt.redact),
    );
  }
}

/** `verify`: a success is checked in the workspace before it counts (a run stopped is not). */
export async function verify(
  deps: AttemptDeps,
  attempt: Attempt,
  context: AttemptContext,
  result: HarnessResult,
): Promise<HarnessResult> {
  const { run, signal } = attempt;
  if (result.outcome !== "succeeded" || !run.spec.verify || signal.aborted) return result;
  return verifyAttempt({
    store: deps.store,
    run,
    verify: run.spec.verify,
    cwd: context.workspace.cwd,
    env: context.env,
    signal,
    result,
    emit: attempt.emit,
    redact: attempt.redact,
    tiers: tierOrder(attempt.settings.models),
    tier: attempt.plan?.tier ?? null,
    now: deps.now(),
  });
}

/** `memory: true`: what the attempt learned is saved; failing to save does not fail the run. */
export async function remember(
  deps: AttemptDeps,
  attempt: Attempt,
  context: AttemptContext,
  result: HarnessResult,
): Promise<void> {
  if (!context.memory) return;
  await saveMemory(
    deps.store.db,
    deps.now(),
    attempt.run,
    context.memory,
    result,
    attempt.settings,
    attempt.redact,
  ).catch((error: unknown) => bookkeepingFailed(attempt.emit, "saving the memory", error));
}
