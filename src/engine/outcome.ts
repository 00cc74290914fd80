/**
 * What a finished attempt amounts to: the harness's result, unless the engine stopped the
 * run itself (timeout, cancel, lost lease, shutdown), in which case that reason decides; and
 * for a watch, what its verdict decides.
 */
import { describeCheck } from "../domain/check.js";
import { runErrorHint } from "../domain/error-hint.js";
import { decideWatch } from "../domain/watch.js";
import type { HarnessRegistry, HarnessResult } from "../harness/harness.js";
import type { ClaimedRun } from "../store/sql/claim-runs.js";
import type { Completion } from "../store/sql/complete-run.js";

/** Why the engine aborted a run. */
export type AbortReason = "timeout" | "canceled" | "lease-lost" | "shutdown";

export function outcomeOf(
  result: HarnessResult,
  abortReason: AbortReason | undefined,
): Completion["outcome"] {
  if (abortReason === "timeout") return "timed_out";
  if (abortReason === "canceled" || abortReason === "shutdown" || abortReason === "lease-lost")
    return "canceled";
  return result.outcome;
}

/** The run's error with its hint (the harness's, else the table's, placeholders filled). */
export function errorOf(
  result: HarnessResult,
  abortReason: AbortReason | undefined,
  run: ClaimedRun,
): { code: string; message: string; hint?: string } | null {
  const error = abortError(abortReason, run) ?? result.error;
  if (!error) return null;
  const hint = runErrorHint(error, { runId: run.id, routine: run.routineName });
  return { code: error.code, message: error.message, ...(hint !== null ? { hint } : {}) };
}

function abortError(
  abortReason: AbortReason | undefined,
  run: ClaimedRun,
): { code: string; message: string } | null {
  switch (abortReason) {
    case "timeout":
      return { code: "LOOPD_RUN_TIMEOUT", message: `stopped after the ${run.spec.timeout} timeout` };
    case "canceled":
      return { code: "LOOPD_RUN_CANCELED", message: "canceled by a newer run (overlap: cancel-previous)" };
    case "lease-lost":
      return { code: "LOOPD_LEASE_LOST", message: "this worker lost the run's lease; stopped it" };
    case "shutdown":
      return { code: "LOOPD_RUN_RELEASED", message: "worker shut down; run handed back to the queue" };
    default:
      return null;
  }
}

export function unavailable(name: string, harnesses: HarnessRegistry): HarnessResult {
  return {
    outcome: "failed",
    exitCode: null,
    summary: null,
    error: {
      code: "LOOPD_HARNESS_UNAVAILABLE",
      message: `harness "${name}" is not available in this loopd (available: ${[...harnesses.keys()].join(", ")})`,
    },
  };
}

/** The watch half of a completion: only a check that was evaluated has a verdict. */
export function watchOf(run: ClaimedRun, result: HarnessResult): Pick<Completion, "watch"> {
  const { check } = run.spec;
  if (!check || !result.check || result.check.status === "error") return {};
  const verdict = result.check.status;
  return {
    watch: {
      routineName: run.routineName,
      verdict,
      decision: decideWatch(run.spec, run.dueAt, verdict),
      summary: result.check.summary,
      check: describeCheck(check),
      deadline: run.spec.trigger.kind === "by" ? run.spec.trigger.deadline : null,
      fix: run.spec.onUnsatisfied?.run ?? null,
    },
  };
}
