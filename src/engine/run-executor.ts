/**
 * Executing one claimed run, whatever its harness: preflight (installed? logged in?), the
 * workspace (a warm worktree, or the repo in place), the agent's context (agent-context.ts),
 * an allow-listed environment, the harness itself under a spend watch (budget and token
 * velocity), and afterwards escape detection, the run's deliverable (its work committed on
 * the run branch, run-delivery.ts), artifacts and the memory update. Secrets are
 * redacted from every event and text that is stored. The engine owns leases, timeouts and
 * completion.
 */
import { LoopdError } from "../domain/errors.js";
import { tierOrder } from "../domain/router.js";
import type { ConfigSettings } from "../domain/settings.js";
import { agentEnvironment, createRedactor } from "../harness/agent-env.js";
import type { Harness, HarnessEvent, HarnessRegistry, HarnessResult } from "../harness/harness.js";
import { ToolOutcomes } from "../harness/tool-outcome.js";
import { recordHarnessHealth } from "../store/harness-health.js";
import {
  type RunArtifact,
  recordRunHead,
  recordRunWorkspace,
  saveRunArtifacts,
} from "../store/run-artifacts.js";
import { CONFIG_SETTING, getSetting } from "../store/settings.js";
import type { ClaimedRun } from "../store/sql/claim-runs.js";
import type { Store } from "../store/store.js";
import type { DeliverRequest } from "../workspace/deliver.js";
import type { Workspace, WorkspaceManager, WorkspaceReport } from "../workspace/workspaces.js";
import { agentInput, prepareMemory, saveMemory, type TierSettings } from "./agent-context.js";
import { type AttemptPlan, planAttempt, settleAttempt } from "./attempt-plan.js";
import { executeCheck, judgeAgentCheck } from "./check-run.js";
import { unavailable } from "./outcome.js";
import { redactError, redactEvent, redactResult } from "./redaction.js";
import { deliverRequest, recordWorkspaceOutcome } from "./run-delivery.js";
import { runContext, shellEnvironment } from "./run-environment.js";
import { overBudget, recordBudgetEvent, watchSpend } from "./spend-watch.js";
import { verifyAttempt } from "./verify.js";

export interface RunExecutorOptions {
  store: Store;
  harnesses: HarnessRegistry;
  /** Null: every run works in place (tests of the engine that need no git). */
  workspaces: WorkspaceManager | null;
  workerId: string;
  now: () => number;
  /** The daemon's environment, from which agents get an allow-listed part. */
  baseEnv?: NodeJS.ProcessEnv;
}

export interface ExecuteRequest {
  run: ClaimedRun;
  signal: AbortSignal;
  emit: (event: HarnessEvent) => void;
}

export class RunExecutor {
  constructor(private readonly options: RunExecutorOptions) {}

