/**
 * The Gemini API half of the fake model server (`POST /v1beta/models/<model>:generateContent`
 * and `:streamGenerateContent`, streamed as SSE the way `?alt=sse` asks): a reply is a
 * `GenerateContentResponse` with text parts and `functionCall` parts; a stream sends the text
 * in pieces, each chunk with the usage so far (`usageMetadata` is cumulative, the last chunk
 * has the final counts), as the API does.
 *
 * Usage mapping: `promptTokenCount` = scripted `input` + `cached` (the prompt includes the
 * cached part), `cachedContentTokenCount` = `cached`, `thoughtsTokenCount` = `reasoning`,
 * `candidatesTokenCount` = `output` − `reasoning` (Gemini counts the thoughts apart; loopd's
 * tokensOut includes them, so it reads back as `output`).
 */
import type { ServerResponse } from "node:http";
import { chunks } from "./openai-responses.js";
import { type ModelRequest, type ScriptedReply, usageOf } from "./script.js";
import { json, sse } from "./server.js";

export function handleGemini(request: ModelRequest, reply: ScriptedReply, res: ServerResponse): void {
  if (reply.status !== undefined && reply.status >= 400) {
    json(res, reply.status, {
      error: {
        code: reply.status,
        message: reply.errorMessage ?? `fake model server: scripted status ${reply.status}`,
        status:
          reply.status === 429 ? "RESOURCE_EXHAUSTED" : reply.status >= 500 ? "INTERNAL" : "INVALID_ARGUMENT",
      },
    });
    return;
  }
  const model = request.model || "gemini-fake";
  const usage = usageOf(reply);
  const reasoning = Math.min(usage.reasoning, usage.output);
  const metadata = (final: boolean) => ({
    promptTokenCount: usage.input + usage.cached,
    candidatesTokenCount: final ? usage.output - reasoning : 1,
    ...(usage.cached > 0 ? { cachedContentTokenCount: usage.cached } : {}),
    ...(reasoning > 0 ? { thoughtsTokenCount: final ? reasoning : 0 } : {}),
    totalTokenCount: usage.input + usage.cached + (final ? usage.output : 1),
  });
  const calls = (reply.toolCalls ?? []).map((call) => ({
    functionCall: { name: call.name, args: call.input },
  }));
  const response = (parts: unknown[], final: boolean) => ({
    candidates: [{ content: { role: "model", parts }, ...(final ? { finishReason: "STOP" } : {}), index: 0 }],
    usageMetadata: metadata(final),
    modelVersion: model,
    responseId: "fake-gemini-response",
  });

  if (!request.stream) {
    json(res, 200, response([...(reply.text !== undefined ? [{ text: reply.text }] : []), ...calls], true));
    return;
  }
  const stream = sse(res);
  const pieces = chunks(reply.text ?? "");
  pieces.forEach((piece) => {
    stream.send(null, response([{ text: piece }], false));
  });
  stream.send(null, response(calls.length > 0 ? calls : [{ text: "" }], true));
  stream.end();
}
