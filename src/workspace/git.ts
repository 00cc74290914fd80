/**
 * Running git for the workspace layer: one child process per call, stdout as bytes (so `-z`
 * output and binary diffs survive), git's stderr in every error, the run's abort signal
 * honoured, and an output cap for diffs that could otherwise fill memory.
 */
import { spawn } from "node:child_process";
import { LoopdError } from "../domain/errors.js";

export interface GitOptions {
  cwd: string;
  /** Added to process.env (GIT_INDEX_FILE, GIT_DIR, …). */
  env?: Record<string, string>;
  signal?: AbortSignal | undefined;
  /** Stop reading after this many bytes and report `truncated` (the process is killed). */
  maxOutput?: number;
}

export interface GitResult {
  stdout: Buffer;
  truncated: boolean;
}

/**
 * Keeps git from taking optional locks (the opportunistic index refresh of `git status`), so
 * reading the user's checkout never writes to it or races the user's own git commands.
 */
const QUIET_ENV = { GIT_OPTIONAL_LOCKS: "0", GIT_TERMINAL_PROMPT: "0", LC_ALL: "C" };

export function git(args: string[], options: GitOptions): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(aborted(args));
      return;
    }
    const child = spawn("git", args, {
      cwd: options.cwd,
      env: { ...process.env, ...QUIET_ENV, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
      signal: options.signal,
    });
    const chunks: Buffer[] = [];
    const errChunks: Buffer[] = [];
    let size = 0;
    let truncated = false;
    child.stdout.on("data", (chunk: Buffer) => {
      if (truncated) return;
      const cap = options.maxOutput;
      if (cap !== undefined && size + chunk.length > cap) {
        chunks.push(chunk.subarray(0, cap - size));
        size = cap;
        truncated = true;
        child.kill("SIGTERM");
        return;
      }
      chunks.push(chunk);
      size += chunk.length;
    });
    child.stderr.on("data", (chunk: Buffer) => errChunks.push(chunk));
    child.on("error", (error) => {
      if (options.signal?.aborted) reject(aborted(args));
      else reject(failed(args, options.cwd, error.message, error));
    });
    child.on("close", (code) => {
      if (options.signal?.aborted) return reject(aborted(args));
      if (truncated || code === 0) return resolve({ stdout: Buffer.concat(chunks), truncated });
      const stderr = Buffer.concat(errChunks).toString("utf8").trim();
      reject(failed(args, options.cwd, stderr || `exited with ${code}`));
    });
  });
}

/** `git …` trimmed stdout as text. */
export async function gitText(args: string[], options: GitOptions): Promise<string> {
  return (await git(args, options)).stdout.toString("utf8").trim();
}

/** Splits NUL-separated (`-z`) output into its entries. */
export function splitZ(output: Buffer | string): string[] {
  return output
    .toString("utf8")
    .split("\0")
    .filter((entry) => entry.length > 0);
}

/** Whether `git` succeeds; for probes such as "does this ref exist". */
export async function gitSucceeds(args: string[], options: GitOptions): Promise<boolean> {
  try {
    await git(args, options);
    return true;
  } catch (error) {
    if (options.signal?.aborted) throw error;
    return false;
  }
}

function failed(args: string[], cwd: string, stderr: string, cause?: unknown): LoopdError {
  return new LoopdError("LOOPD_WORKSPACE_FAILED", `git ${args.join(" ")} (in ${cwd}) failed: ${stderr}`, {
    details: { args, cwd, stderr },
    cause,
  });
}

function aborted(args: string[]): LoopdError {
  return new LoopdError("LOOPD_WORKSPACE_FAILED", `workspace preparation aborted during git ${args[0]}`, {
    hint: "The run was stopped (timeout, cancel or shutdown) while its workspace was being prepared.",
  });
}
