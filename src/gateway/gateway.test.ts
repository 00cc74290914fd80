/**
 * The metering gateway over real HTTP against the fake model server: every wire format,
 * streamed and not, forwarded and metered; the registration's base URLs keep the upstream's
 * path; concurrent requests each recorded once; loopback only.
 */
import { connect } from "node:net";
import { networkInterfaces } from "node:os";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { recordingTenant } from "../../test/helpers/gateway.js";
import { waitUntil } from "../../test/helpers/wait.js";
import type { ScriptedReply } from "../../test/support/fake-model/script.js";
import { type FakeModelServer, startFakeModelServer } from "../../test/support/fake-model/server.js";
import { startGateway } from "./server.js";
import type { MeteringGateway, WireFormat } from "./types.js";

const REPLY: ScriptedReply = {
  text: "a reply long enough to be cut into several stream pieces by the fake model server",
  usage: { input: 1200, cached: 300, output: 80, reasoning: 25 },
};

let model: FakeModelServer;
let gateway: MeteringGateway;
beforeEach(async () => {
  model = await startFakeModelServer({ script: () => REPLY, sideReply: REPLY });
  gateway = await startGateway();
});
afterEach(async () => {
  await gateway.close();
  await model.close();
});

interface Call {
  format: WireFormat;
  upstream: (fake: string) => string;
  url: (base: string, stream: boolean) => string;
  body: (stream: boolean) => Record<string, unknown>;
  headers: Record<string, string>;
}

const CALLS: Call[] = [
  {
    format: "anthropic",
    upstream: (fake) => fake,
    url: (base) => `${base}/v1/messages`,
    body: (stream) => ({
      model: "claude-haiku-4-5",
      max_tokens: 1024,
      stream,
      messages: [{ role: "user", content: "hi" }],
    }),
    headers: { "x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01" },
  },
  {
    format: "openai-responses",
    upstream: (fake) => `${fake}/v1`,
    url: (base) => `${base}/responses`,
    body: (stream) => ({ model: "gpt-5", max_output_tokens: 2048, stream, input: "hi" }),
    headers: { authorization: "Bearer sk-test" },
  },
  {
    format: "openai-chat",
    upstream: (fake) => `${fake}/v1`,
    url: (base) => `${base}/chat/completions`,
    body: (stream) => ({
      model: "gpt-4.1",
      max_completion_tokens: 512,
      stream,
      ...(stream ? { stream_options: { include_usage: true } } : {}),
      messages: [{ role: "user", content: "hi" }],
    }),
    headers: { authorization: "Bearer sk-test" },
  },
  {
    format: "gemini",
    upstream: (fake) => `${fake}/v1beta`,
    url: (base, stream) =>
      `${base}/models/gemini-2.5-flash:${stream ? "streamGenerateContent?alt=sse" : "generateContent"}`,
    body: () => ({
      contents: [{ role: "user", parts: [{ text: "hi" }] }],
      generationConfig: { maxOutputTokens: 256 },
    }),
    headers: { "x-goog-api-key": "gemini-test" },
  },
];

/** What REPLY's usage reads as in loopd's convention (Anthropic sends no reasoning count). */
function expectedUsage(format: WireFormat) {
  return {
    tokensIn: 1200,
    tokensCached: 300,
    tokensOut: 80,
    tokensReasoning: format === "anthropic" ? 0 : 25,
  };
}

