/**
 * Verification: the routine's `verify` command (a test suite, a linter, a check script) run in
 * the attempt's workspace after the agent says it is done. Exit 0 means verified; anything
 * else fails the attempt with LOOPD_VERIFY_FAILED, which the router answers by escalating to
 * the next tier. Cheap and reliable beats a model's opinion of its own work.
 */
import { terminateGroup } from "../harness/process-tree.js";

const TAIL_LINES = 15;

export interface VerifyResult {
  passed: boolean;
  exitCode: number | null;
  /** Last lines of the command's output, for the run's error and the next tier's context. */
  tail: string;
}

export async function runVerification(
  verify: { command: string; timeoutMs: number },
  cwd: string,
  env: Record<string, string>,
  signal: AbortSignal,
): Promise<VerifyResult> {
  const { execa } = await import("execa");
  const subprocess = execa(verify.command, [], {
    shell: true,
    cwd,
    env,
    extendEnv: false,
    stdin: "ignore",
    detached: true,
    reject: false,
    all: true,
    maxBuffer: 4 * 1024 * 1024,
  });
  const stop = () => {
    if (subprocess.pid !== undefined) terminateGroup(subprocess.pid, subprocess);
  };
  const timer = setTimeout(stop, verify.timeoutMs);
  if (signal.aborted) stop();
  else signal.addEventListener("abort", stop, { once: true });
  try {
    const result = await subprocess;
    const lines = String(result.all ?? "")
      .split("\n")
      .filter((line) => line.trim());
    return {
      passed: result.exitCode === 0,
      exitCode: result.exitCode ?? null,
      tail: lines.slice(-TAIL_LINES).join("\n"),
    };
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", stop);
  }
}
