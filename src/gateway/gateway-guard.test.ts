/**
 * The metering gateway's edges over real HTTP: who may spend through it (the secret), what
 * reaches the upstream (headers, query), what a refusal or a failure looks like to the agent
 * (the provider's own error shape), and that a cut answer is still recorded exactly once.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { recordingTenant, startRawUpstream } from "../../test/helpers/gateway.js";
import { useTempDirs } from "../../test/helpers/temp-dirs.js";
import { waitUntil } from "../../test/helpers/wait.js";
import { type FakeModelServer, startFakeModelServer } from "../../test/support/fake-model/server.js";
import { startGateway } from "./server.js";
import type { MeteringGateway } from "./types.js";

let model: FakeModelServer;
let gateway: MeteringGateway;
const errors: Array<{ phase: string; error: unknown }> = [];
const cleanups: Array<() => Promise<void>> = [];
const tempDir = useTempDirs();
beforeEach(async () => {
  errors.length = 0;
  model = await startFakeModelServer({
    script: [],
    sideReply: { text: "hi", usage: { input: 10, output: 2 } },
  });
  gateway = await startGateway({ onError: (error, { phase }) => errors.push({ phase, error }) });
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  await gateway.close();
  await model.close();
});

const MESSAGE = JSON.stringify({
  model: "claude-haiku-4-5",
  max_tokens: 64,
  messages: [{ role: "user", content: "hi" }],
});
const post = (url: string, body = MESSAGE, headers: Record<string, string> = {}) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });

describe("the secret", () => {
  it("no, a wrong, a closed secret or a wrong index: the same 403, and the upstream never hears of it", async () => {
    const registration = gateway.register(recordingTenant(), [model.url]);
    const base = registration.baseUrl(model.url);
    const root = `http://127.0.0.1:${gateway.port}`;
    const wrong = `${root}/m/${randomBytes(32).toString("base64url")}/0`;
    const urls = [
      `${root}/v1/messages`,
      `${root}/m/short/0/v1/messages`,
      `${wrong}/v1/messages`,
      `${base.slice(0, -1)}7/v1/messages`,
    ];
    registration.close();
    urls.push(`${base}/v1/messages`);
    const answers = await Promise.all(
      urls.map(async (url) => [(await post(url)).status, await (await post(url)).text()]),
    );
    for (const answer of answers) expect(answer).toEqual(answers[0]);
    expect(answers[0]![0]).toBe(403);
    expect(JSON.parse(answers[0]![1] as string)).toEqual({
      error: { message: "forbidden", type: "forbidden", code: "forbidden" },
    });
    expect(model.requests).toHaveLength(0);
  });
});

describe("what reaches the upstream", () => {
  it("headers, auth included, arrive unchanged; hop-by-hop ones do not; the query is kept", async () => {
    const seen: Array<{ url: string; headers: Record<string, unknown> }> = [];
    const upstream = await startRawUpstream((req, res) => {
      seen.push({ url: req.url ?? "", headers: req.headers });
      req.resume();
      res.writeHead(200, { "content-type": "application/json", "x-upstream": "yes" });
      res.end(JSON.stringify({ usage: { input_tokens: 1, output_tokens: 1 } }));
    });
    cleanups.push(upstream.close);
    const base = gateway.register(recordingTenant(), [upstream.url]).baseUrl(upstream.url);
    const sent = {
      authorization: "Bearer sk-ant-oat01-oauth-token",
      "x-api-key": "sk-ant-api-key",
      "anthropic-version": "2023-06-01",
      "anthropic-beta": "oauth-2025-04-20,interleaved-thinking-2025-05-14",
      "x-custom": "kept",
      "proxy-authorization": "Basic not-for-upstream",
    };
    const response = await post(`${base}/v1/messages?beta=true&x=1`, MESSAGE, sent);
    expect(response.status).toBe(200);
    expect(response.headers.get("x-upstream")).toBe("yes");
    expect(seen[0]?.url).toBe("/v1/messages?beta=true&x=1");
    const { "proxy-authorization": _dropped, ...forwarded } = sent;
    expect(seen[0]?.headers).toMatchObject(forwarded);
    expect(seen[0]?.headers["proxy-authorization"]).toBeUndefined();
    expect(seen[0]?.headers.host).toBe(upstream.url.replace("http://", ""));
    expect(seen[0]?.headers["accept-encoding"]).toBe("identity");
  });

  it("a kept-alive upstream connection found closed on reuse: the request goes again on a new one", async () => {
    const served = new WeakMap<object, number>();
    let requests = 0;
    const upstream = await startRawUpstream((req, res) => {
      requests++;
      const count = (served.get(req.socket) ?? 0) + 1;
      served.set(req.socket, count);
      // The second request on a connection: the server had closed it as the gateway reused it.
      if (count > 1) {
        req.socket.destroy();
        return;
      }
      req.resume();
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ usage: { input_tokens: 3, output_tokens: 1 } }));
    });
    cleanups.push(upstream.close);
    const tenant = recordingTenant();
    const base = gateway.register(tenant, [upstream.url]).baseUrl(upstream.url);
    expect((await post(`${base}/v1/messages`)).status).toBe(200);
    expect((await post(`${base}/v1/messages`)).status).toBe(200);
    expect(requests).toBe(3);
    await waitUntil(() => tenant.records.length === 2, "two records");
    expect(errors).toEqual([]);
  });

  it("an https upstream: forwarded over TLS, streamed back, metered", async () => {
    const dir = tempDir("loopd-gateway-tls-");
    const [key, cert] = [join(dir, "key.pem"), join(dir, "cert.pem")];
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert].concat([
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
      ]),
      { stdio: "ignore" },
    );
    let authorization: unknown;
    const server = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
      authorization = req.headers.authorization;
      req.resume();
      res.writeHead(200, { "content-type": "text/event-stream" });
      const usage = { input_tokens: 40, input_tokens_details: { cached_tokens: 10 }, output_tokens: 4 };
      res.end(
        `event: response.completed\ndata: ${JSON.stringify({ type: "response.completed", response: { model: "gpt-tls", usage } })}\n\n`,
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    // The certificate is self-signed; the test trusts it the way a user would trust a private CA.
    const before = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
    cleanups.push(async () => {
      if (before === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
      else process.env.NODE_TLS_REJECT_UNAUTHORIZED = before;
    });
    const upstream = `https://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    const tenant = recordingTenant();
    const base = gateway.register(tenant, [upstream]).baseUrl(upstream);
    const response = await post(`${base}/responses`, JSON.stringify({ model: "gpt-tls", stream: true }), {
      authorization: "Bearer sk-tls",
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("response.completed");
    expect(authorization).toBe("Bearer sk-tls");
    await waitUntil(() => tenant.records.length === 1, "recorded");
    expect(tenant.records[0]?.response.usage).toEqual({
      tokensIn: 30,
      tokensCached: 10,
      tokensOut: 4,
      tokensReasoning: 0,
    });
  });

  it("an upstream that compresses anyway: the client gets its bytes, the gateway still reads the usage", async () => {
    const upstream = await startRawUpstream((req, res) => {
      req.resume();
      res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" });
      res.end(
        gzipSync(JSON.stringify({ model: "claude-gz", usage: { input_tokens: 70, output_tokens: 7 } })),
      );
    });
    cleanups.push(upstream.close);
    const tenant = recordingTenant();
    const base = gateway.register(tenant, [upstream.url]).baseUrl(upstream.url);
    const response = await post(`${base}/v1/messages`);
    expect(await response.json()).toMatchObject({ model: "claude-gz" });
    await waitUntil(() => tenant.records.length === 1, "recorded");
    expect(tenant.records[0]?.response).toMatchObject({
      model: "claude-gz",
      usage: { tokensIn: 70, tokensOut: 7, tokensCached: 0, tokensReasoning: 0 },
    });
  });
});

describe("refusals and failures, in the provider's own shape", () => {
  const refuse = () => ({
    ok: false as const,
    code: "LOOPD_BUDGET_EXCEEDED",
    message: "perRun $0.0030 reached",
  });

  it.each([
    ["/v1/messages", { type: "error", error: { type: "billing_error" } }],
    ["/v1/responses", { error: { type: "invalid_request_error", code: "LOOPD_BUDGET_EXCEEDED" } }],
    ["/v1/chat/completions", { error: { type: "invalid_request_error", code: "LOOPD_BUDGET_EXCEEDED" } }],
    [
      "/v1beta/models/gemini-2.5-pro:generateContent",
      { error: { code: 400, status: "FAILED_PRECONDITION" } },
    ],
  ])("a refused %s is answered, not forwarded, not recorded", async (path, shape) => {
    const tenant = recordingTenant(refuse);
    const base = gateway.register(tenant, [model.url]).baseUrl(model.url);
    const response = await post(`${base}${path}`);
    expect(response.status).toBe(path.endsWith("/messages") ? 402 : 400);
    const body = await response.json();
    expect(body).toMatchObject(shape);
    expect(JSON.stringify(body)).toContain("LOOPD_BUDGET_EXCEEDED: perRun $0.0030 reached");
    expect(model.requests).toHaveLength(0);
    expect(tenant.records).toHaveLength(0);
  });

  it("a tenant that throws gets a 500 in the provider's shape and the gateway keeps serving", async () => {
    let fail: "admit" | "record" | null = "admit";
    const tenant = recordingTenant();
    const base = gateway
      .register(
        {
          admit: async (request) => {
            if (fail === "admit") throw new Error("store down");
            return tenant.admit(request);
          },
          record: (request, response) => {
            if (fail === "record") throw new Error("ledger down");
            return tenant.record(request, response);
          },
        },
        [model.url],
      )
      .baseUrl(model.url);
    const refused = await post(`${base}/v1/messages`);
    expect(refused.status).toBe(500);
    expect(await refused.json()).toMatchObject({ type: "error", error: { type: "api_error" } });
    fail = "record";
    expect((await post(`${base}/v1/messages`)).status).toBe(200);
    await waitUntil(() => errors.length === 2, "both failures reported", { state: () => errors });
    expect(errors.map((error) => [error.phase, String(error.error)])).toEqual([
      ["admit", "Error: store down"],
      ["record", "Error: ledger down"],
    ]);
    fail = null;
    expect((await post(`${base}/v1/messages`)).status).toBe(200);
    await waitUntil(() => tenant.records.length === 1, "the healthy request recorded");
  });

  it("an unreachable upstream: 502 in the provider's shape, recorded once", async () => {
    const dead = await startRawUpstream(() => {});
    await dead.close();
    const tenant = recordingTenant();
    const base = gateway.register(tenant, [`${dead.url}/v1`]).baseUrl(`${dead.url}/v1`);
    const response = await post(`${base}/responses`, JSON.stringify({ model: "gpt-5", input: "hi" }));
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({
      error: { type: "server_error", code: "upstream_unreachable" },
    });
    await waitUntil(() => tenant.records.length === 1, "recorded");
    expect(tenant.records[0]?.response).toMatchObject({ status: 502, usage: null, aborted: false });
    expect(errors.map((error) => error.phase)).toEqual(["forward"]);
  });
});

describe("cut answers", () => {
  /** An Anthropic stream that sends message_start, then holds until told (or cuts itself). */
  async function slowStream(cut: boolean) {
    let upstreamClosed = false;
    const upstream = await startRawUpstream((req, res) => {
      req.resume();
      res.on("close", () => {
        upstreamClosed = true;
      });
      res.writeHead(200, { "content-type": "text/event-stream" });
      const usage = { input_tokens: 500, cache_read_input_tokens: 100, output_tokens: 1 };
      res.write(
        `event: message_start\ndata: ${JSON.stringify({ type: "message_start", message: { model: "claude-slow", usage } })}\n\n`,
      );
      // Cut once the first event is on the wire (a cut before it would be a failed connect).
      if (cut) res.write("", () => res.socket?.destroy());
    });
    cleanups.push(upstream.close);
    const tenant = recordingTenant();
    const base = gateway.register(tenant, [upstream.url]).baseUrl(upstream.url);
    return { tenant, base, closed: () => upstreamClosed };
  }

  it("a client that goes away mid-stream: the upstream is let go and one record says aborted", async () => {
    const { tenant, base, closed } = await slowStream(false);
    const response = await post(`${base}/v1/messages`, JSON.stringify({ model: "m", stream: true }));
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain("message_start");
    await reader.cancel();
    await waitUntil(
      () => tenant.records.length === 1 && closed(),
      "recorded, and the upstream connection closed",
    );
    expect(tenant.records[0]?.response).toMatchObject({
      status: 200,
      aborted: true,
      model: "claude-slow",
      usage: { tokensIn: 500, tokensCached: 100, tokensOut: 1, tokensReasoning: 0 },
    });
    await waitUntil(() => tenant.records.length === 1, "still one record");
  });

  it("an upstream that dies mid-stream: the client sees a cut, one record says aborted", async () => {
    const { tenant, base } = await slowStream(true);
    const response = await post(`${base}/v1/messages`, JSON.stringify({ model: "m", stream: true }));
    await expect(response.text()).rejects.toThrow();
    await waitUntil(() => tenant.records.length === 1, "recorded");
    expect(tenant.records[0]?.response).toMatchObject({
      status: 200,
      aborted: true,
      usage: { tokensIn: 500 },
    });
  });
});
