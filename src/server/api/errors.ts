/**
 * Every API failure is `{ error: { code, message, hint, details? } }`, the LoopdError the CLI
 * prints, with an HTTP status chosen by code. Never a stack trace: an unexpected failure is
 * LOOPD_INTERNAL with its first line.
 *
 * | status | codes                                                                      |
 * | ------ | -------------------------------------------------------------------------- |
 * | 400    | LOOPD_API_INVALID (schema: path, query, body), LOOPD_CONFIG_INVALID,       |
 * |        | LOOPD_USAGE, and any other code whose exit code is "input" (2)             |
 * | 401    | LOOPD_API_UNAUTHORIZED (token missing or wrong), with WWW-Authenticate     |
 * | 403    | LOOPD_API_FORBIDDEN (foreign Host or Origin, simple state change: a page)  |
 * | 404    | LOOPD_NOT_FOUND (routine, run, or a path under /api/v1 that is no route)    |
 * | 409    | LOOPD_ROUTINE_OWNED (a loopd.yaml owns it), LOOPD_BUDGET_EXCEEDED (the     |
 * |        | request conflicts with a spending cap: a state, not a payment — no 402),   |
 * |        | LOOPD_ROUTINE_PAUSED_AUTH (a run asked of a routine paused for auth)       |
 * | 413    | LOOPD_HOOK_TOO_LARGE (body over 1 MiB)                                     |
 * | 500    | LOOPD_INTERNAL and everything else (store unavailable, …)                  |
 *
 * Harness credential codes (LOOPD_AUTH_*) are about an agent's login, not the caller's: 500,
 * never 401, so a dashboard does not mistake them for a bad API token.
 */
import type { Hook } from "@hono/zod-openapi";
import type { Context, Env, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ERROR_CODES, EXIT } from "../../domain/error-codes.js";
import { LoopdError, toLoopdError } from "../../domain/errors.js";

const STATUS_BY_CODE: Partial<Record<LoopdError["code"], ContentfulStatusCode>> = {
  LOOPD_API_INVALID: 400,
  LOOPD_CONFIG_INVALID: 400,
  LOOPD_USAGE: 400,
  LOOPD_API_UNAUTHORIZED: 401,
  LOOPD_API_FORBIDDEN: 403,
  LOOPD_NOT_FOUND: 404,
  LOOPD_ROUTINE_OWNED: 409,
  LOOPD_BUDGET_EXCEEDED: 409,
  LOOPD_ROUTINE_PAUSED_AUTH: 409,
  LOOPD_HOOK_TOO_LARGE: 413,
};

export function statusOf(error: LoopdError): ContentfulStatusCode {
  const known = STATUS_BY_CODE[error.code];
  if (known) return known;
  switch (ERROR_CODES[error.code].exitCode) {
    case EXIT.input:
      return 400;
    case EXIT.notFound:
      return 404;
    default:
      return 500;
  }
}

export function problem(c: Context, error: LoopdError): Response {
  const body = {
    error: {
      code: error.code,
      message: error.message,
      hint: error.hint,
      ...(error.details !== undefined ? { details: error.details } : {}),
    },
  };
  return c.json(body, statusOf(error));
}

export interface FieldIssue {
  /** Where: `path`, `query` or `body` (json). */
  in: string;
  path: string;
  message: string;
}

export function invalidRequest(issues: FieldIssue[]): LoopdError {
  return new LoopdError(
    "LOOPD_API_INVALID",
    `invalid request: ${issues.map((issue) => `${issue.in} ${issue.path}: ${issue.message}`).join("; ")}`,
    { details: { issues } },
  );
}

/** The validation hook of every route: zod issues → LOOPD_API_INVALID listing field paths. */
export const validationHook: Hook<unknown, Env, string, unknown> = (result, c) => {
  if (result.success) return;
  const where = result.target === "json" ? "body" : result.target === "param" ? "path" : result.target;
  return problem(
    c,
    invalidRequest(
      result.error.issues.map((issue) => ({
        in: where,
        path: issue.path.map(String).join(".") || "(root)",
        message: issue.message,
      })),
    ),
  );
};

export const onApiError: ErrorHandler = (error, c) => {
  if (error instanceof HTTPException) {
    // The validators' own refusals: malformed JSON (400), a body without JSON content type (415).
    const status = error.status;
    const loopd = new LoopdError("LOOPD_API_INVALID", error.message || `HTTP ${status}`, {
      hint:
        status === 415
          ? "Send the body with `Content-Type: application/json`."
          : "Send a JSON body that matches the route's schema (GET /api/v1/openapi.json).",
    });
    return c.json(
      { error: { code: loopd.code, message: loopd.message, hint: loopd.hint } },
      status >= 400 && status < 500 ? status : 400,
    );
  }
  return problem(c, toLoopdError(error));
};

export const onApiNotFound: NotFoundHandler = (c) =>
  problem(
    c,
    new LoopdError("LOOPD_NOT_FOUND", `no route ${c.req.method} ${c.req.path}`, {
      hint: "GET /api/v1/openapi.json lists every route.",
    }),
  );
