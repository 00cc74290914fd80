/**
 * Running an agent CLI: spawn it in its own process group with stdin closed, under the
 * parent-death watchdog (process-tree.ts: if loopd dies, the CLI's group dies), hand every
 * stdout line to the adapter (JSON lines for claude/codex/gemini/opencode), keep stderr as log
 * events, stop the whole tree on abort or when the adapter asks (turn cap), and once the CLI
 * has exited, stop whatever it left running. Adapters only translate the CLI's events; this
 * module owns the process.
 */
import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { forwardLines } from "../lib/line-stream.js";
import {
  killGraceMs,
  releaseWatchdog,
  terminateGroup,
  terminateMarked,
  watched,
} from "../lib/process-tree.js";
import { findExecutable } from "./executable.js";
import type { HarnessEvent } from "./harness.js";
import type { SandboxRequest } from "./sandbox/request.js";
import { type OpenSandbox, openSandbox } from "./sandbox/sandbox.js";

export interface AgentProcessOptions {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  signal: AbortSignal;
  emit: (event: HarnessEvent) => void;
  /** Called with each stdout line; return "stop" to end the process (e.g. turn cap reached). */
  onLine: (line: string) => "stop" | undefined;
  /**
   * Called with each stderr line (after it is emitted as a log event); "stop" ends the process,
   * for a CLI that says on stderr that it cannot work (Codex's sandbox helpers).
   */
  onStderrLine?: (line: string) => "stop" | undefined;
  /** Text written to stdin, then closed; default: stdin closed at once. */
  stdin?: string;
  /** The run's sandbox (HarnessInput.sandbox) and the harness it is for (its synthetic HOME). */
  sandbox?: { request: SandboxRequest | null | undefined; harness: string };
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
/**
 * Set to a fresh id in every agent's environment, so everything the run starts inherits it.
 * Some CLIs run commands in a session of their own (Codex: a PTY under its sandbox), outside
 * the process group loopd signals, and those can outlive the CLI; the marker finds them.
 */
export const PROCESS_MARKER = "LOOPD_PROCESS_MARKER";

export async function runAgentProcess(options: AgentProcessOptions): Promise<AgentProcessResult> {
  const stderrTail: string[] = [];
  const marker = randomUUID();
  // The watchdog's shell would turn a missing binary into exit 127: say so as a spawn error.
  const command = options.command.includes("/") ? resolve(options.cwd, options.command) : options.command;
  const found = findExecutable(command, options.env.PATH);
  if (found === null) {
    return {
      exitCode: null,
      signal: null,
      stopped: false,
      spawnError: `spawn ${options.command} ENOENT`,
      stderrTail,
    };
  }
  let sandbox: OpenSandbox | null = null;
  if (options.sandbox) {
    const opened = await openSandbox({
      request: options.sandbox.request,
      harness: options.sandbox.harness,
      cwd: options.cwd,
      env: options.env,
      command: found,
      args: options.args,
      emit: options.emit,
    });
    // The engine refuses `required` runs before the harness starts (sandboxRefusal); a probe
    // that changed its mind in between must still not run unconfined.
    if (opened.kind === "refused")
      return { exitCode: null, signal: null, stopped: false, spawnError: opened.error.message, stderrTail };
    if (opened.kind === "confined") sandbox = opened.sandbox;
  }
  try {
    return await spawnAgent(options, sandbox, command, marker, stderrTail);
  } finally {
    await sandbox?.close();
  }
}

async function spawnAgent(
  options: AgentProcessOptions,
  sandbox: OpenSandbox | null,
  command: string,
  marker: string,
  stderrTail: string[],
): Promise<AgentProcessResult> {
  const { execa } = await import("execa");
  let stopped = false;
  let stopRequested = (): void => {};
  // Under the parent-death watchdog (process-tree.ts): if loopd dies, so does the CLI's group
  // (and bubblewrap's sandbox with it: --die-with-parent).
  const [file, args] = sandbox ? watched(sandbox.file, sandbox.args) : watched(command, options.args);
  const subprocess = execa(file, args, {
    cwd: options.cwd,
    env: { ...(sandbox?.env ?? options.env), [PROCESS_MARKER]: marker },
    extendEnv: false,
    ...(options.stdin !== undefined ? { input: options.stdin } : {}),
    detached: true,
    reject: false,
    buffer: false,
    stdio: [
      options.stdin !== undefined ? "pipe" : "ignore",
      forwardLines((line) => {
        if (stopped || !line.trim()) return;
        if (options.onLine(line) === "stop") {
          stopped = true;
          stopRequested();
        }
      }),
      forwardLines((line) => {
        if (!line.trim()) return;
        stderrTail.push(line);
        if (stderrTail.length > STDERR_TAIL) stderrTail.shift();
        options.emit({ type: "log", stream: "stderr", line });
        if (!stopped && options.onStderrLine?.(line) === "stop") {
          stopped = true;
          stopRequested();
        }
      }),
      "pipe",
    ],
  });
  const terminate = () => {
    if (subprocess.pid !== undefined)
      terminateGroup(
        subprocess.pid,
        subprocess,
        options.signal.aborted ? killGraceMs(options.signal) : undefined,
      );
  };
  stopRequested = terminate;
  if (options.signal.aborted) terminate();
  else options.signal.addEventListener("abort", terminate, { once: true });
  // However it ends (done, stopped, aborted), nothing of the run may outlive it. This starts at
  // the CLI's exit, not once its output closes: a leftover holding stdout would keep it open.
  const exited = new Promise<void>((resolve) => {
    subprocess.once("exit", () => resolve());
    subprocess.once("error", () => resolve());
  });
  // Marked leftovers get a SIGTERM and a grace first; then the watchdog SIGKILLs the group.
  const leftoversGone = Promise.race([exited, subprocess])
    .then(() => terminateMarked(PROCESS_MARKER, marker))
    .finally(() => releaseWatchdog(subprocess));
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
    await leftoversGone;
  }
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
