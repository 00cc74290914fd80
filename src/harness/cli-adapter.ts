/**
 * What the agent CLI adapters (claude, codex, gemini, opencode) have in common, so each adapter
 * keeps only what is its own (flags, event format, auth detection, exit codes, messages):
 * finding the CLI for preflight, turning the parsed run and the process into a harness result
 * with the shared error codes, pricing per-model usage, and the small readers their event
 * parsers use on JSON lines. The builtin harness shares the summary rule and the failure
 * before start.
 */
import { costOf, type PricingTable } from "../domain/pricing.js";
import type { TokenUsage } from "../domain/run-report.js";
import { type AgentProcessResult, parseJsonLine } from "./agent-process.js";
import { commandVersion, findExecutable } from "./executable.js";
import type { HarnessEvent, HarnessResult, ModelUsage, PreflightInput, PreflightResult } from "./harness.js";

const MAX_TEXT = 200;

export type RunError = { code: string; message: string };
export type CliProcess = Pick<AgentProcessResult, "exitCode" | "signal" | "spawnError" | "stderrTail">;

/** A CLI found on the run's PATH: the preflight fields every later answer shares. */
export interface LocatedCli {
  harness: string;
  installed: true;
  /** The resolved executable. */
  command: string;
  version: string | null;
  authSource: null;
}

/**
 * The preflight prologue: finds `command` on the run's PATH. Not found, the answer is the
 * finished preflight result (LOOPD_HARNESS_NOT_INSTALLED with `installHint`); found, the
 * resolved path and version, to which the adapter adds what it knows about credentials.
 */
export async function locateCli(
  harness: string,
  command: string,
  input: PreflightInput,
  installHint: string,
): Promise<LocatedCli | (PreflightResult & { installed: false })> {
  const resolved = findExecutable(command, input.env.PATH);
  if (!resolved) {
    return {
      harness,
      installed: false,
      command: null,
      version: null,
      authSource: null,
      auth: "unknown",
      error: {
        code: "LOOPD_HARNESS_NOT_INSTALLED",
        message: `${harness} (${command}) was not found on the run's PATH`,
        hint: installHint,
      },
    };
  }
  const version = await commandVersion(resolved, input.env);
  return { harness, installed: true, command: resolved, version, authSource: null };
}

/** A result for a run that failed before anything was started. */
export function failedToStart(code: string, message: string): HarnessResult {
  return { outcome: "failed", exitCode: null, summary: null, error: { code, message } };
}

/** The result for a task that is not an agent task, which agent harnesses cannot run. */
export function notAnAgentTask(harness: string): HarnessResult {
  return failedToStart(
    "LOOPD_HARNESS_MISMATCH",
    `the ${harness} harness runs agent tasks (\`prompt\` or \`template\`)`,
  );
}

/** What a CLI run reports whatever its outcome (the summary is derived from the final message). */
export interface CliReport {
  finalMessage: string | null;
  usage: TokenUsage;
  costUsd: number;
  modelUsage: ModelUsage[];
  turns: number | null;
  sessionId: string | null;
}

/** A CLI run's report, ready to become its result either way. */
export interface CliResult {
  /** The failed result, the error given as code and message or as one. */
  fail(error: RunError): HarnessResult;
  fail(code: string, message: string): HarnessResult;
  succeed(): HarnessResult;
}

/** The run's report with the process's exit code and the summary of the final message. */
export function cliResult(proc: CliProcess, report: CliReport): CliResult {
  const { finalMessage, ...rest } = report;
  const full = { exitCode: proc.exitCode, summary: summaryOf(finalMessage), finalMessage, ...rest };
  return {
    fail: (error: RunError | string, message?: string): HarnessResult => ({
      ...full,
      outcome: "failed",
      error:
        typeof error === "string"
          ? { code: error, message: message ?? "" }
          : { code: error.code, message: error.message },
    }),
    succeed: () => ({ ...full, outcome: "succeeded", error: null }),
  };
}

/**
 * Why a CLI run failed regardless of what the CLI said, checked in this order: the process
 * never started (not installed, or another spawn error), the adapter stopped it over a
 * rejected credential or at the turn cap, or the run was aborted. Null when none applies.
 */
export function cliFailure(
  cli: { name: string; command: string },
  proc: CliProcess,
  state: { authError: string | null; turnLimit?: boolean },
  run: { aborted: boolean; maxTurns?: number },
): RunError | null {
  if (proc.spawnError) {
    return /ENOENT/.test(proc.spawnError)
      ? {
          code: "LOOPD_HARNESS_NOT_INSTALLED",
          message: `${cli.name} is not installed (${cli.command}): ${proc.spawnError}`,
        }
      : { code: "LOOPD_HARNESS_SPAWN_FAILED", message: proc.spawnError };
  }
  if (state.authError) return { code: "LOOPD_AUTH_EXPIRED", message: `${cli.name}: ${state.authError}` };
  if (state.turnLimit)
    return {
      code: "LOOPD_TURN_LIMIT",
      message: `stopped ${cli.name} after ${run.maxTurns} turns (maxTurns)`,
    };
  if (run.aborted)
    return { code: "LOOPD_AGENT_FAILED", message: `${cli.name} was stopped: the run was aborted` };
  return null;
}

/**
 * The CLI ended before `before` (e.g. "finishing"): how it ended (signal or exit code) and
 * the last stderr lines, or `tail` when the adapter picked those lines itself.
 */
export function endedEarly(
  name: string,
  proc: CliProcess,
  before: string,
  tail = proc.stderrTail.slice(-5).join("\n"),
): RunError {
  const how = proc.signal ? `was killed by ${proc.signal}` : `exited with ${proc.exitCode}`;
  return { code: "LOOPD_AGENT_FAILED", message: `${name} ${how} before ${before}: ${tail || "no output"}` };
}

/** Each model's usage priced from the table, and their total cost. */
export function pricedModelUsage(
  models: ReadonlyArray<{ model: string; usage: TokenUsage }>,
  pricing: PricingTable,
): { modelUsage: ModelUsage[]; costUsd: number } {
  const modelUsage = models.map(({ model, usage }) => ({
    model,
    usage,
    costUsd: costOf(model, usage, pricing),
  }));
  const costUsd = Math.round(modelUsage.reduce((sum, entry) => sum + entry.costUsd, 0) * 1e6) / 1e6;
  return { modelUsage, costUsd };
}

/** The run's summary: the first non-empty line of the final message, shortened. */
export function summaryOf(text: string | null): string | null {
  const first = text
    ?.split("\n")
    .find((line) => line.trim())
    ?.trim();
  return first ? short(first) : null;
}

/**
 * A stdout line as a CLI event: a JSON object with a string `type`. Any other line is passed
 * on as log output, and the answer is null.
 */
export function jsonEvent(
  line: string,
  emit: (event: HarnessEvent) => void,
): (Record<string, unknown> & { type: string }) | null {
  const event = parseJsonLine(line);
  if (event && typeof event.type === "string") return event as Record<string, unknown> & { type: string };
  emit({ type: "log", stream: "stdout", line });
  return null;
}

/** `text` cut to `max` characters, the last one an ellipsis. */
export function short(text: string, max?: number): string;
export function short(text: string | null, max?: number): string | null;
export function short(text: string | null, max = MAX_TEXT): string | null {
  if (text === null) return null;
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function str(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

/** A finite number, else 0. */
export function num(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

/** A JSON object, else an empty one (arrays included). */
export function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}
