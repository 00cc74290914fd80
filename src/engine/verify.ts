/**
 * Verification: the routine's `verify` command (a test suite, a linter, a check script) run in
 * the attempt's workspace after the agent says it is done. Exit 0 means verified; anything
 * else fails the attempt with LOOPD_VERIFY_FAILED, which the router answers by escalating to
 * the next tier. Cheap and reliable beats a model's opinion of its own work.
 *
 * It runs code the agent may just have written (`npm test` after the agent edited the tests),
 * so a sandboxed run's verify runs in the run's profile too (command-sandbox.ts: its worktree,
 * its allowed hosts, no model key), without a second `sandbox` record; `required` without
 * working confinement fails the verification instead of running it unconfined.
 */
import { nextTier } from "../domain/router.js";
import { maxAttemptsOf } from "../domain/routine-spec.js";
import type { HarnessEvent, HarnessResult } from "../harness/harness.js";
import { openCommandSandbox } from "../harness/sandbox/command-sandbox.js";
import type { SandboxRequest } from "../harness/sandbox/request.js";
import { runShellCommand } from "../lib/shell-command.js";
import { saveRunArtifacts } from "../store/run-artifacts.js";
import type { ClaimedRun } from "../store/sql/claim-runs.js";
import type { Store } from "../store/store.js";

export interface VerifyResult {
  passed: boolean;
  exitCode: number | null;
  /** Last lines of the command's output, for the run's error and the next tier's context. */
  tail: string;
  /** It ran in the run's sandbox. */
  confined?: boolean;
}

export async function runVerification(
  verify: { command: string; timeoutMs: number },
  cwd: string,
  env: Record<string, string>,
  signal: AbortSignal,
  confinement: {
    request: SandboxRequest | null;
    harness: string;
    emit: (event: HarnessEvent) => void;
  } | null = null,
): Promise<VerifyResult> {
  const opened = confinement
    ? await openCommandSandbox({ ...confinement, cwd, env, quiet: true })
    : ({ kind: "none" } as const);
  if (opened.kind === "refused")
    return { passed: false, exitCode: null, tail: `could not start: ${opened.error.message}` };
  const sandbox = opened.kind === "confined" ? opened.sandbox : null;
  try {
    const result = await runShellCommand(verify.command, {
      cwd,
      env,
      signal,
      timeoutMs: verify.timeoutMs,
      confine: sandbox,
    });
    const tail = result.spawnError ? `could not start: ${result.spawnError}` : result.tail;
    return {
      passed: result.exitCode === 0,
      exitCode: result.exitCode,
      tail,
      ...(sandbox !== null ? { confined: true } : {}),
    };
  } finally {
    await sandbox?.close();
  }
}

/**
 * Runs the routine's `verify` after a successful attempt and records its output. A failure
 * fails the attempt; it is retried at once when a stronger tier is left to escalate to.
 */
export async function verifyAttempt(options: {
  store: Store;
  run: ClaimedRun;
  verify: { command: string; timeoutMs: number };
  cwd: string;
  env: Record<string, string>;
  signal: AbortSignal;
  result: HarnessResult;
  emit: (event: HarnessEvent) => void;
  redact: (text: string) => string;
  /** Tier names cheap → strong, and the tier of this attempt (null when not routed). */
  tiers: readonly string[];
  tier: string | null;
  now: number;
  /** The run's sandbox request (null: unconfined) and its harness (whose HOME layout it gets). */
  sandbox?: { request: SandboxRequest | null; harness: string } | null;
}): Promise<HarnessResult> {
  const { run, verify, result } = options;
  const confinement = options.sandbox?.request ? { ...options.sandbox, emit: options.emit } : null;
  const check = await runVerification(verify, options.cwd, options.env, options.signal, confinement);
  const tail = options.redact(check.tail);
  options.emit({
    type: "status",
    data: {
      event: "verify",
      command: verify.command,
      passed: check.passed,
      exitCode: check.exitCode,
      ...(check.confined ? { confined: true } : {}),
    },
  });
  await saveRunArtifacts(options.store.db, [
    { runId: run.id, attempt: run.attempt, kind: "verify", content: tail, createdAt: options.now },
  ]);
  if (check.passed) return result;
  const last = tail.split("\n").at(-1) ?? "";
  const escalates =
    options.tier !== null &&
    nextTier(run.spec, options.tiers, options.tier) !== null &&
    run.attempt < maxAttemptsOf(run.spec);
  return {
    ...result,
    outcome: "failed",
    ...(escalates ? { retryNow: true } : {}),
    error: {
      code: "LOOPD_VERIFY_FAILED",
      message: `verification \`${verify.command}\` exited with ${check.exitCode}${last ? `: ${last}` : ""}`,
    },
  };
}
