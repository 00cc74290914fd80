/**
 * Token usage read out of model responses, in loopd's convention (the harness adapters use the
 * same one, so the gateway's ledger rows and a harness's own report agree):
 *
 * | loopd           | Anthropic                                   | OpenAI Responses                          | Chat Completions                              | Gemini                                       |
 * | --------------- | ------------------------------------------- | ----------------------------------------- | --------------------------------------------- | -------------------------------------------- |
 * | tokensIn        | input_tokens + cache_creation_input_tokens  | input_tokens − input_tokens_details.cached_tokens | prompt_tokens − prompt_tokens_details.cached_tokens | promptTokenCount − cachedContentTokenCount + toolUsePromptTokenCount |
 * | tokensCached    | cache_read_input_tokens                     | input_tokens_details.cached_tokens        | prompt_tokens_details.cached_tokens           | cachedContentTokenCount                      |
 * | tokensOut       | output_tokens (thinking included)           | output_tokens (reasoning included)        | completion_tokens (reasoning included)        | candidatesTokenCount + thoughtsTokenCount    |
 * | tokensReasoning | output_tokens_details.thinking_tokens, if sent | output_tokens_details.reasoning_tokens | completion_tokens_details.reasoning_tokens    | thoughtsTokenCount                           |
 *
 * tokensIn is the input not served from a cache: cache writes are in it (billed as input),
 * cache reads are not. tokensOut includes the reasoning, as every API but Gemini counts it.
 *
 * Where each stream carries its usage: Anthropic's `message_start` (input and cache counts,
 * a provisional output count) and `message_delta` (the final, cumulative counts); Responses'
 * terminal event (`response.completed`, `.incomplete` or `.failed`) `response.usage`; Chat
 * Completions' last chunk when `stream_options.include_usage` is set; Gemini's
 * `usageMetadata` on the chunks (cumulative: the last one wins).
 */
import type { TokenUsage } from "../domain/run-report.js";
import type { WireFormat } from "./types.js";

type Json = Record<string, unknown>;

function num(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? value : 0;
}

function obj(value: unknown): Json | null {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : null;
}

export function anthropicUsage(usage: Json): TokenUsage {
  return {
    tokensIn: num(usage.input_tokens) + num(usage.cache_creation_input_tokens),
    tokensCached: num(usage.cache_read_input_tokens),
    tokensOut: num(usage.output_tokens),
    tokensReasoning: num(obj(usage.output_tokens_details)?.thinking_tokens),
  };
}

export function openaiResponsesUsage(usage: Json): TokenUsage {
  const cached = num(obj(usage.input_tokens_details)?.cached_tokens);
  return {
    tokensIn: Math.max(0, num(usage.input_tokens) - cached),
    tokensCached: cached,
    tokensOut: num(usage.output_tokens),
    tokensReasoning: num(obj(usage.output_tokens_details)?.reasoning_tokens),
  };
}

export function openaiChatUsage(usage: Json): TokenUsage {
  const cached = num(obj(usage.prompt_tokens_details)?.cached_tokens);
  return {
    tokensIn: Math.max(0, num(usage.prompt_tokens) - cached),
    tokensCached: cached,
    tokensOut: num(usage.completion_tokens),
    tokensReasoning: num(obj(usage.completion_tokens_details)?.reasoning_tokens),
  };
}

export function geminiUsage(metadata: Json): TokenUsage {
  const cached = num(metadata.cachedContentTokenCount);
  const thoughts = num(metadata.thoughtsTokenCount);
  return {
    tokensIn: Math.max(0, num(metadata.promptTokenCount) - cached) + num(metadata.toolUsePromptTokenCount),
    tokensCached: cached,
    tokensOut: num(metadata.candidatesTokenCount) + thoughts,
    tokensReasoning: thoughts,
  };
}

/** Collects one response's usage and model from its SSE events or its JSON body. */
export interface UsageReader {
  /** One SSE event, as `SseParser` dispatches it. */
  event(name: string | null, data: string): void;
  /** A whole (non-streamed) JSON body. */
  body(body: unknown): void;
  usage(): TokenUsage | null;
  model(): string | null;
}

