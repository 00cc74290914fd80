/**
 * One attempt of a run in its workspace, as the steps of run-executor.ts see it: what they
 * need from the executor (`AttemptDeps`), what they share (`Attempt`: the run, its harness and
 * route, the environment and the redactor), and the small results they hand back.
 */
import type { ConfigSettings } from "../domain/settings.js";
import type { Harness, HarnessEvent, HarnessResult } from "../harness/harness.js";
import { recordHarnessHealth } from "../store/harness-health.js";
import type { ClaimedRun } from "../store/sql/claim-runs.js";
import type { Store } from "../store/store.js";
import type { WorkspaceManager } from "../workspace/workspaces.js";
import type { TierSettings } from "./agent-context.js";
import type { AttemptPlan, MeteringSlot } from "./attempt-plan.js";
import type { GatewayHost } from "./gateway-host.js";

export interface AttemptDeps {
  store: Store;
  /** Null: every run works in place (tests of the engine that need no git). */
  workspaces: WorkspaceManager | null;
  workerId: string;
  now: () => number;
  /** The daemon's environment, from which runs get an allow-listed part. */
  baseEnv: NodeJS.ProcessEnv;
  /** The process's metering gateway (started on first use); null: attempts are metered as reported. */
  gateway: GatewayHost | null;
}

export interface Attempt {
  run: ClaimedRun;
  harness: Harness;
  settings: ConfigSettings;
  /** The route of an agent run (tier, model, reservation); null for a shell command. */
  plan: AttemptPlan | null;
  /** The routed tier's model and endpoint, for agent runs. */
  tier: TierSettings | undefined;
  signal: AbortSignal;
  /** The allow-listed environment the harness runs with. */
  env: Record<string, string>;
  redact: (text: string) => string;
  /** Redacts before it records: what the run's log gets. */
  emit: (event: HarnessEvent) => void;
  /** The engine's own sink: for warnings about loopd's bookkeeping, which holds no secrets. */
  emitRaw: (event: HarnessEvent) => void;
  /** How the attempt's spend is counted, filled in when the harness starts (agent runs only). */
  metering?: MeteringSlot;
}

export function failed(code: string, message: string, hint?: string): HarnessResult {
  const error = hint !== undefined ? { code, message, hint } : { code, message };
  return { outcome: "failed", exitCode: null, summary: null, error };
}

/** Bookkeeping after the agent finished failed: say so in the run's log, keep the result. */
export function bookkeepingFailed(emit: (event: HarnessEvent) => void, what: string, error: unknown): void {
  emit({
    type: "status",
    data: {
      event: "warning",
      message: `${what} failed: ${error instanceof Error ? error.message : String(error)}`,
    },
  });
}

/** What every harness is told about the run, whatever its folder and environment. */
export function baseInput(run: ClaimedRun, signal: AbortSignal) {
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

/** Doctor's history of a harness (installed? logged in? last error); it never fails a run. */
export async function recordHealth(
  deps: AttemptDeps,
  harness: string,
  state: { installed: boolean; version: string | null; auth: string },
  error: { code: string; message: string } | null,
): Promise<void> {
  await recordHarnessHealth(deps.store.db, {
    harness,
    checkedAt: deps.now(),
    workerId: deps.workerId,
    installed: state.installed,
    version: state.version,
    auth: state.auth,
    error: error ? { code: error.code, message: error.message } : null,
  }).catch(() => {});
}
