/**
 * Before the harness runs: the attempt's environment and redactor, the harness's preflight
 * (installed? logged in?), the workspace (a warm worktree, or the repo in place) and the
 * context it works with (memory, the agent's prompt and docs).
 */
import { LoopdError } from "../domain/errors.js";
import type { ConfigSettings } from "../domain/settings.js";
import { agentEnvironment, createRedactor } from "../harness/agent-env.js";
import type { AgentInput, Harness, HarnessEvent, HarnessResult } from "../harness/harness.js";
import { recordRunWorkspace } from "../store/run-artifacts.js";
import type { ClaimedRun } from "../store/sql/claim-runs.js";
import type { Workspace } from "../workspace/workspaces.js";
import { agentInput, type PreparedMemory, prepareMemory } from "./agent-context.js";
import { type Attempt, type AttemptDeps, failed, recordHealth } from "./attempt.js";
import type { AttemptPlan, MeteringSlot } from "./attempt-plan.js";
import { redactError, redactEvent } from "./redaction.js";
import { runContext, shellEnvironment } from "./run-environment.js";

/** What one attempt in a workspace is asked to do (run-executor.ts hands it on whole). */
export interface AttemptRequest {
  run: ClaimedRun;
  harness: Harness;
  settings: ConfigSettings;
  plan: AttemptPlan | null;
  signal: AbortSignal;
  emit: (event: HarnessEvent) => void;
  metering?: MeteringSlot;
}

/** The attempt's environment (allow-listed; agents also get their harness's keys) and redactor. */
export function prepareAttempt(deps: AttemptDeps, request: AttemptRequest): Attempt {
  const { run, harness, plan } = request;
  const { spec } = run;
  const environment = plan
    ? agentEnvironment({
        base: deps.baseEnv,
        harnessKeys: harness.envKeys ?? [],
        secretNames: spec.secrets,
        env: spec.env,
        context: runContext(run, spec.repo),
      })
    : shellEnvironment(run, spec.repo, deps.baseEnv);
  for (const name of spec.secrets) {
    const value = deps.baseEnv[name];
    if (value !== undefined) environment.secrets.set(name, value);
  }
  const redact = createRedactor(environment.secrets);
  return {
    ...request,
    tier: plan
      ? {
          ...(plan.model !== null ? { model: plan.model } : {}),
          ...(plan.baseUrl !== null ? { baseUrl: plan.baseUrl } : {}),
        }
      : undefined,
    env: environment.env,
    redact,
    emit: (event) => request.emit(redactEvent(event, redact)),
    emitRaw: request.emit,
  };
}

/**
 * Asks the harness whether it can run (installed, credentials) and records the answer for
 * doctor. Returns the failed result when it cannot, with its specific hint; null to go on.
 */
export async function passPreflight(deps: AttemptDeps, attempt: Attempt): Promise<HarnessResult | null> {
  const { harness, redact } = attempt;
  if (!harness.preflight) return null;
  const preflight = await harness.preflight({
    env: attempt.env,
    cwd: attempt.run.spec.repo,
    baseUrl: attempt.tier?.baseUrl ?? null,
    model: attempt.tier?.model ?? null,
    signal: attempt.signal,
  });
  await recordHealth(deps, harness.name, preflight, redactError(preflight.error, redact));
  attempt.emit({
    type: "status",
    data: {
      event: "preflight",
      harness: harness.name,
      version: preflight.version,
      auth: preflight.auth,
      authSource: preflight.authSource,
    },
  });
  if (!preflight.error) return null;
  // Its hint is the specific fix (which CLI to install, how to log in): keep it as the run's.
  return failed(preflight.error.code, redact(preflight.error.message), redact(preflight.error.hint));
}

/** The attempt's workspace; a coded refusal (repo missing, dirty, locked) is the run's failure. */
export async function acquireWorkspace(
  deps: AttemptDeps,
  attempt: Attempt,
): Promise<{ ok: true; workspace: Workspace } | { ok: false; result: HarnessResult }> {
  const { run, signal } = attempt;
  const { spec } = run;
  if (!deps.workspaces) {
    const inPlace = { cwd: spec.repo, mode: "in-place", branch: null, baseCommit: null, repoDir: spec.repo };
    return { ok: true, workspace: inPlace as Workspace };
  }
  try {
    const workspace = await deps.workspaces.acquire({
      repo: spec.repo,
      routine: run.routineName,
      runId: run.id,
      attempt: run.attempt,
      mode: spec.workspace,
      ...(spec.base !== undefined ? { base: spec.base } : {}),
      signal,
    });
    return { ok: true, workspace };
  } catch (error) {
    if (error instanceof LoopdError)
      return { ok: false, result: failed(error.code, error.message, error.hint) };
    throw error;
  }
}

export interface AttemptContext {
  workspace: Workspace;
  /** The attempt's environment with LOOPD_WORKSPACE. */
  env: Record<string, string>;
  /** The routine's memory as the attempt starts (`memory: true`). */
  memory: PreparedMemory | null;
  /** The agent's prompt, docs and model; null for a shell command. */
  agent: AgentInput | null;
}

/** Records where the attempt works, and builds what it is told: memory, prompt, docs. */
export async function buildContext(
  deps: AttemptDeps,
  attempt: Attempt,
  workspace: Workspace,
): Promise<AttemptContext> {
  const { run, plan } = attempt;
  await recordRunWorkspace(deps.store.db, run.id, run.attempt, {
    path: workspace.cwd,
    branch: workspace.branch,
  });
  attempt.emit({
    type: "status",
    data: { event: "workspace", path: workspace.cwd, branch: workspace.branch, base: workspace.baseCommit },
  });
  const memory = run.spec.memory ? await prepareMemory(deps.store.db, run, workspace) : null;
  const agent = plan
    ? await agentInput(
        run,
        attempt.settings,
        attempt.tier,
        workspace,
        memory,
        attempt.emit,
        attempt.harness.name,
        plan.previousFailure,
      )
    : null;
  return { workspace, env: { ...attempt.env, LOOPD_WORKSPACE: workspace.cwd }, memory, agent };
}
