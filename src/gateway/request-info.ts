/**
 * What the gateway reads from a request before forwarding it: the wire format (by path), the
 * model, the output cap and whether the answer streams. Pure; the body is the raw bytes the
 * client sent (requests are small enough to hold, responses are never held).
 */
import type { MeteredRequest, WireFormat } from "./types.js";

/** The format a request path speaks; `path` is the upstream path without the query. */
export function formatOf(path: string): WireFormat {
  if (/\/messages(\/count_tokens)?$/.test(path)) return "anthropic";
  if (/\/responses(\/[^/]*)?$/.test(path)) return "openai-responses";
  if (/\/chat\/completions$/.test(path)) return "openai-chat";
  if (/:(streamGenerateContent|generateContent|countTokens)$/.test(path)) return "gemini";
  return "unknown";
}

/** The output-cap fields of every format, first found wins. */
const MAX_OUTPUT_FIELDS = ["max_tokens", "max_output_tokens", "max_completion_tokens", "maxOutputTokens"];

export function inspectRequest(method: string, path: string, query: string, body: Buffer): MeteredRequest {
  const format = formatOf(path);
  const json = parseObject(body);
  const generation = object(json?.generationConfig) ?? object(json?.generation_config);
  let maxOutputTokens: number | null = null;
  for (const source of [json, generation]) {
    for (const field of MAX_OUTPUT_FIELDS) {
      const value = source?.[field];
      if (maxOutputTokens === null && typeof value === "number" && Number.isFinite(value) && value >= 0)
        maxOutputTokens = value;
    }
  }
  const geminiModel = /\/models\/([^/:]+):/.exec(path)?.[1];
  const model =
    typeof json?.model === "string" && json.model !== ""
      ? json.model
      : geminiModel
        ? safeDecode(geminiModel)
        : null;
  const stream =
    json?.stream === true ||
    path.endsWith(":streamGenerateContent") ||
    new URLSearchParams(query).get("alt") === "sse";
  return { format, model, maxOutputTokens, bodyBytes: body.length, stream, method, path };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function object(value: unknown): Record<string, unknown> | null {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

function parseObject(body: Buffer): Record<string, unknown> | null {
  if (body.length === 0) return null;
  try {
    return object(JSON.parse(body.toString("utf8")));
  } catch {
    return null;
  }
}
