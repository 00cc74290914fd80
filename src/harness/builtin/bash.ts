/**
 * The builtin agent's bash tool: `/bin/sh -c <command>` in the workspace with the run's
 * environment, in its own process group under the parent-death watchdog (like every process
 * loopd starts for a run: process-tree.ts), so a timeout, the run's abort or loopd's death
 * stops the command and everything it spawned. Processes the command leaves
 * running in the background are stopped when it exits: a daemon must not collect strays from
 * runs that ended long ago. Output (stdout and stderr interleaved) is capped, keeping the
 * head and the tail, where errors usually are.
 *
 * Under a run's sandbox (`openBashSandbox`, once per run) each command runs inside the same
 * bubblewrap profile a CLI would get (sandbox.ts): the watchdog wraps bwrap, whose
 * --die-with-parent takes the command with it; the builtin harness sends them to the run's
 * long-lived confined shell instead (`BashSandbox.shell`, confined-shell.ts), same rules. Its network is the routine's allow-list and
 * the worktree's git remotes only, and its environment has no model API key: the model
 * endpoint and its credentials are loopd's business, not the command's.
 */
import { spawn } from "node:child_process";
import {
  releaseWatchdog,
  signalGroup,
  terminateGroup,
  watched,
  watchedShell,
} from "../../lib/process-tree.js";
import type { HarnessEvent } from "../harness.js";
import { openCommandSandbox } from "../sandbox/command-sandbox.js";
import type { SandboxRequest } from "../sandbox/request.js";
import type { OpenSandbox, SandboxOutcome } from "../sandbox/sandbox.js";
import type { ConfinedShell } from "./confined-shell.js";

export const DEFAULT_BASH_TIMEOUT_MS = 120_000;
export const MAX_BASH_TIMEOUT_MS = 600_000;
export const MAX_BASH_OUTPUT_CHARS = 30_000;

export interface BashOptions {
  command: string;
  cwd: string;
  env: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Grace between SIGTERM and SIGKILL (tests shorten it). */
  killGraceMs?: number;
  /** The run's open sandbox: the command runs inside it, with its environment. */
  sandbox?: BashSandbox | null;
}

export type BashSandbox = Pick<OpenSandbox, "file" | "wrap" | "env"> & {
  /** The run's long-lived confined shell (confined-shell.ts): commands go there instead of a new bwrap each. */
  shell?: ConfinedShell;
};

export const FILE_TOOLS_NOTE =
  "bash commands run in this profile without the model API keys; the file tools run in loopd's process and refuse paths outside the worktree (symlinks resolved)";

/** The run's sandbox for its bash commands (`none` when the request is off or null). */
export function openBashSandbox(input: {
  request: SandboxRequest | null | undefined;
  cwd: string;
  env: Record<string, string>;
  emit: (event: HarnessEvent) => void;
}): Promise<SandboxOutcome> {
  return openCommandSandbox({ ...input, harness: "builtin", note: FILE_TOOLS_NOTE });
}

export interface BashResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  aborted: boolean;
  output: string;
}

export function runBash(options: BashOptions): Promise<BashResult> {
  const timeoutMs = Math.min(options.timeoutMs ?? DEFAULT_BASH_TIMEOUT_MS, MAX_BASH_TIMEOUT_MS);
  const output = new CappedOutput(MAX_BASH_OUTPUT_CHARS);
  if (options.sandbox?.shell) return inShell(options.sandbox.shell, options, timeoutMs, output);
  return new Promise((resolve) => {
    const { sandbox } = options;
    const [file, args] = sandbox
      ? watched(sandbox.file, sandbox.wrap("/bin/sh", ["-c", options.command]))
      : watchedShell(options.command);
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: sandbox?.env ?? options.env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe", "pipe"],
    });
    let timedOut = false;
    let aborted = false;
    // 'close' waits for the pipes, which background children may hold open: settle on it,
    // but make sure it comes by stopping the group once the shell itself has exited.
    const closed = new Promise<void>((done) => child.once("close", () => done()));
    const stop = () => {
      if (child.pid !== undefined) terminateGroup(child.pid, closed, options.killGraceMs);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, timeoutMs);
    const onAbort = () => {
      aborted = true;
      stop();
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener("abort", onAbort, { once: true });
    child.stdout!.on("data", (chunk: Buffer) => output.push(chunk.toString("utf8")));
    child.stderr!.on("data", (chunk: Buffer) => output.push(chunk.toString("utf8")));
    child.once("exit", () => {
      if (child.pid !== undefined) signalGroup(child.pid, "SIGKILL");
      releaseWatchdog(child);
    });
    child.once("error", (error) => output.push(`${error.message}\n`));
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      resolve({ exitCode: code, signal, timedOut, aborted, output: output.text() });
    });
  });
}

/** runBash through the run's confined shell: the same timeout, abort and output rules. */
async function inShell(
  shell: ConfinedShell,
  options: BashOptions,
  timeoutMs: number,
  output: CappedOutput,
): Promise<BashResult> {
  const handle = shell.run({
    command: options.command,
    cwd: options.cwd,
    env: options.sandbox?.env ?? options.env,
    onOutput: (text) => output.push(text),
  });
  let timedOut = false;
  let aborted = false;
  const timer = setTimeout(() => {
    timedOut = true;
    handle.stop(options.killGraceMs);
  }, timeoutMs);
  const onAbort = () => {
    aborted = true;
    handle.stop(options.killGraceMs);
  };
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const { exitCode, signal } = await handle.done;
    return { exitCode, signal, timedOut, aborted, output: output.text() };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}

/** The text the model reads for a bash result. */
export function formatBashResult(result: BashResult, timeoutMs: number): string {
  const body = result.output.trimEnd();
  let status: string;
  if (result.timedOut) status = `timed out after ${timeoutMs} ms; the command and its children were stopped`;
  else if (result.aborted) status = "stopped: the run was aborted";
  else if (result.signal) status = `killed by ${result.signal}`;
  else status = `exit code ${result.exitCode}`;
  return `${body === "" ? "(no output)" : body}\n[${status}]`;
}

/** Keeps the first and last `max / 2` characters of a stream of chunks. */
class CappedOutput {
  private head = "";
  private tail = "";
  private dropped = 0;

  constructor(private readonly max: number) {}

  push(chunk: string): void {
    const half = this.max / 2;
    if (this.head.length < half) {
      const room = half - this.head.length;
      this.head += chunk.slice(0, room);
      chunk = chunk.slice(room);
    }
    if (chunk === "") return;
    this.tail += chunk;
    if (this.tail.length > half) {
      this.dropped += this.tail.length - half;
      this.tail = this.tail.slice(this.tail.length - half);
    }
  }

  text(): string {
    if (this.dropped === 0) return this.head + this.tail;
    return `${this.head}\n… (${this.dropped} characters of output omitted) …\n${this.tail}`;
  }
}
