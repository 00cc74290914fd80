/**
 * The shell harness: run the routine's `command` with /bin/sh in the repo folder. Output
 * lines become run events; exit status 0 is success. The command runs in its own process
 * group under the parent-death watchdog (process-tree.ts), and what it leaves running is
 * stopped when it exits. The simplest harness, and the one the engine's own tests drive.
 */
import { existsSync } from "node:fs";
import { forwardLines } from "../lib/line-stream.js";
import { killGraceMs, releaseWatchdog, terminateGroup, watched } from "../lib/process-tree.js";
import type { Harness, HarnessEvent, HarnessInput, HarnessResult } from "./harness.js";
import { type OpenSandbox, openSandbox } from "./sandbox/sandbox.js";

const MAX_SUMMARY = 200;

export const shellHarness: Harness = {
  name: "shell",
  async run(input: HarnessInput, emit: (event: HarnessEvent) => void): Promise<HarnessResult> {
    if (input.spec.task.kind !== "command") {
      return failure("LOOPD_HARNESS_MISMATCH", "the shell harness runs `command` tasks");
    }
    if (!existsSync(input.cwd)) {
      return failure("LOOPD_REPO_NOT_FOUND", `repo folder ${input.cwd} does not exist`);
    }
    const opened = await openSandbox({
      request: input.sandbox,
      harness: "shell",
      cwd: input.cwd,
      env: input.env,
      command: "/bin/sh",
      args: ["-c", input.spec.task.command],
      emit,
    });
    if (opened.kind === "refused") return failure(opened.error.code, opened.error.message);
    const sandbox = opened.kind === "confined" ? opened.sandbox : null;
    try {
      return await runCommand(input, emit, sandbox);
    } finally {
      await sandbox?.close();
    }
  },
};

async function runCommand(
  input: HarnessInput,
  emit: (event: HarnessEvent) => void,
  sandbox: OpenSandbox | null,
): Promise<HarnessResult> {
  if (input.spec.task.kind !== "command") throw new Error("not a command task");
  let lastStdout: string | null = null;
  let lastStderr: string | null = null;
  const { execa } = await import("execa");
  // Under the parent-death watchdog (process-tree.ts): if this process dies, so does the
  // command (and a sandbox with it: bubblewrap's --die-with-parent).
  const [file, args] = sandbox
    ? watched(sandbox.file, sandbox.args)
    : watched("/bin/sh", ["-c", input.spec.task.command]);
  const subprocess = execa(file, args, {
    cwd: input.cwd,
    env: sandbox?.env ?? input.env,
    extendEnv: false,
    detached: true,
    reject: false,
    buffer: false,
    stdio: [
      "ignore",
      forwardLines((line) => {
        if (line.trim()) lastStdout = line;
        emit({ type: "log", stream: "stdout", line });
      }),
      forwardLines((line) => {
        if (line.trim()) lastStderr = line;
        emit({ type: "log", stream: "stderr", line });
      }),
      "pipe",
    ],
  });
  const onAbort = () => {
    if (subprocess.pid !== undefined) terminateGroup(subprocess.pid, subprocess, killGraceMs(input.signal));
  };
  if (input.signal.aborted) onAbort();
  else input.signal.addEventListener("abort", onAbort, { once: true });
  // Once the command exits, whatever it left running in its group goes too: an attempt is
  // over when its command is, or the next attempt could overlap with its leftovers.
  subprocess.once("exit", () => releaseWatchdog(subprocess));
  subprocess.once("error", () => releaseWatchdog(subprocess));
  try {
    const result = await subprocess;
    const summary = truncate(lastStdout);
    if (result.exitCode === 0) return { outcome: "succeeded", exitCode: 0, summary, error: null };
    if (result.exitCode === undefined && !result.signal) {
      return failure("LOOPD_HARNESS_SPAWN_FAILED", `could not start the command: ${result.shortMessage}`);
    }
    const how = result.signal ? `was killed by ${result.signal}` : `exited with ${result.exitCode}`;
    return {
      outcome: "failed",
      exitCode: result.exitCode ?? null,
      summary,
      error: {
        code: "LOOPD_RUN_FAILED",
        message: `command ${how}${lastStderr ? `: ${truncate(lastStderr)}` : ""}`,
      },
    };
  } finally {
    input.signal.removeEventListener("abort", onAbort);
  }
}

function failure(code: string, message: string): HarnessResult {
  return { outcome: "failed", exitCode: null, summary: null, error: { code, message } };
}

function truncate(line: string | null): string | null {
  if (line === null) return null;
  return line.length > MAX_SUMMARY ? `${line.slice(0, MAX_SUMMARY - 1)}…` : line;
}
