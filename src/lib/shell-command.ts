/**
 * One shell command run to completion in its own process group, keeping only the last lines
 * of its output (a passing test suite may print megabytes). Used by `verify` and by the
 * command and test checks; the shell harness streams instead.
 */
import { forwardLines } from "./line-stream.js";
import {
  killGraceMs,
  releaseWatchdog,
  signalGroup,
  terminateGroup,
  watched,
  watchedShell,
} from "./process-tree.js";

const TAIL_LINES = 15;

/** What confines a command: `[file, wrap(command, args)]` is spawned instead of `command args`. */
export interface ShellConfinement {
  file: string;
  wrap(command: string, args: readonly string[]): string[];
  env: Record<string, string>;
}

export interface ShellCommandResult {
  exitCode: number | null;
  /** The command could not be started at all (missing shell, bad cwd). */
  spawnError: string | null;
  /** Killed by our timeout. */
  timedOut: boolean;
  /** Last non-empty lines of stdout and stderr, interleaved. */
  tail: string;
}

export async function runShellCommand(
  command: string,
  options: {
    cwd: string;
    env: Record<string, string>;
    signal: AbortSignal;
    timeoutMs?: number;
    onLine?: (stream: "stdout" | "stderr", line: string) => void;
    /**
     * Run it confined (a run's open sandbox, harness/sandbox/): `wrap` gives the confining
     * command's arguments for `/bin/sh -c <command>`, `env` replaces the command's environment.
     */
    confine?: ShellConfinement | null;
  },
): Promise<ShellCommandResult> {
  const { execa } = await import("execa");
  const tail: string[] = [];
  const keep = (stream: "stdout" | "stderr") => (line: string) => {
    options.onLine?.(stream, line);
    if (!line.trim()) return;
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
  };
  // Under the parent-death watchdog (process-tree.ts): if loopd dies, so does the command.
  const { confine } = options;
  const [file, args] = confine
    ? watched(confine.file, confine.wrap("/bin/sh", ["-c", command]))
    : watchedShell(command);
  const subprocess = execa(file, args, {
    cwd: options.cwd,
    env: confine?.env ?? options.env,
    extendEnv: false,
    detached: true,
    reject: false,
    buffer: false,
    stdio: ["ignore", forwardLines(keep("stdout")), forwardLines(keep("stderr")), "pipe"],
  });
  subprocess.once("exit", () => releaseWatchdog(subprocess));
  subprocess.once("error", () => releaseWatchdog(subprocess));
  let timedOut = false;
  const stop = () => {
    if (subprocess.pid !== undefined)
      terminateGroup(subprocess.pid, subprocess, timedOut ? undefined : killGraceMs(options.signal));
  };
  const timer =
    options.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          stop();
        }, options.timeoutMs);
  if (options.signal.aborted) stop();
  else options.signal.addEventListener("abort", stop, { once: true });
  try {
    const result = await subprocess;
    const spawnError =
      result.exitCode === undefined && !result.signal && !timedOut && !options.signal.aborted
        ? (result.shortMessage ?? "unknown error")
        : null;
    return { exitCode: result.exitCode ?? null, spawnError, timedOut, tail: tail.join("\n") };
  } finally {
    clearTimeout(timer);
    options.signal.removeEventListener("abort", stop);
    // Whatever the command left running in the background must not outlive it.
    if (subprocess.pid !== undefined) signalGroup(subprocess.pid, "SIGKILL");
  }
}
