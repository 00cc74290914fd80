/**
 * The hint a run's error carries to every face (CLI, API, dashboard, MCP, notifications):
 * the harness's own when the failure came with one (preflight knows which CLI to install or
 * log in to), otherwise the error table's hint for the code. The table writes `<run>` and
 * `<routine>` where a command needs them; they are filled in here, once, when the run ends.
 */
import { ERROR_CODES, type ErrorCode } from "./error-codes.js";

export interface HintContext {
  runId: number;
  routine: string;
}

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

/** Null for an unknown code without a hint of its own (nothing honest to suggest). */
export function runErrorHint(
  error: { code: string | null; hint?: string | null | undefined },
  context: HintContext,
): string | null {
  const hint =
    error.hint ?? (error.code !== null && isErrorCode(error.code) ? ERROR_CODES[error.code].hint : null);
  return hint === null ? null : fillHint(hint, context);
}

/** Only the two placeholders: other `<…>` in hints (`harnesses.<name>.command`) are literal. */
export function fillHint(hint: string, context: Partial<HintContext>): string {
  let filled = hint;
  if (context.runId !== undefined) filled = filled.replaceAll("<run>", String(context.runId));
  if (context.routine !== undefined) filled = filled.replaceAll("<routine>", context.routine);
  return filled;
}
