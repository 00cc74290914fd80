/**
 * OpenAI's embeddings API (`POST /v1/embeddings`) for the fake model server: the request's
 * `input` (a string or a list), answered in OpenAI's shape — `{ object: "list", data: [{
 * object: "embedding", index, embedding }], model, usage }`, floats or base64 float32 per
 * `encoding_format`. The vectors are deterministic bags of hashed words (256 dimensions), so
 * texts sharing words are close, as with a real model, and a test can cluster on them.
 */
import type { ServerResponse } from "node:http";
import { openAIError } from "./openai-responses.js";
import type { ModelRequest, ScriptedReply } from "./script.js";
import { json } from "./server.js";

const DIMENSIONS = 256;
/** Words a model would not make much of. */
const FILLER = new Set(
  "with when while because this that from have every really again please since seems".split(" "),
);

export function handleEmbeddings(request: ModelRequest, reply: ScriptedReply, res: ServerResponse): void {
  if (reply.status !== undefined && reply.status >= 400) {
    json(res, reply.status, openAIError(reply.status, reply.errorMessage));
    return;
  }
  const input = request.body.input;
  const texts = typeof input === "string" ? [input] : Array.isArray(input) ? input.map(String) : [];
  const base64 = request.body.encoding_format === "base64";
  let tokens = 0;
  const data = texts.map((text, index) => {
    const vector = fakeEmbedding(text);
    tokens += text.split(/\s+/).filter(Boolean).length;
    return {
      object: "embedding",
      index,
      embedding: base64 ? Buffer.from(Float32Array.from(vector).buffer).toString("base64") : vector,
    };
  });
  json(res, 200, {
    object: "list",
    data,
    model: request.model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  });
}

export function fakeEmbedding(text: string): number[] {
  const vector = new Array<number>(DIMENSIONS).fill(0);
  for (const word of text.toLowerCase().match(/[a-z]{4,}/g) ?? []) {
    if (FILLER.has(word)) continue;
    // The first five letters: "crashes" and "crashed" land together, as a model would have them.
    const stem = word.slice(0, 5);
    let hash = 2166136261;
    for (let i = 0; i < stem.length; i++) hash = Math.imul(hash ^ stem.charCodeAt(i), 16777619);
    vector[(hash >>> 0) % DIMENSIONS]! += 1;
  }
  const norm = Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0)) || 1;
  return vector.map((value) => value / norm);
}
