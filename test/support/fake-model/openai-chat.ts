/**
 * OpenAI Chat Completions (`POST /v1/chat/completions`) for the fake model server: what
 * `@ai-sdk/openai-compatible`, opencode and most OpenAI-compatible clients speak. Streaming
 * sends `chat.completion.chunk`s the way the API does: a first chunk with the role, content
 * deltas, tool calls (first chunk of each with index, id, type and name, then argument
 * pieces), a chunk with `finish_reason`, a usage chunk with empty `choices` when
 * `stream_options.include_usage` is set, then `data: [DONE]`. `stream: false` answers with one
 * `chat.completion`. A scripted `status` answers with an HTTP error in OpenAI's envelope;
 * `errorMessage` alone sends an `{"error": …}` event mid-stream, as the API does for a
 * server failure after the response started.
 */
import type { ServerResponse } from "node:http";
import { chunks, openAIError } from "./openai-responses.js";
import { callId, type ModelRequest, type ScriptedReply, usageOf } from "./script.js";
import { json, sse } from "./server.js";

const FINGERPRINT = "fp_loopd_fake";

export function handleChatCompletions(
  request: ModelRequest,
  reply: ScriptedReply,
  res: ServerResponse,
): void {
  if (reply.status !== undefined && reply.status >= 400) {
    json(res, reply.status, openAIError(reply.status, reply.errorMessage));
    return;
  }
  const id = callId("chatcmpl");
  const created = Math.floor(Date.now() / 1000);
  const model = request.model || "fake-model";
  const calls = (reply.toolCalls ?? []).map((call) => ({
    id: call.id ?? callId("call"),
    type: "function" as const,
    function: { name: call.name, arguments: JSON.stringify(call.input) },
  }));
  const finishReason = calls.length > 0 ? "tool_calls" : "stop";
  const usage = chatUsage(reply);

  if (!request.stream) {
    json(res, 200, {
      id,
      object: "chat.completion",
      created,
      model,
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            // The API sends null content for a reply that only calls tools.
            content: reply.text ?? (calls.length > 0 ? null : ""),
            refusal: null,
            annotations: [],
            ...(calls.length > 0 ? { tool_calls: calls } : {}),
          },
          logprobs: null,
          finish_reason: finishReason,
        },
      ],
      usage,
      service_tier: "default",
      system_fingerprint: FINGERPRINT,
    });
    return;
  }

  const options = request.body.stream_options as { include_usage?: unknown } | undefined;
  const includeUsage = options?.include_usage === true;
  const stream = sse(res);
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    stream.send(null, {
      id,
      object: "chat.completion.chunk",
      created,
      model,
      service_tier: "default",
      system_fingerprint: FINGERPRINT,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      // With include_usage every chunk carries `usage: null` until the final usage chunk.
      ...(includeUsage ? { usage: null } : {}),
    });

  chunk({ role: "assistant", content: "", refusal: null });
  for (const piece of chunks(reply.text ?? "")) chunk({ content: piece });
  calls.forEach((call, index) => {
    chunk({
      tool_calls: [
        { index, id: call.id, type: "function", function: { name: call.function.name, arguments: "" } },
      ],
    });
    for (const piece of chunks(call.function.arguments)) {
      chunk({ tool_calls: [{ index, function: { arguments: piece } }] });
    }
  });
  if (reply.errorMessage !== undefined) {
    stream.send(null, {
      error: { message: reply.errorMessage, type: "server_error", param: null, code: null },
    });
    stream.end();
    return;
  }
  chunk({}, finishReason);
  if (includeUsage) {
    stream.send(null, {
      id,
      object: "chat.completion.chunk",
      created,
      model,
      service_tier: "default",
      system_fingerprint: FINGERPRINT,
      choices: [],
      usage,
    });
  }
  stream.send(null, "[DONE]");
  stream.end();
}

/** The API's usage block: prompt_tokens includes the cached part, completion_tokens the reasoning. */
function chatUsage(reply: ScriptedReply): Record<string, unknown> {
  const usage = usageOf(reply);
  const prompt = usage.input + usage.cached;
  return {
    prompt_tokens: prompt,
    completion_tokens: usage.output,
    total_tokens: prompt + usage.output,
    prompt_tokens_details: { cached_tokens: usage.cached, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: usage.reasoning,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}
