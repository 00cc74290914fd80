/**
 * One attempt of a claimed run, as the engine lives it: the `started` event, the executor
 * under the routine's timeout, then the end — the outcome (from the harness's result and why
 * the run was stopped), the `finished` event, the completion (retried through a store outage
 * for as long as the lease holds) with the failure breaker's threshold, the routine's
 * auth-failure count, and a wake-up for the processes waiting on it.
 */
import { performance } from "node:perf_hooks";
import { pauseAfterOf } from "../domain/failure-breaker.js";
import type { ConfigSettings } from "../domain/settings.js";
import type { HarnessResult } from "../harness/harness.js";
import { isConnectionFault } from "../store/faults.js";
import { CONFIG_SETTING, getSetting } from "../store/settings.js";
import type { ClaimedRun } from "../store/sql/claim-runs.js";
import type { Completion, CompletionResult } from "../store/sql/complete-run.js";
import { DEFAULT_AUTH_PAUSE_AFTER, recordAuthOutcome } from "../store/sql/record-auth-outcome.js";
import type { Store } from "../store/store.js";
import { type ActiveRun, abort } from "./active-run.js";
import type { CompletionBatcher } from "./completion-batcher.js";
import type { Clock, EngineEvent } from "./engine-events.js";
import type { RunEventBuffer } from "./event-sink.js";
import { errorOf, outcomeOf, watchOf } from "./outcome.js";
import type { RunExecutor } from "./run-executor.js";
import { retryDelayMs, type StoreHealth } from "./store-health.js";

const AUTH_ERRORS = new Set(["LOOPD_AUTH_EXPIRED", "LOOPD_AUTH_MISSING"]);

export interface RunAttemptDeps {
  store: Store;
  executor: RunExecutor;
  workerId: string;
  clock: Clock;
  events: RunEventBuffer;
  completions: CompletionBatcher;
  health: StoreHealth;
  emit: (event: EngineEvent) => void;
  /** Wakes the other processes on this store. */
  notifyOthers: () => Promise<void>;
  /** A global concurrency cap applies: every completion frees a slot other workers wait for. */
  globalCapped: () => boolean;
  /**
   * The executor returned: the slot is free while the completion is written, so the next
   * claim overlaps this completion instead of waiting for it.
   */
  executed?: (active: ActiveRun) => void;
}

/** Executes the run's attempt and records how it ended (a crashed executor is LOOPD_HARNESS_CRASHED). */
export async function runAttempt(deps: RunAttemptDeps, active: ActiveRun): Promise<void> {
  const { run } = active;
  const started = { wall: deps.clock.now(), mono: performance.now() };
  deps.emit({ type: "run-started", run });
  deps.events.status(run.id, run.attempt, { event: "started", attempt: run.attempt, worker: deps.workerId });
  const timeout = setTimeout(() => abort(active, "timeout"), run.spec.timeoutMs);

  let result: HarnessResult;
  try {
    result = await deps.executor.execute({
      run,
      signal: active.controller.signal,
      emit: (event) => deps.events.push(run.id, run.attempt, event),
    });
  } catch (error) {
    result = {
      outcome: "failed",
      exitCode: null,
      summary: null,
      error: {
        code: "LOOPD_HARNESS_CRASHED",
        message: error instanceof Error ? error.message : String(error),
      },
    };
  } finally {
    clearTimeout(timeout);
  }
  active.executed = true;
  deps.executed?.(active);
  await completeAttempt(deps, active, result, started);
}

/** When the attempt started: the wall clock for the store, the monotonic one for its duration. */
interface AttemptStart {
  wall: number;
  mono: number;
}

