/**
 * Running an agent CLI: spawn it in its own process group with stdin closed, hand every
 * stdout line to the adapter (JSON lines for claude/codex/gemini/opencode), keep stderr as log
 * events, and stop the whole tree on abort or when the adapter asks (turn cap). Adapters only
 * translate the CLI's events; this module owns the process.
 */
import type { HarnessEvent } from "./harness.js";
import { terminateGroup } from "./process-tree.js";

export interface AgentProcessOptions {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  signal: AbortSignal;
  emit: (event: HarnessEvent) => void;
  /** Called with each stdout line; return "stop" to end the process (e.g. turn cap reached). */
  onLine: (line: string) => "stop" | undefined;
  /** Text written to stdin, then closed; default: stdin closed at once. */
  stdin?: string;
}

export interface AgentProcessResult {
  exitCode: number | null;
  signal: string | null;
  /** The adapter asked to stop it. */
  stopped: boolean;
  /** Spawn failure (missing binary, permissions). */
  spawnError: string | null;
  /** The last stderr lines, for error messages. */
  stderrTail: string[];
}

const STDERR_TAIL = 20;

export async function runAgentProcess(options: AgentProcessOptions): Promise<AgentProcessResult> {
  const { execa } = await import("execa");
  const stderrTail: string[] = [];
  let stopped = false;
  let stopRequested = (): void => {};
  const subprocess = execa(options.command, options.args, {
    cwd: options.cwd,
    env: options.env,
    extendEnv: false,
    ...(options.stdin !== undefined ? { input: options.stdin } : { stdin: "ignore" as const }),
    detached: true,
    reject: false,
    buffer: false,
    stdout: lines((line) => {
      if (stopped || !line.trim()) return;
      if (options.onLine(line) === "stop") {
        stopped = true;
        stopRequested();
      }
    }),
    stderr: lines((line) => {
      if (!line.trim()) return;
      stderrTail.push(line);
      if (stderrTail.length > STDERR_TAIL) stderrTail.shift();
      options.emit({ type: "log", stream: "stderr", line });
    }),
  });
  const terminate = () => {
    if (subprocess.pid !== undefined) terminateGroup(subprocess.pid, subprocess);
  };
  stopRequested = terminate;
  if (options.signal.aborted) terminate();
  else options.signal.addEventListener("abort", terminate, { once: true });
  try {
    const result = await subprocess;
    const spawnError =
      result.exitCode === undefined && !result.signal && !stopped && !options.signal.aborted
        ? (result.shortMessage ?? "could not start the process")
        : null;
    return {
      exitCode: result.exitCode ?? null,
      signal: result.signal ?? null,
      stopped,
      spawnError,
      stderrTail,
    };
  } finally {
    options.signal.removeEventListener("abort", terminate);
  }
}

/** An execa line transform that hands each line on and keeps nothing in memory. */
function lines(onLine: (line: string) => void) {
  // biome-ignore lint/correctness/useYield: yielding nothing is how a transform drops the line once forwarded
  return function* (chunk: unknown) {
    onLine(String(chunk));
  };
}

/** Parses one JSON line; non-JSON lines (banners, warnings) give null. */
export function parseJsonLine(line: string): Record<string, unknown> | null {
  const trimmed = line.trim();
  if (!trimmed.startsWith("{")) return null;
  try {
    const value: unknown = JSON.parse(trimmed);
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}
