/**
 * One error type for every interface (CLI, HTTP, MCP). A `LoopdError` is something a user or
 * an agent can act on: a stable code, a one-line message and a hint. Anything else that
 * escapes is a bug and is reported as LOOPD_INTERNAL.
 */
import { ERROR_CODES, type ErrorCode } from "./error-codes.js";

export interface LoopdErrorJson {
  code: ErrorCode;
  message: string;
  hint: string;
  exitCode: number;
  docs: string;
  details?: unknown;
}

export class LoopdError extends Error {
  override readonly name = "LoopdError";
  readonly code: ErrorCode;
  readonly hint: string;
  readonly details: unknown;

  constructor(
    code: ErrorCode,
    message: string,
    options: { hint?: string; details?: unknown; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint ?? ERROR_CODES[code].hint;
    this.details = options.details;
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exitCode;
  }

  toJSON(): LoopdErrorJson {
    const json: LoopdErrorJson = {
      code: this.code,
      message: this.message,
      hint: this.hint,
      exitCode: this.exitCode,
      docs: `docs/errors.md#${this.code.toLowerCase()}`,
    };
    if (this.details !== undefined) json.details = this.details;
    return json;
  }
}

export function isLoopdError(error: unknown): error is LoopdError {
  return error instanceof LoopdError;
}

/** Wraps an unexpected failure so interfaces can print it uniformly; the cause keeps the stack. */
export function toLoopdError(error: unknown): LoopdError {
  if (isLoopdError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new LoopdError("LOOPD_INTERNAL", firstLine(message), { cause: error });
}

function firstLine(text: string): string {
  const line = text.split("\n", 1)[0] ?? "";
  return line.length > 0 ? line : "unexpected error";
}
