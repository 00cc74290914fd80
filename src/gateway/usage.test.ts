import { describe, expect, it } from "vitest";
import { formatOf, inspectRequest } from "./request-info.js";
import { SseParser } from "./sse.js";
import type { WireFormat } from "./types.js";
import {
  anthropicUsage,
  geminiUsage,
  openaiChatUsage,
  openaiResponsesUsage,
  type UsageReader,
  usageReader,
} from "./usage.js";

const usage = (tokensIn: number, tokensCached: number, tokensOut: number, tokensReasoning: number) => ({
  tokensIn,
  tokensCached,
  tokensOut,
  tokensReasoning,
});

describe("usage mapping (loopd's convention: tokensIn uncached incl. cache writes, tokensOut incl. reasoning)", () => {
  it.each([
    ["anthropic plain", anthropicUsage({ input_tokens: 100, output_tokens: 20 }), usage(100, 0, 20, 0)],
    [
      "anthropic cache write and read",
      anthropicUsage({
        input_tokens: 10,
        cache_creation_input_tokens: 50,
        cache_read_input_tokens: 400,
        output_tokens: 7,
      }),
      usage(60, 400, 7, 0),
    ],
    [
      "responses cached and reasoning",
      openaiResponsesUsage({
        input_tokens: 500,
        input_tokens_details: { cached_tokens: 300 },
        output_tokens: 90,
        output_tokens_details: { reasoning_tokens: 60 },
      }),
      usage(200, 300, 90, 60),
    ],
    [
      "chat cached and reasoning",
      openaiChatUsage({
        prompt_tokens: 120,
        completion_tokens: 40,
        prompt_tokens_details: { cached_tokens: 20 },
        completion_tokens_details: { reasoning_tokens: 15 },
      }),
      usage(100, 20, 40, 15),
    ],
    ["chat without details", openaiChatUsage({ prompt_tokens: 9, completion_tokens: 3 }), usage(9, 0, 3, 0)],
    [
      "gemini cached, thoughts and tool-use prompt",
      geminiUsage({
        promptTokenCount: 1000,
        cachedContentTokenCount: 600,
        candidatesTokenCount: 50,
        thoughtsTokenCount: 30,
        toolUsePromptTokenCount: 5,
        totalTokenCount: 1085,
      }),
      usage(405, 600, 80, 30),
    ],
    [
      "nonsense fields count as zero",
      openaiResponsesUsage({ input_tokens: "7", output_tokens: -3, input_tokens_details: null }),
      usage(0, 0, 0, 0),
    ],
  ])("%s", (_name, actual, expected) => {
    expect(actual).toEqual(expected);
  });
});

/** Feeds an SSE text to a reader through the parser, in pieces of `size` characters. */
function readSse(format: WireFormat, text: string, size: number): UsageReader {
  const reader = usageReader(format);
  const parser = new SseParser((event, data) => reader.event(event, data));
  for (let at = 0; at < text.length; at += size) parser.push(Buffer.from(text.slice(at, at + size)));
  parser.end();
  return reader;
}

const sse = (events: Array<[string | null, unknown]>, eol = "\n") =>
  events
    .map(([name, data]) => `${name ? `event: ${name}${eol}` : ""}data: ${JSON.stringify(data)}${eol}${eol}`)
    .join("");

describe("usage from streams", () => {
  const anthropicStream = sse([
    [
      "message_start",
      {
        type: "message_start",
        message: {
          model: "claude-x",
          usage: {
            input_tokens: 10,
            cache_creation_input_tokens: 5,
            cache_read_input_tokens: 80,
            output_tokens: 1,
          },
        },
      },
    ],
    ["ping", { type: "ping" }],
    ["content_block_delta", { type: "content_block_delta", delta: { type: "text_delta", text: "hi\n\n" } }],
    [
      "message_delta",
      { type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: 42 } },
    ],
    ["message_stop", { type: "message_stop" }],
  ]);

  it.each([1, 3, 7, 64, 100_000])(
    "Anthropic: message_start counts, message_delta's output (pieces of %i)",
    (size) => {
      const reader = readSse("anthropic", anthropicStream, size);
      expect(reader.usage()).toEqual(usage(15, 80, 42, 0));
      expect(reader.model()).toBe("claude-x");
    },
  );

  it("Anthropic with CRLF and CR line ends, split anywhere", () => {
    for (const eol of ["\r\n", "\r"]) {
      const text = anthropicStream.replaceAll("\n", eol);
      for (const size of [1, 2, 5])
        expect(readSse("anthropic", text, size).usage()).toEqual(usage(15, 80, 42, 0));
    }
  });

  it("Anthropic: a stream cut before message_delta keeps message_start's counts", () => {
    const cut = anthropicStream.slice(0, anthropicStream.indexOf("event: message_delta"));
    expect(readSse("anthropic", cut, 10).usage()).toEqual(usage(15, 80, 1, 0));
  });

  it("OpenAI Responses: response.completed usage", () => {
    const text = sse([
      ["response.created", { type: "response.created", response: { model: "gpt-x", usage: null } }],
      ["response.output_text.delta", { type: "response.output_text.delta", delta: "usage" }],
      [
        "response.completed",
        {
          type: "response.completed",
          response: {
            model: "gpt-x",
            usage: {
              input_tokens: 50,
              input_tokens_details: { cached_tokens: 20 },
              output_tokens: 9,
              output_tokens_details: { reasoning_tokens: 4 },
            },
          },
        },
      ],
    ]);
    const reader = readSse("openai-responses", text, 13);
    expect(reader.usage()).toEqual(usage(30, 20, 9, 4));
    expect(reader.model()).toBe("gpt-x");
  });

  it("Chat Completions: the include_usage chunk, then [DONE]", () => {
    const chunk = (extra: Record<string, unknown>) => ({
      model: "m-chat",
      choices: [],
      usage: null,
      ...extra,
    });
    const text = `${sse([
      [null, chunk({ choices: [{ delta: { content: "a" } }] })],
      [
        null,
        chunk({
          usage: { prompt_tokens: 30, completion_tokens: 5, prompt_tokens_details: { cached_tokens: 10 } },
        }),
      ],
    ])}data: [DONE]\n\n`;
    const reader = readSse("openai-chat", text, 11);
    expect(reader.usage()).toEqual(usage(20, 10, 5, 0));
    expect(reader.model()).toBe("m-chat");
  });

  it("Gemini: usageMetadata on several chunks, the last one wins", () => {
    const text = sse([
      [null, { modelVersion: "gemini-x", usageMetadata: { promptTokenCount: 40, candidatesTokenCount: 1 } }],
      [null, { usageMetadata: { promptTokenCount: 40, candidatesTokenCount: 12, thoughtsTokenCount: 3 } }],
    ]);
    const reader = readSse("gemini", text, 9);
    expect(reader.usage()).toEqual(usage(40, 0, 15, 3));
    expect(reader.model()).toBe("gemini-x");
  });

  it("a stream without usage and an unknown format read as null", () => {
    expect(readSse("openai-chat", sse([[null, { model: "m", choices: [] }]]), 4).usage()).toBeNull();
    expect(readSse("unknown", anthropicStream, 4).usage()).toBeNull();
  });
});

