/**
 * Verification: the routine's `verify` command (a test suite, a linter, a check script) run in
 * the attempt's workspace after the agent says it is done. Exit 0 means verified; anything
 * else fails the attempt with LOOPD_VERIFY_FAILED, which the router answers by escalating to
 * the next tier. Cheap and reliable beats a model's opinion of its own work.
 */
import { signalGroup, terminateGroup } from "../harness/process-tree.js";

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
  // Only the tail is kept: a passing suite may print megabytes, which must not fail it.
  const tail: string[] = [];
  const keep = (line: string) => {
    if (!line.trim()) return;
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
  };
  const subprocess = execa(verify.command, [], {
    shell: true,
    cwd,
    env,
    extendEnv: false,
    stdin: "ignore",
    detached: true,
    reject: false,
    buffer: false,
    stdout: lines(keep),
    stderr: lines(keep),
  });
  const stop = () => {
    if (subprocess.pid !== undefined) terminateGroup(subprocess.pid, subprocess);
  };
  const timer = setTimeout(stop, verify.timeoutMs);
  if (signal.aborted) stop();
  else signal.addEventListener("abort", stop, { once: true });
  try {
    const result = await subprocess;
    return { passed: result.exitCode === 0, exitCode: result.exitCode ?? null, tail: tail.join("\n") };
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", stop);
    // Whatever the check left running in the background must not outlive it in the worktree.
    if (subprocess.pid !== undefined) signalGroup(subprocess.pid, "SIGKILL");
  }
}

function lines(onLine: (line: string) => void) {
  // biome-ignore lint/correctness/useYield: yielding nothing is how a transform drops the line once kept
  return function* (chunk: unknown) {
    onLine(String(chunk));
  };
}
