/**
 * Running a built-in loop's tick (a routine with `loop:`) as the run: the tick gets its
 * context here — the per-item memory (`loop_items`), the run's log, notifications, and
 * `runAgent`, which executes one ordinary agent attempt of this same run (routing, budget,
 * ledger, worktree, verify, `deliver: commit`) from a ref the tick chose. The tick's summary
 * is the run's; the agent attempt's usage and cost, when there was one, are the run's too.
 */
import type { ConfigSettings } from "../domain/settings.js";
import type { HarnessEvent, HarnessResult } from "../harness/harness.js";
import { type AgentJob, type AgentJobResult, LOOP_TICKS } from "../loops/index.js";
import { feedbackClusters, feedbackItems, saveFeedback } from "../store/feedback.js";
import { deleteLoopItems, loopItems, putLoopItem } from "../store/loop-items.js";
import { enqueueEvent } from "../store/outbox.js";
import { findRun } from "../store/runs.js";
import type { ClaimedRun } from "../store/sql/claim-runs.js";
import type { Store } from "../store/store.js";
import { pruneTestResults, recentTestResults, recordTestResults } from "../store/test-results.js";
import { openLoopCommandSandbox } from "./loop-commands.js";
import { cheapLoopModel } from "./loop-model.js";
import { runEnvironment } from "./run-environment.js";

/** Runs of test results a routine keeps (its `window` looks at fewer). */
const TEST_RESULT_RUNS_KEPT = 500;

export interface LoopRunOptions {
  store: Store;
  run: ClaimedRun;
  settings: ConfigSettings;
  signal: AbortSignal;
  emit: (event: HarnessEvent) => void;
  baseEnv: NodeJS.ProcessEnv;
  now: () => number;
  /** Executes the run as an ordinary agent attempt (the executor's own path). */
  executeAgent: (run: ClaimedRun) => Promise<HarnessResult>;
}

export async function executeLoop(options: LoopRunOptions): Promise<HarnessResult> {
  const { store, run, emit, now } = options;
  const loop = run.spec.loop;
  const tick = loop ? LOOP_TICKS[loop.kind] : undefined;
  if (!loop || !tick) {
    return failed(
      "LOOPD_CONFIG_INVALID",
      `routine ${run.routineName} names an unknown loop ${loop?.kind ?? ""}`,
    );
  }
  const db = store.db;
  const commandEnv = { ...runEnvironment(run, run.spec.repo, options.baseEnv), ...run.spec.env };
  try {
    const outcome = await tick({
      run: { id: run.id, attempt: run.attempt, routineName: run.routineName, trigger: run.trigger },
      spec: run.spec,
      loop,
      env: options.baseEnv,
      commandEnv,
      githubApiUrl: options.settings.github?.apiUrl,
      signal: options.signal,
      now,
      log: (line) => emit({ type: "log", stream: "stdout", line }),
      items: {
        all: () => loopItems(db, run.routineId),
        put: (item, state) => putLoopItem(db, run.routineId, item, state, now()),
        forget: (items) => deleteLoopItems(db, run.routineId, items),
      },
      tests: {
        record: async (results) => {
          await recordTestResults(db, run.routineId, run.id, results);
          await pruneTestResults(db, run.routineId, TEST_RESULT_RUNS_KEPT);
        },
        recent: (runs) => recentTestResults(db, run.routineId, runs),
      },
      feedback: {
        items: () => feedbackItems(db, run.routineId),
        clusters: () => feedbackClusters(db, run.routineId),
        save: (changes) => saveFeedback(db, run.routineId, changes),
      },
      commandSandbox: (input) =>
        openLoopCommandSandbox(
          {
            run,
            settings: options.settings,
            baseEnv: options.baseEnv,
            commandEnv,
            signal: options.signal,
            emit,
          },
          input,
        ),
      runAgent: (job) => runAgent(options, job),
      model: cheapLoopModel({
        store,
        run,
        settings: options.settings,
        env: options.baseEnv,
        signal: options.signal,
        now,
      }),
      notify: ({ kind, summary, url }) =>
        enqueueEvent(db, {
          type: `loop.${kind}`,
          kind: kind === "fixed" ? "success" : kind === "report" ? "report" : "failure",
          routineId: run.routineId,
          runId: run.id,
          payload: { routine: run.routineName, runId: run.id, summary, url },
          notify: run.spec.notify,
          now: now(),
        }),
    });
    const agent = outcome.agent;
    return {
      outcome: outcome.error ? "failed" : "succeeded",
      exitCode: null,
      summary: outcome.summary,
      error: outcome.error ?? null,
      ...(agent?.usage ? { usage: agent.usage } : {}),
      ...(agent?.costUsd !== undefined ? { costUsd: agent.costUsd } : {}),
      ...(agent?.modelUsage ? { modelUsage: agent.modelUsage } : {}),
      ...(agent?.turns !== undefined ? { turns: agent.turns } : {}),
    };
  } catch (error) {
    if (options.signal.aborted) throw error;
    const { code, message, hint } = error as { code?: string; message?: string; hint?: string };
    return failed(code ?? "LOOPD_RUN_FAILED", message ?? String(error), hint);
  }
}

/** The same run as an agent attempt: the routine's prompt with the tick's job as input, from the job's base. */
async function runAgent(options: LoopRunOptions, job: AgentJob): Promise<AgentJobResult> {
  const { run } = options;
  const { loop: _loop, ...spec } = run.spec;
  const result = await options.executeAgent({
    ...run,
    input: job.input,
    spec: { ...spec, base: job.base, deliver: "commit" },
  });
  const delivery = (await findRun(options.store.db, run.id))?.delivery ?? null;
  return { result, commit: delivery?.commit ?? null };
}

function failed(code: string, message: string, hint?: string): HarnessResult {
  return {
    outcome: "failed",
    exitCode: null,
    summary: null,
    error: hint !== undefined ? { code, message, hint } : { code, message },
  };
}