describe("usage from JSON bodies", () => {
  it.each([
    ["anthropic", { model: "c", usage: { input_tokens: 3, output_tokens: 4 } }, usage(3, 0, 4, 0)],
    ["openai-responses", { model: "c", usage: { input_tokens: 3, output_tokens: 4 } }, usage(3, 0, 4, 0)],
    ["openai-chat", { model: "c", usage: { prompt_tokens: 3, completion_tokens: 4 } }, usage(3, 0, 4, 0)],
    [
      "gemini",
      { modelVersion: "c", usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 4 } },
      usage(3, 0, 4, 0),
    ],
    [
      "gemini",
      [
        { usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 1 } },
        { modelVersion: "c", usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 4 } },
      ],
      usage(3, 0, 4, 0),
    ],
  ] as Array<[WireFormat, unknown, ReturnType<typeof usage>]>)("%s", (format, body, expected) => {
    const reader = usageReader(format);
    reader.body(body);
    expect(reader.usage()).toEqual(expected);
    expect(reader.model()).toBe("c");
  });
});

describe("request inspection", () => {
  it.each([
    ["/v1/messages", "anthropic"],
    ["/v1/messages/count_tokens", "anthropic"],
    ["/v1/responses", "openai-responses"],
    ["/responses/compact", "openai-responses"],
    ["/api/v1/chat/completions", "openai-chat"],
    ["/v1beta/models/gemini-2.5-flash:streamGenerateContent", "gemini"],
    ["/v1beta/models/gemini-2.5-flash:generateContent", "gemini"],
    ["/v1/models", "unknown"],
  ] as Array<[string, WireFormat]>)("%s is %s", (path, format) => {
    expect(formatOf(path)).toBe(format);
  });

  const body = (value: unknown) => Buffer.from(JSON.stringify(value));

  it.each([
    ["max_tokens", { model: "a", max_tokens: 100, stream: true }, "a", 100, true],
    ["max_output_tokens", { model: "b", max_output_tokens: 200 }, "b", 200, false],
    ["max_completion_tokens", { model: "c", max_completion_tokens: 300, stream: false }, "c", 300, false],
    ["generationConfig.maxOutputTokens", { generationConfig: { maxOutputTokens: 400 } }, null, 400, false],
    ["none", { model: "d" }, "d", null, false],
  ])("%s", (_name, json, model, max, stream) => {
    const request = inspectRequest("POST", "/v1/messages", "", body(json));
    expect([request.model, request.maxOutputTokens, request.stream]).toEqual([model, max, stream]);
    expect(request.bodyBytes).toBe(body(json).length);
  });

  it("Gemini: the model from the path, streaming from the method name or alt=sse", () => {
    const streamed = inspectRequest(
      "POST",
      "/v1beta/models/gemini-2.5-pro:streamGenerateContent",
      "alt=sse",
      body({}),
    );
    expect([streamed.format, streamed.model, streamed.stream]).toEqual(["gemini", "gemini-2.5-pro", true]);
    const plain = inspectRequest("POST", "/v1beta/models/gemini-2.5-pro:generateContent", "", body({}));
    expect(plain.stream).toBe(false);
  });

  it("a body that is not JSON still gives the path's format and size", () => {
    const request = inspectRequest("POST", "/v1/responses", "", Buffer.from("not json"));
    expect(request).toMatchObject({
      format: "openai-responses",
      model: null,
      maxOutputTokens: null,
      bodyBytes: 8,
    });
  });
});
