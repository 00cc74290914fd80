/**
 * The auth probe against the fake model server over real HTTP, in Anthropic's, OpenAI's and
 * Gemini's shapes: an accepted key, a refused one (with the provider's message), a 500, an
 * endpoint that is not there, and the cache (one request per endpoint and key for a while).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeModelServer, startFakeModelServer } from "../../test/support/fake-model/server.js";
import {
  clearAuthProbeCache,
  modelListUrl,
  type ProbeProvider,
  probeAuth,
  probedAuth,
} from "./auth-probe.js";

const servers: FakeModelServer[] = [];
async function server(options: Parameters<typeof startFakeModelServer>[0] = { script: [] }) {
  const started = await startFakeModelServer(options);
  servers.push(started);
  return started;
}

/** A port nothing listens on: bound, then closed. */
async function deadUrl(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

beforeEach(() => clearAuthProbeCache());
afterAll(async () => {
  await Promise.all(servers.map((entry) => entry.close()));
});

/** Each provider's base URL in its clients' convention. */
const BASES: Record<ProbeProvider, (url: string) => string> = {
  anthropic: (url) => url, // ANTHROPIC_BASE_URL: no /v1
  openai: (url) => `${url}/v1`, // OPENAI_BASE_URL: with /v1
  gemini: (url) => url, // GOOGLE_GEMINI_BASE_URL: the host
};

describe.each(["anthropic", "openai", "gemini"] as const)("probeAuth (%s)", (provider) => {
  it("an accepted key is ok, asked with the provider's own headers", async () => {
    const model = await server();
    const answer = await probeAuth({ provider, baseUrl: BASES[provider](model.url), key: "sk-good-123" });
    expect(answer).toEqual({ state: "ok", url: modelListUrl(provider, BASES[provider](model.url)) });
    expect(model.modelListRequests).toHaveLength(1);
    const [request] = model.modelListRequests;
    expect(request?.provider).toBe(provider);
    if (provider === "anthropic") {
      expect(request?.path).toBe("/v1/models");
      expect(request?.headers["x-api-key"]).toBe("sk-good-123");
      expect(request?.headers["anthropic-version"]).toBe("2023-06-01");
    } else if (provider === "openai") {
      expect(request?.path).toBe("/v1/models");
      expect(request?.headers.authorization).toBe("Bearer sk-good-123");
    } else {
      expect(request?.path).toBe("/v1beta/models");
      expect(request?.headers["x-goog-api-key"]).toBe("sk-good-123");
    }
    // No agent request: the probe costs nothing.
    expect(model.requests).toHaveLength(0);
  });

  it("a refused key is rejected, with what the provider said", async () => {
    const model = await server({ script: [], rejectKeys: true });
    const answer = await probeAuth({ provider, baseUrl: BASES[provider](model.url), key: "sk-dead" });
    expect(answer.state).toBe("rejected");
    if (answer.state !== "rejected") return;
    const expected = {
      anthropic: { status: 401, message: "authentication_error: invalid x-api-key" },
      openai: { status: 401, message: "invalid_request_error: Incorrect API key provided" },
      gemini: { status: 400, message: "INVALID_ARGUMENT: API key not valid" },
    }[provider];
    expect(answer.status).toBe(expected.status);
    expect(answer.message).toContain(expected.message);

    const fields = probedAuth(answer, {
      harness: "claude",
      source: "ANTHROPIC_API_KEY",
      hint: "Replace ANTHROPIC_API_KEY.",
    });
    expect(fields).toMatchObject({
      auth: "expired",
      authSource: "ANTHROPIC_API_KEY",
      error: { code: "LOOPD_AUTH_EXPIRED", hint: "Replace ANTHROPIC_API_KEY." },
    });
    expect(fields.error?.message).toContain(`ANTHROPIC_API_KEY was rejected by ${answer.url}`);
  });

  it("a 500 is unknown: the key was not checked, and the run may go ahead", async () => {
    const model = await server({ script: [], modelList: { status: 500 } });
    const answer = await probeAuth({ provider, baseUrl: BASES[provider](model.url), key: "sk-x" });
    expect(answer.state).toBe("unknown");
    expect(answer.state === "unknown" && answer.message).toMatch(/answered 500 .*so the key was not checked/);
    const fields = probedAuth(answer, { harness: "codex", source: "OPENAI_API_KEY", hint: "" });
    expect(fields).toMatchObject({ auth: "unknown", error: null });
    expect(fields.authDetail).toContain("runs go ahead");
  });

  it("an endpoint nobody answers is unknown, saying it could not be reached", async () => {
    const url = await deadUrl();
    const answer = await probeAuth({ provider, baseUrl: BASES[provider](url), key: "sk-x" });
    expect(answer).toMatchObject({ state: "unknown", message: expect.stringContaining("ECONNREFUSED") });
    expect(answer.state === "unknown" && answer.message).toContain(`could not reach ${url}`);
  });
});

describe("probeAuth cache", () => {
  it("asks once per endpoint and key for a few minutes, concurrent callers included", async () => {
    const model = await server();
    let now = 1_000_000;
    const options = { now: () => now };
    const target = { provider: "anthropic" as const, baseUrl: model.url, key: "sk-one" };
    const answers = await Promise.all([1, 2, 3].map(() => probeAuth(target, options)));
    expect(answers.map((answer) => answer.state)).toEqual(["ok", "ok", "ok"]);
    await probeAuth(target, options);
    expect(model.modelListRequests).toHaveLength(1);

    // Another key is another question.
    await probeAuth({ ...target, key: "sk-two" }, options);
    expect(model.modelListRequests).toHaveLength(2);

    // Four minutes on: still cached; six: asked again.
    now += 4 * 60_000;
    await probeAuth(target, options);
    expect(model.modelListRequests).toHaveLength(2);
    now += 2 * 60_000;
    await probeAuth(target, options);
    expect(model.modelListRequests).toHaveLength(3);
  });

  it("a key refused is remembered too, but an unreachable endpoint is asked again soon", async () => {
    const model = await server({ script: [], rejectKeys: true });
    let now = 1_000_000;
    const options = { now: () => now };
    const target = { provider: "openai" as const, baseUrl: `${model.url}/v1`, key: "sk-dead" };
    expect((await probeAuth(target, options)).state).toBe("rejected");
    expect((await probeAuth(target, options)).state).toBe("rejected");
    expect(model.modelListRequests).toHaveLength(1);
    // Fixed on the provider's side: seen after the cache expires.
    model.setRejectKeys(false);
    now += 6 * 60_000;
    expect((await probeAuth(target, options)).state).toBe("ok");

    const flaky = await server({ script: [], modelList: { status: 503 } });
    const unsure = { provider: "openai" as const, baseUrl: `${flaky.url}/v1`, key: "sk-x" };
    expect((await probeAuth(unsure, options)).state).toBe("unknown");
    now += 10_000;
    await probeAuth(unsure, options);
    expect(flaky.modelListRequests).toHaveLength(1);
    // Asked again after 30 s: a blip does not stick for minutes.
    now += 21_000;
    await probeAuth(unsure, options);
    expect(flaky.modelListRequests).toHaveLength(2);
  });
});

describe("modelListUrl", () => {
  it("follows each provider's base URL convention, with public defaults", () => {
    expect(modelListUrl("anthropic", null)).toBe("https://api.anthropic.com/v1/models");
    expect(modelListUrl("anthropic", "https://proxy.example/v1/")).toBe("https://proxy.example/v1/models");
    expect(modelListUrl("openai", null)).toBe("https://api.openai.com/v1/models");
    expect(modelListUrl("openai", "http://localhost:11434/v1")).toBe("http://localhost:11434/v1/models");
    expect(modelListUrl("gemini", null)).toBe("https://generativelanguage.googleapis.com/v1beta/models");
  });
});
