/**
 * The Anthropic Messages API half of the fake model server (`POST /v1/messages`), as Claude
 * Code and `@ai-sdk/anthropic` speak it: a streamed reply is the SSE sequence message_start →
 * per block content_block_start / *_delta / content_block_stop → message_delta (stop reason,
 * output tokens) → message_stop; a non-streamed reply is one `message` JSON; a scripted
 * `status` of 400+ is an Anthropic-shaped error body (`{type:"error", error:{type, message}}`).
 *
 * Usage mapping: scripted `input` is uncached input (`input_tokens`), `cached` is
 * `cache_read_input_tokens`, `output` is `output_tokens`. Anthropic has no separate reasoning
 * count (thinking is billed as output), so `reasoning` is not sent.
 */
import type { ServerResponse } from "node:http";
import { callId, type ModelRequest, type ScriptedReply, usageOf } from "./script.js";
import { json, sse } from "./server.js";

/** Error `type` per HTTP status, as api.anthropic.com answers them. */
const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  529: "overloaded_error",
};

type ContentBlock =
  | { type: "text"; text: string }
  | { type: "tool_use"; id: string; name: string; input: Record<string, unknown> };

export function handleAnthropic(request: ModelRequest, reply: ScriptedReply, res: ServerResponse): void {
  if (reply.status !== undefined && reply.status >= 400) {
    sendError(res, reply.status, reply.errorMessage);
    return;
  }
  const model = request.model || "claude-fake";
  const usage = usageOf(reply);
  const content = contentOf(reply);
  const stopReason = reply.toolCalls?.length ? "tool_use" : "end_turn";
  const id = callId("msg");
  const startUsage = {
    input_tokens: usage.input,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: usage.cached,
    output_tokens: usage.output,
  };

  if (!request.stream) {
    json(res, 200, {
      id,
      type: "message",
      role: "assistant",
      model,
      content,
      stop_reason: stopReason,
      stop_sequence: null,
      usage: startUsage,
    });
    return;
  }

  const stream = sse(res);
  // The real API reports a provisional output count in message_start and the final one in
  // message_delta; clients take the latter, so both are sent the way the API sends them.
  stream.send("message_start", {
    type: "message_start",
    message: {
      id,
      type: "message",
      role: "assistant",
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...startUsage, output_tokens: 1 },
    },
  });
  stream.send("ping", { type: "ping" });
  content.forEach((block, index) => {
    if (block.type === "text") {
      stream.send("content_block_start", {
        type: "content_block_start",
        index,
        content_block: { type: "text", text: "" },
      });
      for (const piece of chunks(block.text, 16)) {
        stream.send("content_block_delta", {
          type: "content_block_delta",
          index,
          delta: { type: "text_delta", text: piece },
        });
      }
    } else {
      stream.send("content_block_start", {
        type: "content_block_start",
        index,
        content_block: { type: "tool_use", id: block.id, name: block.name, input: {} },
      });
      // Split the arguments like the API does, so clients must reassemble partial JSON.
      for (const piece of chunks(JSON.stringify(block.input), 24)) {
        stream.send("content_block_delta", {
          type: "content_block_delta",
          index,
          delta: { type: "input_json_delta", partial_json: piece },
        });
      }
    }
    stream.send("content_block_stop", { type: "content_block_stop", index });
  });
  stream.send("message_delta", {
    type: "message_delta",
    delta: { stop_reason: stopReason, stop_sequence: null },
    usage: { output_tokens: usage.output },
  });
  stream.send("message_stop", { type: "message_stop" });
  stream.end();
}

function contentOf(reply: ScriptedReply): ContentBlock[] {
  const blocks: ContentBlock[] = [];
  const calls = reply.toolCalls ?? [];
  // A reply with nothing scripted still needs one block: the API never returns empty content.
  if (reply.text !== undefined || calls.length === 0) blocks.push({ type: "text", text: reply.text ?? "" });
  for (const call of calls) {
    blocks.push({ type: "tool_use", id: call.id ?? callId("toolu"), name: call.name, input: call.input });
  }
  return blocks;
}

/** An Anthropic-shaped error response (also used for a rejected key on GET /v1/models). */
export function sendError(res: ServerResponse, status: number, message: string | undefined): void {
  const type = ERROR_TYPES[status] ?? (status >= 500 ? "api_error" : "invalid_request_error");
  res.setHeader("request-id", callId("req"));
  json(res, status, { type: "error", error: { type, message: message ?? defaultMessage(status) } });
}

function defaultMessage(status: number): string {
  if (status === 401) return "invalid x-api-key";
  if (status === 403) return "Your API key does not have permission to use the specified resource.";
  if (status === 429) return "Number of request tokens has exceeded your rate limit.";
  if (status === 529) return "Overloaded";
  return `fake model server: scripted status ${status}`;
}

/** `text` cut into pieces of at most `size` characters (at least one piece, possibly empty). */
function chunks(text: string, size: number): string[] {
  if (text.length <= size) return [text];
  const pieces: string[] = [];
  for (let start = 0; start < text.length; start += size) pieces.push(text.slice(start, start + size));
  return pieces;
}
