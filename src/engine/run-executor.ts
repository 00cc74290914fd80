/**
 * Executing one claimed run, whatever its harness: a check (check-run.ts), the user's shell
 * command in its repo, or an attempt in a workspace — for agents after routing (the tier, the
 * model, a budget reservation settled whatever happens). An attempt in a workspace goes
 * through named steps, each in its own file:
 *
 *   prepare     the environment and the redactor, the harness's preflight     attempt-prepare.ts
 *   workspace   a warm worktree, or the repo in place
 *   context     where it works, memory, the agent's prompt and docs
 *   harness     the run under its spend watch; budget and credential events   attempt-harness.ts
 *   verify      `verify` on a success; the memory update
 *   deliver     the work committed on the run branch (and pushed)             attempt-finish.ts
 *   finish      artifacts, the delivery recorded, escapes and `expect: changes`
 *
 * Secrets are redacted from every event and text that is stored. The engine owns leases,
 * timeouts and completion.
 */
import type { ConfigSettings } from "../domain/settings.js";
import { createRedactor } from "../harness/agent-env.js";
import type { HarnessEvent, HarnessRegistry, HarnessResult } from "../harness/harness.js";
import { ToolOutcomes } from "../harness/tool-outcome.js";
import { CONFIG_SETTING, getSetting } from "../store/settings.js";
import type { ClaimedRun } from "../store/sql/claim-runs.js";
import type { Store } from "../store/store.js";
import type { WorkspaceManager, WorkspaceReport } from "../workspace/workspaces.js";
import { type AttemptDeps, baseInput, bookkeepingFailed, failed } from "./attempt.js";
import { deliverWork, finalResult, recordWork } from "./attempt-finish.js";
import { recordHarnessEvents, remember, runHarness, verify } from "./attempt-harness.js";
import { type MeteringSlot, planAttempt, settleAttempt } from "./attempt-plan.js";
import {
  type AttemptRequest,
  acquireWorkspace,
  buildContext,
  passPreflight,
  prepareAttempt,
} from "./attempt-prepare.js";
import { executeCheck, judgeAgentCheck } from "./check-run.js";
import type { GatewayHost } from "./gateway-host.js";
import { executeLoop } from "./loop-run.js";
import { routineVelocityRefusal } from "./metering.js";
import { unavailable } from "./outcome.js";
import { redactEvent, redactResult } from "./redaction.js";
import { shellEnvironment } from "./run-environment.js";
import { recordBudgetEvent } from "./spend-watch.js";

export interface RunExecutorOptions {
  store: Store;
  harnesses: HarnessRegistry;
  /** Null: every run works in place (tests of the engine that need no git). */
  workspaces: WorkspaceManager | null;
  workerId: string;
  now: () => number;
  /** The daemon's environment, from which agents get an allow-listed part. */
  baseEnv?: NodeJS.ProcessEnv;
  /** The process's metering gateway, started on first use; none: every attempt is metered as reported. */
  gateway?: GatewayHost | null;
}

export interface ExecuteRequest {
  run: ClaimedRun;
  signal: AbortSignal;
  emit: (event: HarnessEvent) => void;
}

export class RunExecutor {
  private readonly deps: AttemptDeps;

  constructor(private readonly options: RunExecutorOptions) {
    this.deps = {
      store: options.store,
      workspaces: options.workspaces,
      workerId: options.workerId,
      now: options.now,
      baseEnv: options.baseEnv ?? process.env,
      gateway: options.gateway ?? null,
    };
  }

  async execute({ run, signal, emit }: ExecuteRequest): Promise<HarnessResult> {
    if (run.spec.loop) {
      // A built-in loop's tick first: it starts an agent attempt of this run only when there is work for one.
      return executeLoop({
        store: this.options.store,
        run,
        settings: await this.settings(),
        signal,
        emit,
        baseEnv: this.deps.baseEnv,
        now: this.options.now,
        executeAgent: (agentRun) => this.execute({ run: agentRun, signal, emit }),
      });
    }
    const harness = this.options.harnesses.get(run.spec.harness);
    if (!harness) return unavailable(run.spec.harness, this.options.harnesses);
    if (run.spec.check && run.spec.check.kind !== "agent") {
      return executeCheck({
        store: this.options.store,
        run,
        settings: await this.settings(),
        signal,
        emit,
        baseEnv: this.deps.baseEnv,
        now: this.options.now,
      });
    }
    if (run.spec.harness === "shell" && run.spec.workspace === "in-place") {
      // The simplest path stays simple: the user's own command, in the repo; like every run it
      // sees the allow-listed environment, and its output is redacted before it is stored.
      const environment = shellEnvironment(run, run.spec.repo, this.options.baseEnv);
      const redact = createRedactor(environment.secrets);
      const result = await harness.run(
        { ...baseInput(run, signal), cwd: run.spec.repo, env: environment.env, agent: null },
        (event) => emit(redactEvent(event, redact)),
      );
      return redactResult(result, redact);
    }
    const settings = await this.settings();
    if (run.spec.harness === "shell")
      return executeInWorkspace(this.deps, { run, harness, settings, plan: null, signal, emit });
    return this.executeRouted(run, settings, signal, emit);
  }

