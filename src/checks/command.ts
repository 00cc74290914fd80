/**
 * The `command` and `testRetry` checks: exit status of a shell command in the repo. A test
 * re-run is `green` as soon as one try passes; when tries disagree it is also `flaky`, which
 * the evidence says plainly (a flaky pass is not the same news as a clean one).
 */
import type { CheckResult, CheckSpec } from "../domain/check.js";
import { runShellCommand, type ShellCommandResult } from "../lib/shell-command.js";

export interface CommandCheckContext {
  cwd: string;
  env: Record<string, string>;
  signal: AbortSignal;
  onLine?: (stream: "stdout" | "stderr", line: string) => void;
}

export async function evaluateCommandCheck(
  check: Extract<CheckSpec, { kind: "command" }>,
  context: CommandCheckContext,
): Promise<CheckResult> {
  const result = await runShellCommand(check.command, context);
  const failed = couldNotRun(check.command, result, context.signal);
  if (failed) return failed;
  const evidence = { command: check.command, exitCode: result.exitCode, output: result.tail };
  return result.exitCode === 0
    ? { status: "satisfied", summary: `\`${check.command}\` exited 0`, evidence }
    : {
        status: "unsatisfied",
        summary: `\`${check.command}\` exited ${result.exitCode}${lastLine(result.tail)}`,
        evidence,
      };
}

export async function evaluateTestRetry(
  check: Extract<CheckSpec, { kind: "test-retry" }>,
  context: CommandCheckContext,
): Promise<CheckResult> {
  const tries: Array<{ try: number; exitCode: number | null; output: string }> = [];
  for (let attempt = 1; attempt <= check.retries + 1; attempt++) {
    context.onLine?.("stdout", `[loopd] test try ${attempt}/${check.retries + 1}: ${check.command}`);
    const result = await runShellCommand(check.command, context);
    const failed = couldNotRun(check.command, result, context.signal);
    if (failed) return { ...failed, evidence: { ...failed.evidence, tries: tries.length, results: tries } };
    tries.push({ try: attempt, exitCode: result.exitCode, output: result.tail });
    if (result.exitCode === 0) break;
  }
  const passed = tries.at(-1)?.exitCode === 0;
  const flaky = passed && tries.length > 1;
  const evidence = { command: check.command, tries: tries.length, flaky, results: tries };
  if (passed) {
    return {
      status: "satisfied",
      summary: flaky
        ? `flaky: \`${check.command}\` failed ${tries.length - 1} time(s), then passed on try ${tries.length}`
        : `\`${check.command}\` passed on the first try`,
      evidence,
    };
  }
  return {
    status: "unsatisfied",
    summary: `still red: \`${check.command}\` failed all ${tries.length} tries${lastLine(tries.at(-1)?.output ?? "")}`,
    evidence,
  };
}

function couldNotRun(command: string, result: ShellCommandResult, signal: AbortSignal): CheckResult | null {
  if (signal.aborted) {
    return {
      status: "error",
      summary: "stopped before the command finished",
      evidence: { command },
      error: { code: "LOOPD_CHECK_ERROR", message: `\`${command}\` was stopped (${String(signal.reason)})` },
    };
  }
  if (result.spawnError === null) return null;
  return {
    status: "error",
    summary: `could not start \`${command}\``,
    evidence: { command, error: result.spawnError },
    error: { code: "LOOPD_CHECK_ERROR", message: `could not start \`${command}\`: ${result.spawnError}` },
  };
}

function lastLine(output: string): string {
  const line = output.split("\n").at(-1)?.trim();
  if (!line) return "";
  return `: ${line.length > 160 ? `${line.slice(0, 159)}…` : line}`;
}
