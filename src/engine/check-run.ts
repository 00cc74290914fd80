/**
 * Executing a watch's check (every kind but `agent`, which runs as an agent attempt and is
 * judged by `judgeAgentCheck`): in the repo folder, with the run's environment, its output
 * streamed as run events. The result becomes the run's summary, its evidence an artifact,
 * and its verdict the completion's.
 */
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { parseAgentAnswer } from "../checks/agent-check.js";
import { evaluateCommandCheck, evaluateTestRetry } from "../checks/command.js";
import { evaluateGithubCheck, resolveGithubAccess } from "../checks/github.js";
import { evaluateHttpCheck } from "../checks/http.js";
import type { CheckResult, CheckSpec } from "../domain/check.js";
import type { ConfigSettings } from "../domain/settings.js";
import type { HarnessEvent, HarnessResult } from "../harness/harness.js";
import { saveRunArtifacts } from "../store/run-artifacts.js";
import type { ClaimedRun } from "../store/sql/claim-runs.js";
import type { Store } from "../store/store.js";
import { runEnvironment } from "./run-environment.js";

export interface CheckRunOptions {
  store: Store;
  run: ClaimedRun;
  settings: ConfigSettings;
  signal: AbortSignal;
  emit: (event: HarnessEvent) => void;
  baseEnv: NodeJS.ProcessEnv;
  now: () => number;
}

export async function executeCheck(options: CheckRunOptions): Promise<HarnessResult> {
  const { run, signal, emit } = options;
  const check = run.spec.check;
  if (!check || check.kind === "agent") throw new Error("executeCheck runs non-agent checks");
  // Command checks run in the repo; the others do not touch files, so any folder will do.
  const cwd = existsSync(run.spec.repo) ? run.spec.repo : tmpdir();
  const env = { ...runEnvironment(run, cwd, options.baseEnv), ...run.spec.env };
  const result = await evaluate(check, {
    cwd,
    env,
    signal,
    onLine: (stream, line) => emit({ type: "log", stream, line }),
    settings: options.settings,
  });
  return recordCheck(options, result);
}

/** The verdict of an agent check, from the agent's final message (a failed agent run stays failed). */
export async function judgeAgentCheck(
  options: Omit<CheckRunOptions, "signal" | "baseEnv" | "settings">,
  agentResult: HarnessResult,
): Promise<HarnessResult> {
  if (agentResult.outcome !== "succeeded") return agentResult;
  const verdict = parseAgentAnswer(agentResult.finalMessage ?? agentResult.summary);
  return { ...(await recordCheck(options, verdict)), ...usageOf(agentResult) };
}

async function evaluate(
  check: Exclude<CheckSpec, { kind: "agent" }>,
  context: {
    cwd: string;
    env: Record<string, string>;
    signal: AbortSignal;
    onLine: (stream: "stdout" | "stderr", line: string) => void;
    settings: ConfigSettings;
  },
): Promise<CheckResult> {
  switch (check.kind) {
    case "command":
      return evaluateCommandCheck(check, context);
    case "test-retry":
      return evaluateTestRetry(check, context);
    case "http":
      return evaluateHttpCheck(check, { signal: context.signal });
    case "github": {
      const access = await resolveGithubAccess(context.env, context.settings.github?.apiUrl);
      return evaluateGithubCheck(check, { access, signal: context.signal });
    }
  }
}

async function recordCheck(
  options: Pick<CheckRunOptions, "store" | "run" | "emit" | "now">,
  result: CheckResult,
): Promise<HarnessResult> {
  const { run } = options;
  options.emit({
    type: "status",
    data: {
      event: "check",
      status: result.status,
      summary: result.summary,
      ...(result.error ? { error: result.error } : {}),
    },
  });
  await saveRunArtifacts(options.store.db, [
    {
      runId: run.id,
      attempt: run.attempt,
      kind: "check",
      content: JSON.stringify(result),
      createdAt: options.now(),
    },
  ]);
  return {
    outcome: result.status === "error" ? "failed" : "succeeded",
    exitCode: null,
    summary: result.summary,
    error:
      result.status === "error"
        ? (result.error ?? { code: "LOOPD_CHECK_ERROR", message: result.summary })
        : null,
    check: result,
  };
}

function usageOf(result: HarnessResult): Partial<HarnessResult> {
  return {
    ...(result.usage ? { usage: result.usage } : {}),
    ...(result.costUsd !== undefined ? { costUsd: result.costUsd } : {}),
    ...(result.modelUsage ? { modelUsage: result.modelUsage } : {}),
    ...(result.turns !== undefined ? { turns: result.turns } : {}),
    ...(result.sessionId !== undefined ? { sessionId: result.sessionId } : {}),
    ...(result.finalMessage !== undefined ? { finalMessage: result.finalMessage } : {}),
  };
}