  /** An agent run: routed to a tier (and maybe another harness), its spend settled whatever happens. */
  private async executeRouted(
    run: ClaimedRun,
    settings: ConfigSettings,
    signal: AbortSignal,
    emit: (event: HarnessEvent) => void,
  ): Promise<HarnessResult> {
    // A routine spending faster than its velocity alarm (runs firing every few seconds) is paused, not started.
    const velocity = await routineVelocityRefusal(this.options.store, run, settings, this.options.now());
    if (velocity) {
      await recordBudgetEvent(this.options.store, run, this.options.now(), velocity.message);
      return failed("LOOPD_BUDGET_EXCEEDED", velocity.message, velocity.hint);
    }
    const planned = await planAttempt(this.options.store, run, settings, this.options.now());
    if (!planned.ok) {
      if (planned.error.code === "LOOPD_BUDGET_EXCEEDED")
        await recordBudgetEvent(this.options.store, run, this.options.now(), planned.error.message);
      return failed(planned.error.code, planned.error.message, planned.error.hint);
    }
    const { plan } = planned;
    emit({
      type: "status",
      data: { event: "route", tier: plan.tier, reason: plan.reason, harness: plan.harness },
    });
    const routedHarness = this.options.harnesses.get(plan.harness);
    const metering: MeteringSlot = { meter: null, reportedBecause: null };
    let result: HarnessResult | null = null;
    try {
      result = routedHarness
        ? await executeInWorkspace(this.deps, {
            run,
            harness: routedHarness,
            settings,
            plan,
            signal,
            emit,
            metering,
          })
        : unavailable(plan.harness, this.options.harnesses);
      if (run.spec.check?.kind === "agent") {
        result = await judgeAgentCheck(
          { store: this.options.store, run, emit, now: this.options.now },
          result,
        );
      }
    } finally {
      // Spend is recorded whatever happened, so budgets count every dollar. A store hiccup
      // here must not throw away a finished agent run (it would run, and be paid for, again):
      // the reservation stays open until the stale-reservation sweep releases it.
      await settleAttempt(
        this.options.store,
        run,
        plan,
        result ?? failed("LOOPD_HARNESS_CRASHED", "no result"),
        this.options.now(),
        metering,
      ).catch((error: unknown) => bookkeepingFailed(emit, "settling the budget", error));
    }
    return gatewayTotals(result ?? failed("LOOPD_HARNESS_CRASHED", "no result"), metering);
  }

  private async settings(): Promise<ConfigSettings> {
    return (await getSetting<ConfigSettings>(this.options.store.db, CONFIG_SETTING)) ?? {};
  }
}

/**
 * A gateway-metered attempt's usage and cost are what the gateway saw (the ledger's rows), not
 * what the harness reported: the run's totals then agree with `loopd costs`, also for a run
 * killed before its harness could report anything.
 */
function gatewayTotals(result: HarnessResult, metering: MeteringSlot): HarnessResult {
  if (!metering.meter) return result;
  const { modelUsage, usage, costUsd } = metering.meter.totals();
  return { ...result, usage, costUsd, modelUsage };
}

/** One attempt in a workspace, step by step (see the table at the top). */
async function executeInWorkspace(deps: AttemptDeps, request: AttemptRequest): Promise<HarnessResult> {
  const attempt = prepareAttempt(deps, request);
  const refused = await passPreflight(deps, attempt);
  if (refused) return refused;
  const acquired = await acquireWorkspace(deps, attempt);
  if (!acquired.ok) return acquired.result;
  const { workspace } = acquired;

  const tools = new ToolOutcomes();
  let result: HarnessResult | null = null;
  let report: WorkspaceReport | null = null;
  try {
    const context = await buildContext(deps, attempt, workspace);
    const ran = await runHarness(deps, attempt, context, tools);
    result = ran.result;
    await recordHarnessEvents(deps, attempt, ran);
    result = await verify(deps, attempt, context, result);
    await remember(deps, attempt, context, result);
  } finally {
    // Whatever happened, the workspace is finished before its slot can be reused.
    report = await deliverWork(deps, attempt, workspace, result);
  }
  if (report) await recordWork(deps, attempt, report, result);
  return finalResult(attempt, report, result, tools);
}
