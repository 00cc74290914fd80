/**
 * OpenAI Responses API (`POST /v1/responses`) for the fake model server: the protocol Codex
 * speaks (`wire_api = "responses"`) and `@ai-sdk/openai`'s default. Streams the same SSE event
 * sequence the real API sends (created → in_progress → output items with their deltas →
 * completed with usage), or answers `stream: false` with the finished response object.
 *
 * A scripted tool call is rendered in the shape the client declared: a `function` tool gives
 * a `function_call` item with JSON arguments; a `custom` (freeform) tool such as Codex's
 * `apply_patch` gives a `custom_tool_call` whose `input` is the raw text (`input.input`).
 * A scripted `status` answers with an HTTP error; `errorMessage` alone fails the stream with
 * `response.failed`, as the API does for a server-side failure mid-response.
 */
import type { ServerResponse } from "node:http";
import { callId, type ModelRequest, type ScriptedReply, usageOf } from "./script.js";
import { json, sse } from "./server.js";

type Item = Record<string, unknown> & { id: string; type: string };

export function handleResponses(request: ModelRequest, reply: ScriptedReply, res: ServerResponse): void {
  if (reply.status !== undefined && reply.status >= 400) {
    json(res, reply.status, openAIError(reply.status, reply.errorMessage));
    return;
  }
  const response = baseResponse(request);
  const items = outputItems(request, reply);
  if (!request.stream) {
    json(res, 200, finished(response, items, reply));
    return;
  }
  const stream = sse(res);
  let sequence = 0;
  const send = (type: string, data: Record<string, unknown>) =>
    stream.send(type, { type, sequence_number: sequence++, ...data });

  send("response.created", { response: { ...response, status: "in_progress" } });
  send("response.in_progress", { response: { ...response, status: "in_progress" } });
  items.forEach((item, outputIndex) => {
    const at = { item_id: item.id, output_index: outputIndex };
    send("response.output_item.added", { output_index: outputIndex, item: inProgress(item) });
    if (item.type === "message") {
      const text = String((item.content as Array<{ text: string }>)[0]?.text ?? "");
      const part = { type: "output_text", annotations: [], logprobs: [], text: "" };
      send("response.content_part.added", { ...at, content_index: 0, part });
      for (const delta of chunks(text)) {
        send("response.output_text.delta", { ...at, content_index: 0, delta, logprobs: [] });
      }
      send("response.output_text.done", { ...at, content_index: 0, text, logprobs: [] });
      send("response.content_part.done", { ...at, content_index: 0, part: { ...part, text } });
    } else if (item.type === "function_call") {
      const args = String(item.arguments);
      for (const delta of chunks(args)) send("response.function_call_arguments.delta", { ...at, delta });
      send("response.function_call_arguments.done", { ...at, name: item.name, arguments: args });
    } else if (item.type === "custom_tool_call") {
      const input = String(item.input);
      for (const delta of chunks(input)) send("response.custom_tool_call_input.delta", { ...at, delta });
      send("response.custom_tool_call_input.done", { ...at, input });
    }
    send("response.output_item.done", { output_index: outputIndex, item });
  });
  if (reply.errorMessage !== undefined) {
    send("response.failed", {
      response: {
        ...response,
        status: "failed",
        output: items,
        error: { code: "server_error", message: reply.errorMessage },
      },
    });
  } else {
    send("response.completed", { response: finished(response, items, reply) });
  }
  stream.end();
}

