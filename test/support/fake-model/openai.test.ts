/**
 * The fake model server's OpenAI protocols at the wire level (plain fetch, SSE parsed by
 * hand), and through the AI SDK clients other harnesses use, so a drift from what the real
 * API sends shows up here rather than as a confusing agent failure.
 */
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { generateText, jsonSchema, streamText, tool } from "ai";
import { afterEach, describe, expect, it } from "vitest";
import type { ScriptedReply } from "./script.js";
import { type FakeModelServer, startFakeModelServer } from "./server.js";

let server: FakeModelServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function start(script: ScriptedReply[]): Promise<FakeModelServer> {
  server = await startFakeModelServer({ script });
  return server;
}

const TOOL = { type: "function", function: { name: "write_file", parameters: { type: "object" } } };

async function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer sk-test" },
    body: JSON.stringify(body),
  });
}

/** A JSON response body, untyped on purpose: the assertions check its shape. */
async function wire(response: Response) {
  return JSON.parse(await response.text());
}

/** `data:` payloads of an SSE body, with their `event:` names. */
async function events(response: Response): Promise<Array<{ event: string | null; data: string }>> {
  const text = await response.text();
  return text
    .split("\n\n")
    .filter((frame) => frame.trim())
    .map((frame) => ({
      event: frame.match(/^event: (.*)$/m)?.[1] ?? null,
      data: frame.match(/^data: (.*)$/m)?.[1] ?? "",
    }));
}

describe("chat completions", () => {
  it("streams text, tool call deltas, finish_reason and usage, then [DONE]", async () => {
    const model = await start([
      {
        text: "Writing the greeting file now.",
        toolCalls: [
          { name: "write_file", input: { path: "hello.txt", content: "hello there, world" }, id: "call_1" },
        ],
        usage: { input: 80, cached: 20, output: 30, reasoning: 5 },
      },
    ]);
    const response = await post(`${model.url}/v1/chat/completions`, {
      model: "gpt-4o",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "hi" }],
      tools: [TOOL],
    });
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const frames = await events(response);
    expect(frames.at(-1)?.data).toBe("[DONE]");
    const chunks = frames.slice(0, -1).map((frame) => JSON.parse(frame.data));
    expect(
      chunks.every((chunk) => chunk.object === "chat.completion.chunk" && chunk.model === "gpt-4o"),
    ).toBe(true);
    expect(chunks[0].choices[0].delta.role).toBe("assistant");
    const deltas = chunks.flatMap((chunk) => chunk.choices.map((choice: { delta: unknown }) => choice.delta));
    expect(deltas.map((delta) => delta.content ?? "").join("")).toBe("Writing the greeting file now.");
    const toolDeltas = deltas.flatMap((delta) => delta.tool_calls ?? []);
    expect(toolDeltas[0]).toEqual({
      index: 0,
      id: "call_1",
      type: "function",
      function: { name: "write_file", arguments: "" },
    });
    const args = toolDeltas.map((delta) => delta.function.arguments).join("");
    expect(JSON.parse(args)).toEqual({ path: "hello.txt", content: "hello there, world" });
    expect(toolDeltas.length).toBeGreaterThan(2);
    expect(chunks.at(-2).choices[0].finish_reason).toBe("tool_calls");
    expect(chunks.at(-1).choices).toEqual([]);
    expect(chunks.at(-1).usage).toMatchObject({
      prompt_tokens: 100,
      completion_tokens: 30,
      total_tokens: 130,
      prompt_tokens_details: { cached_tokens: 20 },
      completion_tokens_details: { reasoning_tokens: 5 },
    });
  });

  it("omits the usage chunk unless include_usage is asked for", async () => {
    const model = await start([{ text: "hi" }]);
    const response = await post(`${model.url}/v1/chat/completions`, {
      model: "m",
      stream: true,
      messages: [],
      tools: [TOOL],
    });
    const chunks = (await events(response)).slice(0, -1).map((frame) => JSON.parse(frame.data));
    expect(chunks.at(-1).choices[0].finish_reason).toBe("stop");
    expect(chunks.some((chunk) => "usage" in chunk)).toBe(false);
  });

  it("answers stream: false with one chat.completion", async () => {
    const model = await start([{ toolCalls: [{ name: "write_file", input: { path: "a" }, id: "call_9" }] }]);
    const response = await post(`${model.url}/v1/chat/completions`, {
      model: "m",
      messages: [],
      tools: [TOOL],
    });
    const body = await wire(response);
    expect(body.object).toBe("chat.completion");
    expect(body.choices[0]).toMatchObject({
      finish_reason: "tool_calls",
      message: {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "call_9", type: "function", function: { name: "write_file", arguments: '{"path":"a"}' } },
        ],
      },
    });
    expect(body.usage).toMatchObject({ prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 });
  });

  it("answers a scripted 401 with OpenAI's invalid_api_key error", async () => {
    const model = await start([{ status: 401 }]);
    const response = await post(`${model.url}/v1/chat/completions`, {
      model: "m",
      messages: [],
      tools: [TOOL],
    });
    expect(response.status).toBe(401);
    expect((await wire(response)).error).toMatchObject({
      type: "invalid_request_error",
      code: "invalid_api_key",
    });
  });

  it("drives @ai-sdk/openai-compatible through a tool call and a final answer", async () => {
    const model = await start([
      { toolCalls: [{ name: "write_file", input: { path: "hello.txt" } }], usage: { input: 50, output: 10 } },
      { text: "All done.", usage: { input: 70, cached: 30, output: 5 } },
    ]);
    const provider = createOpenAICompatible({
      name: "fake",
      baseURL: `${model.url}/v1`,
      apiKey: "sk-test",
      includeUsage: true,
    });
    const written: string[] = [];
    const writeFile = tool({
      description: "write a file",
      inputSchema: jsonSchema<{ path: string }>({ type: "object", properties: { path: { type: "string" } } }),
      execute: async ({ path }) => {
        written.push(path);
        return "ok";
      },
    });
    const result = streamText({
      model: provider.chatModel("gpt-4o"),
      prompt: "write hello.txt",
      tools: { write_file: writeFile },
      stopWhen: ({ steps }) => steps.length >= 3,
    });
    expect(await result.text).toBe("All done.");
    expect(written).toEqual(["hello.txt"]);
    const usage = await result.totalUsage;
    expect(usage.inputTokens).toBe(150);
    expect(usage.outputTokens).toBe(15);
    expect(model.turns()).toHaveLength(2);
  });
});