async function completeAttempt(
  deps: RunAttemptDeps,
  active: ActiveRun,
  result: HarnessResult,
  started: AttemptStart,
): Promise<void> {
  const { run } = active;
  const outcome = outcomeOf(result, active.abortReason);
  const error = errorOf(result, active.abortReason, run);
  const verdict = outcome === "succeeded" ? watchOf(run, result).watch?.verdict : undefined;
  deps.events.status(run.id, run.attempt, {
    event: "finished",
    outcome,
    ...(verdict ? { verdict } : {}),
    exitCode: result.exitCode,
    error,
  });
  deps.events.end(run.id);
  const durationMs = Math.round(performance.now() - started.mono);
  if (active.abortReason === "lease-lost" || active.abortReason === "shutdown") {
    // Not ours to complete any more (lost), or handed back by stop() (shutdown).
    deps.emit({
      type: "run-finished",
      run,
      outcome,
      accepted: false,
      durationMs,
      ...(active.abortReason === "shutdown" ? { returned: true as const } : {}),
    });
    return;
  }
  let completion: CompletionResult;
  try {
    const breaker = outcome === "failed" || outcome === "timed_out" ? await breakerOf(deps.store, run) : null;
    completion = await completeThroughOutage(deps, active, {
      runId: run.id,
      attempt: run.attempt,
      workerId: deps.workerId,
      now: Math.max(deps.clock.now(), started.wall),
      outcome,
      exitCode: result.exitCode,
      summary: result.summary,
      error,
      ...(result.usage ? { usage: result.usage } : {}),
      ...(result.costUsd !== undefined ? { costUsd: result.costUsd } : {}),
      turns: result.turns ?? null,
      sessionId: result.sessionId ?? null,
      // Nobody checked a success whose last tool call failed: it is flagged, never silent.
      ...(outcome === "succeeded" && result.lastToolFailed && !run.spec.verify ? { unverified: true } : {}),
      ...(result.retryNow && error?.code === "LOOPD_VERIFY_FAILED" ? { retryNow: true } : {}),
      ...(outcome === "succeeded" ? watchOf(run, result) : {}),
      ...(breaker ? { breaker } : {}),
      ...(run.spec.notify.length > 0
        ? {
            notify: {
              routineId: run.routineId,
              rules: run.spec.notify,
              payload: { routine: run.routineName, harness: run.spec.harness, durationMs },
            },
          }
        : {}),
    });
  } catch (error) {
    // The store is unreachable for longer than the lease holds: the run is recovered and
    // run again. Nothing is lost; it may run twice, never at once.
    deps.emit({ type: "error", error });
    return;
  }
  deps.emit({
    type: "run-finished",
    run,
    outcome,
    ...(verdict ? { verdict } : {}),
    accepted: completion.accepted,
    durationMs,
    ...(completion.accepted && !completion.final ? { retryAt: completion.retryAt } : {}),
  });
  if (completion.accepted && completion.final && completion.paused)
    deps.emit({ type: "routine-paused", routine: run.routineName, reason: "failing", error });
  if (completion.accepted && run.spec.harness !== "shell") await recordAuth(deps, run, error);
  // Other processes only need waking when something they wait for changed: runs released
  // from a wait, or a slot under a global cap. Otherwise a completion is nobody's business.
  if (completion.accepted && (completion.releasedRuns > 0 || deps.globalCapped())) await deps.notifyOthers();
}

/**
 * Records a completion; through a store outage it retries with backoff for as long as the
 * lease holds (the heartbeat keeps renewing it; the fence ends the wait when it cannot), so
 * a short outage does not make a finished run run again.
 */
async function completeThroughOutage(
  deps: RunAttemptDeps,
  active: ActiveRun,
  completion: Completion,
): Promise<CompletionResult> {
  for (let failures = 0; ; failures++) {
    try {
      const result = await deps.completions.complete(completion);
      deps.health.answered();
      return result;
    } catch (error) {
      if (!isConnectionFault(error) || active.abortReason !== undefined) throw error;
      deps.health.failed(error);
      await delay(retryDelayMs(failures));
      if (active.abortReason !== undefined) throw error;
    }
  }
}

/** The failure circuit breaker's threshold for a failed run: the routine's, the global one, or 5. */
async function breakerOf(store: Store, run: ClaimedRun): Promise<NonNullable<Completion["breaker"]>> {
  const global =
    run.spec.pauseAfter === undefined
      ? (await getSetting<ConfigSettings>(store.db, CONFIG_SETTING))?.failures?.pauseAfter
      : undefined;
  return {
    routineName: run.routineName,
    pauseAfter: pauseAfterOf(run.spec.pauseAfter, global),
    notify: run.spec.notify,
  };
}

/** Counts consecutive auth failures; the routine pauses itself at the configured threshold. */
async function recordAuth(
  deps: RunAttemptDeps,
  run: ClaimedRun,
  error: { code: string; message: string } | null,
): Promise<void> {
  const authError = error && AUTH_ERRORS.has(error.code) ? error : null;
  try {
    // The threshold matters only when there is a failure to count: most runs skip the read.
    const pauseAfter = authError
      ? ((await getSetting<ConfigSettings>(deps.store.db, CONFIG_SETTING))?.auth?.pauseAfter ??
        DEFAULT_AUTH_PAUSE_AFTER)
      : DEFAULT_AUTH_PAUSE_AFTER;
    const result = await recordAuthOutcome(deps.store, {
      routineId: run.routineId,
      routineName: run.routineName,
      runId: run.id,
      authError,
      pauseAfter,
      notify: run.spec.notify,
      now: deps.clock.now(),
    });
    if (result.paused)
      deps.emit({ type: "routine-paused", routine: run.routineName, reason: "auth", error: authError });
  } catch (failure) {
    deps.emit({ type: "error", error: failure });
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