  async execute({ run, signal, emit }: ExecuteRequest): Promise<HarnessResult> {
    const harness = this.options.harnesses.get(run.spec.harness);
    if (!harness) return unavailable(run.spec.harness, this.options.harnesses);
    if (run.spec.check && run.spec.check.kind !== "agent") {
      return executeCheck({
        store: this.options.store,
        run,
        settings: (await getSetting<ConfigSettings>(this.options.store.db, CONFIG_SETTING)) ?? {},
        signal,
        emit,
        baseEnv: this.options.baseEnv ?? process.env,
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
    const settings = (await getSetting<ConfigSettings>(this.options.store.db, CONFIG_SETTING)) ?? {};
    if (run.spec.harness === "shell")
      return this.executeInWorkspace(run, harness, settings, null, signal, emit);

    const planned = await planAttempt(this.options.store, run, settings, this.options.now());
    if (!planned.ok) {
      if (planned.error.code === "LOOPD_BUDGET_EXCEEDED")
        await recordBudgetEvent(this.options.store, run, this.options.now(), planned.error.message);
      return failed(planned.error.code, planned.error.message);
    }
    const { plan } = planned;
    emit({
      type: "status",
      data: { event: "route", tier: plan.tier, reason: plan.reason, harness: plan.harness },
    });
    const routedHarness = this.options.harnesses.get(plan.harness);
    let result: HarnessResult | null = null;
    try {
      result = routedHarness
        ? await this.executeInWorkspace(run, routedHarness, settings, plan, signal, emit)
        : unavailable(plan.harness, this.options.harnesses);
      if (run.spec.check?.kind === "agent") {
        result = await judgeAgentCheck(
          { store: this.options.store, run, emit, now: this.options.now },
          result,
        );
      }
      return result;
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
      ).catch((error: unknown) => bookkeepingFailed(emit, "settling the budget", error));
    }
  }

  private async executeInWorkspace(
    run: ClaimedRun,
    harness: Harness,
    settings: ConfigSettings,
    plan: AttemptPlan | null,
    signal: AbortSignal,
    emitRaw: (event: HarnessEvent) => void,
  ): Promise<HarnessResult> {
    const { spec } = run;
    const isAgent = plan !== null;
    const tier: TierSettings | undefined = plan
      ? {
          ...(plan.model !== null ? { model: plan.model } : {}),
          ...(plan.baseUrl !== null ? { baseUrl: plan.baseUrl } : {}),
        }
      : undefined;
    const environment = isAgent
      ? agentEnvironment({
          base: this.options.baseEnv ?? process.env,
          harnessKeys: harness.envKeys ?? [],
          secretNames: spec.secrets,
          env: spec.env,
          context: runContext(run, spec.repo),
        })
      : shellEnvironment(run, spec.repo, this.options.baseEnv);
    for (const name of spec.secrets) {
      const value = (this.options.baseEnv ?? process.env)[name];
      if (value !== undefined) environment.secrets.set(name, value);
    }
    const redact = createRedactor(environment.secrets);
    const emit = (event: HarnessEvent) => emitRaw(redactEvent(event, redact));

    if (harness.preflight) {
      const preflight = await harness.preflight({
        env: environment.env,
        cwd: spec.repo,
        baseUrl: tier?.baseUrl ?? null,
        model: tier?.model ?? null,
        signal,
      });
      await this.recordHealth(harness.name, preflight, redactError(preflight.error, redact));
      emit({
        type: "status",
        data: {
          event: "preflight",
          harness: harness.name,
          version: preflight.version,
          auth: preflight.auth,
          authSource: preflight.authSource,
        },
      });
      if (preflight.error) {
        // Its hint is the specific fix (which CLI to install, how to log in): keep it as the run's.
        return failed(preflight.error.code, redact(preflight.error.message), redact(preflight.error.hint));
      }
    }

    let workspace: Workspace;
    try {
      workspace = await this.acquire(run, signal);
    } catch (error) {
      if (error instanceof LoopdError) return failed(error.code, error.message, error.hint);
      throw error;
    }
    let report: WorkspaceReport | null = null;
    let result: HarnessResult | null = null;
    const tools = new ToolOutcomes();
    try {
      await recordRunWorkspace(this.options.store.db, run.id, run.attempt, {
        path: workspace.cwd,
        branch: workspace.branch,
      });
      emit({
        type: "status",
        data: {
          event: "workspace",
          path: workspace.cwd,
          branch: workspace.branch,
          base: workspace.baseCommit,
        },
      });
      const env = { ...environment.env, LOOPD_WORKSPACE: workspace.cwd };
      const memory = spec.memory ? await prepareMemory(this.options.store.db, run, workspace) : null;
      const agent = isAgent
        ? await agentInput(
            run,
            settings,
            tier,
            workspace,
            memory,
            emit,
            harness.name,
            plan?.previousFailure ?? null,
          )
        : null;
      const spend = agent ? watchSpend(run, settings, agent.model, this.options.now) : null;
      const harnessSignal = spend ? AbortSignal.any([signal, spend.stop.signal]) : signal;
      const observed = (event: HarnessEvent) => {
        if (event.type === "usage") spend?.watch.observe(event.data);
        tools.observe(event);
        emit(event);
      };
      result = await harness.run(
        { ...baseInput(run, harnessSignal), cwd: workspace.cwd, env, agent },
        observed,
      );
      if (spend?.stop.signal.aborted && !signal.aborted) {
        result = overBudget(result, String(spend.stop.signal.reason));
        await recordBudgetEvent(
          this.options.store,
          run,
          this.options.now(),
          String(spend.stop.signal.reason),
        );
      } else if (result.error?.code === "LOOPD_BUDGET_EXCEEDED") {
        await recordBudgetEvent(this.options.store, run, this.options.now(), result.error.message);
      }
      if (result.error && HARNESS_HEALTH_ERRORS.has(result.error.code)) {
        // Credentials that passed preflight but were rejected mid-run: doctor's "last error".
        await this.recordHealth(
          harness.name,
          { installed: true, version: null, auth: "expired" },
          redactError(result.error, redact),
        );
      }
      if (result.outcome === "succeeded" && spec.verify && !signal.aborted) {
        result = await verifyAttempt({
          store: this.options.store,
          run,
          verify: spec.verify,
          cwd: workspace.cwd,
          env,
          signal,
          result,
          emit,
          redact,
          tiers: tierOrder(settings.models),
          tier: plan?.tier ?? null,
          now: this.options.now(),
        });
      }
      if (memory) {
        await saveMemory(
          this.options.store.db,
          this.options.now(),
          run,
          memory,
          result,
          settings,
          redact,
        ).catch((error: unknown) => bookkeepingFailed(emit, "saving the memory", error));
      }
    } finally {
      // Commits the work on the run branch (`deliver`) before the slot can be reused.
      const deliver = deliverRequest(run, workspace, settings, result, redact);
      report = await this.finish(workspace, result, deliver, signal);
    }
    if (report) {
      await this.saveArtifacts(run, report, result, redact).catch((error: unknown) =>
        bookkeepingFailed(emitRaw, "saving the diff and changed files", error),
      );
      await recordWorkspaceOutcome(this.options.store, run, report, emit, redact).catch((error: unknown) =>
        bookkeepingFailed(emitRaw, "recording the delivery", error),
      );
    }
    const final =
      report && report.escaped.length > 0
        ? escaped(result, report)
        : unchanged(result, report, spec.expect === "changes");
    return final
      ? redactResult({ ...final, lastToolFailed: tools.lastFailed }, redact)
      : failed("LOOPD_HARNESS_CRASHED", "the harness returned no result");
  }

  private async recordHealth(
    harness: string,
    state: { installed: boolean; version: string | null; auth: string },
    error: { code: string; message: string } | null,
  ): Promise<void> {
    await recordHarnessHealth(this.options.store.db, {
      harness,
      checkedAt: this.options.now(),
      workerId: this.options.workerId,
      installed: state.installed,
      version: state.version,
      auth: state.auth,
      error: error ? { code: error.code, message: error.message } : null,
    }).catch(() => {}); // doctor's history must never fail a run
  }

  private async acquire(run: ClaimedRun, signal: AbortSignal): Promise<Workspace> {
    const { spec } = run;
    if (!this.options.workspaces) {
      return {
        cwd: spec.repo,
        mode: "in-place",
        branch: null,
        baseCommit: null,
        repoDir: spec.repo,
      } as Workspace;
    }
    return this.options.workspaces.acquire({
      repo: spec.repo,
      routine: run.routineName,
      runId: run.id,
      attempt: run.attempt,
      mode: spec.workspace,
      ...(spec.base !== undefined ? { base: spec.base } : {}),
      signal,
    });
  }

  private async finish(
    workspace: Workspace,
    result: HarnessResult | null,
    deliver: DeliverRequest | null,
    signal: AbortSignal,
  ): Promise<WorkspaceReport | null> {
    if (!this.options.workspaces) return null;
    // A run stopped by a timeout or cancel did not succeed, whatever its harness returned: never pushed.
    const succeeded = result?.outcome === "succeeded" && !signal.aborted;
    return this.options.workspaces.finish(workspace, { succeeded, deliver });
  }

  private async saveArtifacts(
    run: ClaimedRun,
    report: WorkspaceReport,
    result: HarnessResult | null,
    redact: (text: string) => string,
  ): Promise<void> {
    const createdAt = this.options.now();
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
    await saveRunArtifacts(this.options.store.db, artifacts);
    if (report.headCommit) await recordRunHead(this.options.store.db, run.id, run.attempt, report.headCommit);
  }
}

const HARNESS_HEALTH_ERRORS = new Set([
  "LOOPD_AUTH_EXPIRED",
  "LOOPD_AUTH_MISSING",
  "LOOPD_HARNESS_NOT_INSTALLED",
]);

function baseInput(run: ClaimedRun, signal: AbortSignal) {
  return {
    runId: run.id,
    routine: run.routineName,
    spec: run.spec,
    attempt: run.attempt,
    dueAt: run.dueAt,
    input: run.input,
    signal,
  };
}

function isLoopdFile(path: string): boolean {
  return path === ".loopd" || path.startsWith(".loopd/");
}

function failed(code: string, message: string, hint?: string): HarnessResult {
  const error = hint !== undefined ? { code, message, hint } : { code, message };
  return { outcome: "failed", exitCode: null, summary: null, error };
}

/** Bookkeeping after the agent finished failed: say so in the run's log, keep the result. */
function bookkeepingFailed(emit: (event: HarnessEvent) => void, what: string, error: unknown): void {
  emit({
    type: "status",
    data: {
      event: "warning",
      message: `${what} failed: ${error instanceof Error ? error.message : String(error)}`,
    },
  });
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