export function usageReader(format: WireFormat): UsageReader {
  switch (format) {
    case "anthropic":
      return anthropicReader();
    case "openai-responses":
      return responsesReader();
    case "openai-chat":
      return chatReader();
    case "gemini":
      return geminiReader();
    default:
      return { event() {}, body() {}, usage: () => null, model: () => null };
  }
}

function parse(data: string): Json | null {
  try {
    return obj(JSON.parse(data));
  } catch {
    return null;
  }
}

function str(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

function anthropicReader(): UsageReader {
  // message_start's counts, then message_delta's fields over them (they are cumulative).
  let raw: Json | null = null;
  let model: string | null = null;
  return {
    event(name, data) {
      // Only two event types carry usage; skipping the content deltas unparsed keeps this cheap.
      if (name !== null && name !== "message_start" && name !== "message_delta") return;
      if (name === null && !data.includes('"usage"')) return;
      const event = parse(data);
      if (event?.type === "message_start") {
        const message = obj(event.message);
        model = str(message?.model) ?? model;
        const usage = obj(message?.usage);
        if (usage) raw = { ...usage };
      } else if (event?.type === "message_delta") {
        const usage = obj(event.usage);
        if (usage) raw = { ...raw, ...withoutNulls(usage) };
      }
    },
    body(body) {
      const message = obj(body);
      model = str(message?.model) ?? model;
      const usage = obj(message?.usage);
      if (usage) raw = usage;
    },
    usage: () => (raw ? anthropicUsage(raw) : null),
    model: () => model,
  };
}

function responsesReader(): UsageReader {
  let usage: TokenUsage | null = null;
  let model: string | null = null;
  const take = (response: Json | null) => {
    model = str(response?.model) ?? model;
    const raw = obj(response?.usage);
    if (raw) usage = openaiResponsesUsage(raw);
  };
  return {
    event(name, data) {
      const type = name ?? "";
      if (
        name !== null &&
        type !== "response.created" &&
        !/^response\.(completed|incomplete|failed)$/.test(type)
      )
        return;
      if (name === null && !data.includes('"response.')) return;
      const event = parse(data);
      if (
        typeof event?.type === "string" &&
        /^response\.(created|completed|incomplete|failed)$/.test(event.type)
      )
        take(obj(event.response));
    },
    body(body) {
      take(obj(body));
    },
    usage: () => usage,
    model: () => model,
  };
}

function chatReader(): UsageReader {
  let usage: TokenUsage | null = null;
  let model: string | null = null;
  return {
    event(_name, data) {
      // Each chunk names the model; parse the first one and then only those that carry usage.
      if (model !== null && !data.includes('"usage"')) return;
      const chunk = parse(data);
      model = model ?? str(chunk?.model);
      const raw = obj(chunk?.usage);
      if (raw) usage = openaiChatUsage(raw);
    },
    body(body) {
      const completion = obj(body);
      model = str(completion?.model) ?? model;
      const raw = obj(completion?.usage);
      if (raw) usage = openaiChatUsage(raw);
    },
    usage: () => usage,
    model: () => model,
  };
}

function geminiReader(): UsageReader {
  let usage: TokenUsage | null = null;
  let model: string | null = null;
  const take = (chunk: Json | null) => {
    model = str(chunk?.modelVersion) ?? model;
    const raw = obj(chunk?.usageMetadata);
    if (raw) usage = geminiUsage(raw);
  };
  return {
    event(_name, data) {
      if (model !== null && !data.includes('"usageMetadata"')) return;
      take(parse(data));
    },
    body(body) {
      // A non-streamed answer is one object; `streamGenerateContent` without `alt=sse` is a JSON array.
      if (Array.isArray(body)) for (const chunk of body) take(obj(chunk));
      else take(obj(body));
    },
    usage: () => usage,
    model: () => model,
  };
}

function withoutNulls(value: Json): Json {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined));
}
