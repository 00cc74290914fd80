/**
 * The environment a run's process sees. Shell commands and agents get the allow-listed part
 * of the daemon's environment (harness/agent-env.ts) plus what the routine declares
 * (`secrets`, `env`, or everything with `inheritEnv: true`), and always the LOOPD_* run
 * context, so a script or agent can tell which run it is (and tests can check exactly-once
 * from outside). `runEnvironment` (the whole daemon environment) is what watch checks get.
 */
import { type AgentEnvironment, agentEnvironment } from "../harness/agent-env.js";
import { WORKER_MARKER } from "../lib/process-tree.js";
import type { ClaimedRun } from "../store/sql/claim-runs.js";

/** A shell run's environment and the secrets to redact from what it outputs. */
export function shellEnvironment(
  run: ClaimedRun,
  workspace: string,
  base: NodeJS.ProcessEnv = process.env,
): AgentEnvironment {
  const environment = agentEnvironment({
    base,
    harnessKeys: [],
    secretNames: run.spec.secrets,
    env: run.spec.env,
    context: runContext(run, workspace),
    inheritAll: run.spec.inheritEnv === true,
  });
  // A declared secret is redacted even when the command reads it from somewhere else.
  for (const name of run.spec.secrets) {
    const value = base[name];
    if (value !== undefined) environment.secrets.set(name, value);
  }
  return environment;
}

export function runEnvironment(
  run: ClaimedRun,
  workspace: string,
  base: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) if (value !== undefined) env[key] = value;
  return Object.assign(env, runContext(run, workspace));
}

/** Just the LOOPD_* run context. */
export function runContext(run: ClaimedRun, workspace: string): Record<string, string> {
  const env: Record<string, string> = {};
  env.LOOPD_RUN_ID = String(run.id);
  env.LOOPD_ROUTINE = run.routineName;
  env.LOOPD_ATTEMPT = String(run.attempt);
  env.LOOPD_DUE_AT = new Date(run.dueAt).toISOString();
  env.LOOPD_WORKSPACE = workspace;
  env.LOOPD_TRIGGER = run.trigger;
  // Marks every process of the attempt: when this worker dies, a loopd process on the same host
  // finds what the watchdog could not reach (a child in a session of its own) by it.
  env[WORKER_MARKER] = run.workerId;
  if (run.input !== null) env.LOOPD_INPUT = run.input;
  return env;
}