describe("responses", () => {
  it("streams the API's event sequence with usage on response.completed", async () => {
    const model = await start([
      {
        text: "Calling the tool.",
        toolCalls: [{ name: "shell", input: { cmd: "ls" }, id: "call_7" }],
        usage: { input: 90, cached: 10, output: 12, reasoning: 4 },
      },
    ]);
    const response = await post(`${model.url}/v1/responses`, {
      model: "gpt-5",
      stream: true,
      input: "hi",
      tools: [{ type: "function", name: "shell", parameters: { type: "object" } }],
    });
    const frames = await events(response);
    const names = frames.map((frame) => frame.event);
    expect(names.slice(0, 3)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
    ]);
    expect(names).toContain("response.output_text.delta");
    expect(names).toContain("response.function_call_arguments.delta");
    expect(names).toContain("response.function_call_arguments.done");
    expect(names.at(-1)).toBe("response.completed");
    const payloads = frames.map((frame) => JSON.parse(frame.data));
    expect(
      payloads.every((payload, index) => payload.type === names[index] && payload.sequence_number === index),
    ).toBe(true);
    const done = payloads
      .filter((payload) => payload.type === "response.output_item.done")
      .map((payload) => payload.item);
    expect(done[1]).toMatchObject({
      type: "function_call",
      call_id: "call_7",
      name: "shell",
      arguments: '{"cmd":"ls"}',
    });
    expect(payloads.at(-1).response.usage).toEqual({
      input_tokens: 100,
      input_tokens_details: { cached_tokens: 10 },
      output_tokens: 12,
      output_tokens_details: { reasoning_tokens: 4 },
      total_tokens: 112,
    });
  });

  it("renders a call to a declared custom tool as custom_tool_call with raw input", async () => {
    const patch = "*** Begin Patch\n*** Add File: a.txt\n+a\n*** End Patch\n";
    const model = await start([{ toolCalls: [{ name: "apply_patch", input: { input: patch } }] }]);
    const response = await post(`${model.url}/v1/responses`, {
      model: "gpt-5",
      stream: true,
      input: "hi",
      tools: [{ type: "custom", name: "apply_patch", format: { type: "grammar" } }],
    });
    const payloads = (await events(response)).map((frame) => JSON.parse(frame.data));
    const item = payloads.find((payload) => payload.type === "response.output_item.done").item;
    expect(item).toMatchObject({ type: "custom_tool_call", name: "apply_patch", input: patch });
    expect(payloads.some((payload) => payload.type === "response.custom_tool_call_input.done")).toBe(true);
  });

  it("fails the stream with response.failed for a scripted errorMessage, and 401s with invalid_api_key", async () => {
    const model = await start([{ errorMessage: "overloaded" }, { status: 401 }]);
    const body = { model: "gpt-5", stream: true, input: "hi", tools: [{ type: "function", name: "f" }] };
    const failed = (await events(await post(`${model.url}/v1/responses`, body))).at(-1);
    expect(failed?.event).toBe("response.failed");
    expect(JSON.parse(failed?.data ?? "{}").response).toMatchObject({
      status: "failed",
      error: { message: "overloaded" },
    });
    const rejected = await post(`${model.url}/v1/responses`, body);
    expect(rejected.status).toBe(401);
    expect((await wire(rejected)).error).toMatchObject({
      type: "invalid_request_error",
      code: "invalid_api_key",
    });
  });

  it("drives @ai-sdk/openai's responses model, streaming and not", async () => {
    const model = await start([{ text: "Hello from the fake." }, { text: "Second answer." }]);
    const openai = createOpenAI({ baseURL: `${model.url}/v1`, apiKey: "sk-test" });
    const tools = {
      noop: tool({ description: "nothing", inputSchema: jsonSchema({ type: "object", properties: {} }) }),
    };
    const streamed = streamText({ model: openai.responses("gpt-5"), prompt: "hi", tools });
    expect(await streamed.text).toBe("Hello from the fake.");
    expect((await streamed.usage).inputTokens).toBe(100);
    const generated = await generateText({ model: openai.responses("gpt-5"), prompt: "hi", tools });
    expect(generated.text).toBe("Second answer.");
  });
});