describe("metering gateway: every format", () => {
  it.each(CALLS)(
    "$format: streamed and JSON answers pass unchanged and meter the same tokens",
    async (call) => {
      const tenant = recordingTenant();
      const registration = gateway.register(tenant, [call.upstream(model.url)]);
      const base = registration.baseUrl(call.upstream(model.url));
      const answers: string[] = [];
      for (const stream of [true, false]) {
        const response = await fetch(call.url(base, stream), {
          method: "POST",
          headers: { "content-type": "application/json", ...call.headers },
          body: JSON.stringify(call.body(stream)),
        });
        expect(response.status).toBe(200);
        expect(response.headers.get("content-type")).toContain(
          stream ? "text/event-stream" : "application/json",
        );
        answers.push(await response.text());
      }
      expect(answers[0]).toContain("data: ");
      await waitUntil(() => tenant.records.length === 2, "both requests recorded", {
        state: () => tenant.records,
      });

      const [streamed, plain] = tenant.records;
      expect(streamed!.request).toMatchObject({ format: call.format, stream: true, method: "POST" });
      expect(plain!.request).toMatchObject({ format: call.format, stream: false });
      expect(streamed!.request.maxOutputTokens).toBeGreaterThan(0);
      for (const { response } of [streamed!, plain!]) {
        expect(response).toMatchObject({ status: 200, aborted: false, usage: expectedUsage(call.format) });
        expect(response.model).toBeTruthy();
        expect(response.durationMs).toBeGreaterThanOrEqual(0);
      }
      expect(model.requests.map((request) => request.stream)).toEqual([true, false]);
      registration.close();
    },
  );

  it("a base URL keeps the upstream's path, so a client that strips /v1 and adds it back lands right", async () => {
    const tenant = recordingTenant();
    const registration = gateway.register(tenant, [model.url, `${model.url}/v1`, `${model.url}/v1beta/`]);
    expect(registration.baseUrl(model.url)).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/m\/[A-Za-z0-9_-]{43}\/0$/);
    const v1 = registration.baseUrl(`${model.url}/v1/`);
    expect(v1).toMatch(/\/1\/v1$/);
    expect(registration.baseUrl(`${model.url}/v1beta`)).toMatch(/\/2\/v1beta$/);
    expect(() => registration.baseUrl("http://elsewhere.example/v1")).toThrow(/not one of/);
    // Claude Code's treatment of a base URL (harness/claude.ts): strip /v1, then ask /v1/messages.
    const response = await fetch(`${v1.replace(/\/v1$/, "")}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": "k" },
      body: JSON.stringify(CALLS[0]!.body(false)),
    });
    expect(response.status).toBe(200);
    expect(model.requests[0]?.path).toBe("/v1/messages");
  });

  it("50 concurrent requests are each forwarded and recorded exactly once", async () => {
    const tenant = recordingTenant();
    const bases = CALLS.map((call) =>
      gateway.register(tenant, [call.upstream(model.url)]).baseUrl(call.upstream(model.url)),
    );
    const results = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const call = CALLS[i % CALLS.length]!;
        const stream = i % 2 === 0;
        const body = { ...call.body(stream), metadata: { user_id: `request-${i}` } };
        const response = await fetch(call.url(bases[i % CALLS.length]!, stream), {
          method: "POST",
          headers: { "content-type": "application/json", ...call.headers },
          body: JSON.stringify(call.format === "gemini" ? call.body(stream) : body),
        });
        await response.text();
        return response.status;
      }),
    );
    expect(results.every((status) => status === 200)).toBe(true);
    await waitUntil(() => tenant.records.length >= 50, "50 records", { state: () => tenant.records.length });
    expect(tenant.records).toHaveLength(50);
    expect(tenant.admitted).toHaveLength(50);
    expect(model.requests).toHaveLength(50);
    for (const { request, response } of tenant.records) {
      expect(response.usage).toEqual(expectedUsage(request.format));
      expect(response.aborted).toBe(false);
    }
  });
});

describe("metering gateway: loopback only", () => {
  it("listens on 127.0.0.1 and nowhere else", async () => {
    const reachable = (host: string) =>
      new Promise<boolean>((resolve) => {
        const socket = connect({ host, port: gateway.port });
        socket.once("connect", () => {
          socket.destroy();
          resolve(true);
        });
        socket.once("error", () => resolve(false));
      });
    expect(await reachable("127.0.0.1")).toBe(true);
    expect(await reachable("::1")).toBe(false);
    const external = Object.values(networkInterfaces())
      .flat()
      .filter((entry) => entry && !entry.internal && entry.family === "IPv4")
      .map((entry) => entry!.address);
    for (const address of external) expect(await reachable(address)).toBe(false);
  });
});