/** The API's error envelope; `code` is what clients branch on (401 → `invalid_api_key`). */
export function openAIError(status: number, message?: string): { error: Record<string, unknown> } {
  const known: Record<number, { type: string; code: string | null; message: string }> = {
    400: { type: "invalid_request_error", code: null, message: "Bad request." },
    401: {
      type: "invalid_request_error",
      code: "invalid_api_key",
      message:
        "Incorrect API key provided: sk-fake***. You can find your API key at https://platform.openai.com/account/api-keys.",
    },
    403: {
      type: "invalid_request_error",
      code: "unsupported_country_region_territory",
      message: "Forbidden.",
    },
    404: { type: "invalid_request_error", code: "model_not_found", message: "The model does not exist." },
    429: {
      type: "requests",
      code: "rate_limit_exceeded",
      message: "Rate limit reached. Please try again later.",
    },
  };
  const shape = known[status] ?? { type: "server_error", code: null, message: "The server had an error." };
  return { error: { message: message ?? shape.message, type: shape.type, param: null, code: shape.code } };
}

function baseResponse(request: ModelRequest): Record<string, unknown> {
  const body = request.body;
  return {
    id: callId("resp"),
    object: "response",
    created_at: Math.floor(Date.now() / 1000),
    status: "in_progress",
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model: request.model || "fake-model",
    output: [],
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: body.reasoning ?? { effort: null, summary: null },
    store: body.store ?? true,
    temperature: body.temperature ?? 1,
    text: body.text ?? { format: { type: "text" } },
    tool_choice: body.tool_choice ?? "auto",
    tools: body.tools ?? [],
    top_p: body.top_p ?? 1,
    truncation: "disabled",
    usage: null,
    user: null,
    metadata: {},
  };
}

function finished(
  response: Record<string, unknown>,
  items: Item[],
  reply: ScriptedReply,
): Record<string, unknown> {
  const usage = usageOf(reply);
  // The API's input_tokens includes the cached part; the script's `input` is the uncached part.
  const inputTokens = usage.input + usage.cached;
  return {
    ...response,
    status: "completed",
    output: items,
    usage: {
      input_tokens: inputTokens,
      input_tokens_details: { cached_tokens: usage.cached },
      output_tokens: usage.output,
      output_tokens_details: { reasoning_tokens: usage.reasoning },
      total_tokens: inputTokens + usage.output,
    },
  };
}

/** The reply's output items: a message (when there is text), then one item per tool call. */
function outputItems(request: ModelRequest, reply: ScriptedReply): Item[] {
  const items: Item[] = [];
  if (reply.text !== undefined || !reply.toolCalls?.length) {
    items.push({
      id: callId("msg"),
      type: "message",
      status: "completed",
      role: "assistant",
      content: [{ type: "output_text", annotations: [], logprobs: [], text: reply.text ?? "" }],
    });
  }
  for (const call of reply.toolCalls ?? []) {
    const id = call.id ?? callId("call");
    if (declaredToolType(request, call.name) === "custom") {
      const raw = call.input.input;
      items.push({
        id: callId("ctc"),
        type: "custom_tool_call",
        status: "completed",
        call_id: id,
        name: call.name,
        input: typeof raw === "string" ? raw : JSON.stringify(call.input),
      });
    } else {
      items.push({
        id: callId("fc"),
        type: "function_call",
        status: "completed",
        call_id: id,
        name: call.name,
        arguments: JSON.stringify(call.input),
      });
    }
  }
  return items;
}

function declaredToolType(request: ModelRequest, name: string): string | null {
  const tools = Array.isArray(request.body.tools)
    ? (request.body.tools as Array<Record<string, unknown>>)
    : [];
  const tool = tools.find((candidate) => candidate.name === name);
  return typeof tool?.type === "string" ? tool.type : null;
}

/** The item as `output_item.added` shows it: nothing generated yet. */
function inProgress(item: Item): Item {
  if (item.type === "message") return { ...item, status: "in_progress", content: [] };
  if (item.type === "function_call") return { ...item, status: "in_progress", arguments: "" };
  if (item.type === "custom_tool_call") return { ...item, status: "in_progress", input: "" };
  return item;
}

/** Splits text into a few deltas, so clients exercise their delta accumulation. */
export function chunks(text: string, size = 16): string[] {
  if (text === "") return [];
  const parts: string[] = [];
  for (let at = 0; at < text.length; at += size) parts.push(text.slice(at, at + size));
  return parts;
}
