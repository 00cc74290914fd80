/**
 * The gateway's own answers, in the error shape of the API the client speaks, so an agent CLI
 * shows the message and stops instead of failing to parse it:
 *
 * | format                          | body                                                   |
 * | ------------------------------- | ------------------------------------------------------ |
 * | anthropic                       | `{type:"error", error:{type, message}}`                |
 * | openai-responses, openai-chat, unknown | `{error:{message, type, param:null, code}}`     |
 * | gemini                          | `{error:{code:<status>, message, status:<rpc status>}}` |
 */
import type { WireFormat } from "./types.js";

export interface GatewayAnswer {
  status: number;
  body: unknown;
}

/** Anthropic's error `type` and Google's RPC status per HTTP status, as those APIs answer them. */
const ANTHROPIC_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  402: "billing_error",
  403: "permission_error",
  413: "request_too_large",
  500: "api_error",
  502: "api_error",
};
const GOOGLE_STATUSES: Record<number, string> = {
  400: "FAILED_PRECONDITION",
  403: "PERMISSION_DENIED",
  500: "INTERNAL",
  502: "UNAVAILABLE",
};

export function providerError(
  format: WireFormat,
  status: number,
  message: string,
  code: string,
): GatewayAnswer {
  if (format === "anthropic") {
    return {
      status,
      body: { type: "error", error: { type: ANTHROPIC_TYPES[status] ?? "api_error", message } },
    };
  }
  if (format === "gemini") {
    return {
      status,
      body: { error: { code: status, message, status: GOOGLE_STATUSES[status] ?? "UNKNOWN" } },
    };
  }
  const type = status >= 500 ? "server_error" : "invalid_request_error";
  return { status, body: { error: { message, type, param: null, code } } };
}

/**
 * The answer to a path that names no live registration. The same for a missing, malformed or
 * closed secret and an upstream index out of range, so a caller learns nothing about which.
 */
export const FORBIDDEN: GatewayAnswer = {
  status: 403,
  body: { error: { message: "forbidden", type: "forbidden", code: "forbidden" } },
};
