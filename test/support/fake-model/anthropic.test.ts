/**
 * The fake server's Anthropic Messages protocol at the wire level: the SSE event sequence a
 * streaming client reassembles, the non-streaming message, error bodies, and side requests
 * that do not consume the script. (The real Claude Code CLI drives it in claude.e2e.test.ts.)
 */
import { afterEach, describe, expect, it } from "vitest";
import type { ScriptedReply } from "./script.js";
import { type FakeModelServer, startFakeModelServer } from "./server.js";

let server: FakeModelServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

const TOOLS = [{ name: "Write", description: "write a file", input_schema: { type: "object" } }];

async function post(body: Record<string, unknown>): Promise<Response> {
  return fetch(`${server?.url}/v1/messages`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": "sk-test" },
    body: JSON.stringify({ model: "claude-haiku-4-5", max_tokens: 1024, messages: [], ...body }),
  });
}

/** `event:` / `data:` frames of an SSE body. */
async function frames(response: Response): Promise<Array<{ event: string; data: Record<string, unknown> }>> {
  const text = await response.text();
  return text
    .split("\n\n")
    .filter((frame) => frame.trim())
    .map((frame) => {
      const event = /^event: (.*)$/m.exec(frame)?.[1] ?? "";
      const data = JSON.parse(/^data: (.*)$/m.exec(frame)?.[1] ?? "{}") as Record<string, unknown>;
      return { event, data };
    });
}

describe("fake model server: Anthropic Messages", () => {
  const reply: ScriptedReply = {
    text: "I will write the file now, then report back.",
    toolCalls: [
      { name: "Write", input: { file_path: "hello.txt", content: "hello from the fake model server\n" } },
    ],
    usage: { input: 120, cached: 30, output: 17 },
  };

  it("streams text and tool_use blocks as SSE, with input_json_delta pieces that reassemble", async () => {
    server = await startFakeModelServer({ script: [reply] });
    const response = await post({ stream: true, tools: TOOLS });
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const events = await frames(response);
    const names = events.map((frame) => frame.event).filter((name) => name !== "content_block_delta");
    expect(names).toEqual([
      "message_start",
      "ping",
      "content_block_start",
      "content_block_stop",
      "content_block_start",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    expect(events[0]?.data.message).toMatchObject({
      role: "assistant",
      model: "claude-haiku-4-5",
      usage: { input_tokens: 120, cache_read_input_tokens: 30, cache_creation_input_tokens: 0 },
    });
    const deltas = (index: number, kind: string, field: string) =>
      events
        .filter((frame) => frame.event === "content_block_delta" && frame.data.index === index)
        .map((frame) => frame.data.delta as Record<string, string>)
        .filter((delta) => delta.type === kind)
        .map((delta) => delta[field])
        .join("");
    expect(deltas(0, "text_delta", "text")).toBe(reply.text);
    const toolJson = events.filter(
      (frame) => frame.event === "content_block_delta" && frame.data.index === 1,
    );
    expect(toolJson.length).toBeGreaterThan(1);
    expect(JSON.parse(deltas(1, "input_json_delta", "partial_json"))).toEqual(reply.toolCalls?.[0]?.input);
    expect(
      events.find((frame) => frame.event === "content_block_start" && frame.data.index === 1)?.data,
    ).toMatchObject({
      content_block: { type: "tool_use", name: "Write", id: expect.stringMatching(/^toolu_/), input: {} },
    });
    expect(events.find((frame) => frame.event === "message_delta")?.data).toEqual({
      type: "message_delta",
      delta: { stop_reason: "tool_use", stop_sequence: null },
      usage: { output_tokens: 17 },
    });
  });

  it("answers a non-streaming request with one message", async () => {
    server = await startFakeModelServer({ script: [reply, { text: "done" }] });
    await post({ tools: TOOLS });
    const response = await post({ tools: TOOLS });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      type: "message",
      role: "assistant",
      content: [{ type: "text", text: "done" }],
      stop_reason: "end_turn",
      usage: { input_tokens: 100, output_tokens: 20, cache_read_input_tokens: 0 },
    });
  });

  it("answers side requests without tools from sideReply, without consuming the script", async () => {
    server = await startFakeModelServer({ script: [{ text: "turn one" }], sideReply: { text: "A title" } });
    const side = await post({ stream: false });
    expect(await side.json()).toMatchObject({ content: [{ type: "text", text: "A title" }] });
    const turn = await post({ tools: TOOLS });
    expect(await turn.json()).toMatchObject({ content: [{ type: "text", text: "turn one" }] });
    expect(server.turns().map((request) => request.turn)).toEqual([0]);
  });

  it("renders a scripted 401 as an Anthropic authentication_error", async () => {
    server = await startFakeModelServer({ script: [{ status: 401 }, { status: 529, errorMessage: "busy" }] });
    const unauthorized = await post({ stream: true, tools: TOOLS });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers.get("request-id")).toMatch(/^req_/);
    expect(await unauthorized.json()).toEqual({
      type: "error",
      error: { type: "authentication_error", message: "invalid x-api-key" },
    });
    const overloaded = await post({ tools: TOOLS });
    expect(overloaded.status).toBe(529);
    expect(await overloaded.json()).toEqual({
      type: "error",
      error: { type: "overloaded_error", message: "busy" },
    });
  });
});
