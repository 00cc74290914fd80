/**
 * Which setups the gateway stands in for, and the upstream each harness would have called: the
 * tier's baseUrl, else the provider's base-URL variable, else the public API; setups that take
 * no base URL are metered from the harness's report. Also the spend watch's USD velocity.
 */
import { describe, expect, it } from "vitest";
import { requestEstimateUsd } from "../domain/metering.js";
import { DEFAULT_PRICING } from "../domain/pricing.js";
import type { AgentInput } from "../harness/harness.js";
import { meteringRoute } from "./metering-route.js";
import { type SpendTrip, SpendWatch } from "./spend-watch.js";

function agent(fields: Partial<AgentInput> = {}): AgentInput {
  return {
    prompt: "p",
    systemPrompt: "",
    model: null,
    baseUrl: null,
    maxTurns: 5,
    maxBudgetUsd: null,
    mcpConfig: null,
    subAgents: [],
    ...fields,
  };
}

const gateway = (upstream: string) => `http://127.0.0.1:9/m/s/${encodeURIComponent(upstream)}`;

function upstreams(harness: string, input: AgentInput, env: Record<string, string> = {}): string[] | string {
  const route = meteringRoute(harness, input, env);
  return route.kind === "gateway" ? route.upstreams : route.reason;
}

describe("metering route", () => {
  it("claude: the tier's baseUrl, else ANTHROPIC_BASE_URL, else Anthropic's API, with a key or a login", () => {
    expect(upstreams("claude", agent({ baseUrl: "http://fake/v1" }))).toEqual(["http://fake/v1"]);
    expect(upstreams("claude", agent(), { ANTHROPIC_BASE_URL: "https://proxy" })).toEqual(["https://proxy"]);
    expect(upstreams("claude", agent())).toEqual(["https://api.anthropic.com"]);
    const route = meteringRoute("claude", agent(), {});
    if (route.kind !== "gateway") throw new Error(route.reason);
    expect(route.rewrite(gateway).baseUrl).toBe(gateway("https://api.anthropic.com"));
  });

  it("codex: OpenAI's API only with OPENAI_API_KEY; a ChatGPT login is metered as reported", () => {
    expect(upstreams("codex", agent(), { OPENAI_API_KEY: "sk" })).toEqual(["https://api.openai.com/v1"]);
    expect(upstreams("codex", agent(), { OPENAI_API_KEY: "sk", OPENAI_BASE_URL: "http://o/v1" })).toEqual([
      "http://o/v1",
    ]);
    expect(upstreams("codex", agent({ baseUrl: "http://fake/v1" }))).toEqual(["http://fake/v1"]);
    expect(upstreams("codex", agent())).toMatch(/ChatGPT login/);
  });

  it("gemini: an API key or the tier's server; Vertex and a Google login are metered as reported", () => {
    expect(upstreams("gemini", agent(), { GEMINI_API_KEY: "k" })).toEqual([
      "https://generativelanguage.googleapis.com",
    ]);
    expect(upstreams("gemini", agent(), { GEMINI_API_KEY: "k", GOOGLE_GENAI_USE_VERTEXAI: "true" })).toMatch(
      /Vertex/,
    );
    expect(upstreams("gemini", agent())).toMatch(/Google login/);
  });

  it("opencode: the tier's server with a model, or an OpenAI model with OPENAI_API_KEY", () => {
    expect(upstreams("opencode", agent({ baseUrl: "http://fake/v1", model: "m" }))).toEqual([
      "http://fake/v1",
    ]);
    expect(upstreams("opencode", agent({ model: "gpt-5" }), { OPENAI_API_KEY: "sk" })).toEqual([
      "https://api.openai.com/v1",
    ]);
    expect(upstreams("opencode", agent({ model: "anthropic/claude-sonnet-4-5" }))).toMatch(/opencode/);
  });

  it("builtin: the main model's endpoint and each sub-agent's, rewritten one by one", () => {
    const input = agent({
      model: "claude-sonnet-4-5",
      subAgents: [
        { name: "a", description: "", model: "openai-compatible:m", baseUrl: "http://local/v1", maxTurns: 2 },
        { name: "b", description: "", model: "", baseUrl: null, maxTurns: 2 },
      ],
    });
    const route = meteringRoute("builtin", input, { ANTHROPIC_API_KEY: "k" });
    if (route.kind !== "gateway") throw new Error(route.reason);
    expect(route.upstreams).toEqual(["https://api.anthropic.com", "http://local/v1"]);
    const rewritten = route.rewrite(gateway);
    expect(rewritten.baseUrl).toBe(gateway("https://api.anthropic.com"));
    expect(rewritten.subAgents.map((sub) => sub.baseUrl)).toEqual([
      gateway("http://local/v1"),
      gateway("https://api.anthropic.com"),
    ]);
  });

  it("a harness without a base-URL setting is metered as reported", () => {
    expect(upstreams("shell", agent())).toMatch(/no base-URL setting/);
  });
});

describe("request estimate", () => {
  it("prices the body as input and the output ceiling (a default when the request sets none)", () => {
    const haiku = { model: "claude-haiku-4-5", bodyBytes: 40_000 };
    expect(requestEstimateUsd({ ...haiku, maxOutputTokens: 1000 }, DEFAULT_PRICING)).toBeCloseTo(0.015, 9);
    expect(requestEstimateUsd({ ...haiku, maxOutputTokens: null }, DEFAULT_PRICING)).toBeCloseTo(
      0.01 + (8192 * 5) / 1e6,
      9,
    );
    expect(
      requestEstimateUsd({ model: "unknown-model", bodyBytes: 1, maxOutputTokens: 1 }, DEFAULT_PRICING),
    ).toBe(0);
  });
});

describe("spend watch: USD velocity", () => {
  it("trips within a minute of spending faster than usdPerMinute, counting from the run's start", () => {
    let now = 0;
    const trips: Array<[string, SpendTrip]> = [];
    const watch = new SpendWatch({
      limits: { perRunUsd: null, tokensPerRun: null, tokensPerMinute: 1e12, usdPerMinute: 0.01 },
      model: null,
      pricing: DEFAULT_PRICING,
      now: () => now,
      onExceeded: (reason, trip) => trips.push([reason, trip]),
    });
    // $0.003 a step (3,000 haiku input tokens), one step every 25 s: under $0.01 in any minute.
    const step = {
      model: "claude-haiku-4-5",
      usage: { tokensIn: 3000, tokensOut: 0, tokensCached: 0, tokensReasoning: 0 },
    };
    for (let i = 0; i < 8; i++) {
      now += 25_000;
      expect(watch.observe(step)).toBe(false);
    }
    // Then one every 5 s: the fourth within the minute crosses $0.01.
    const fast = [];
    for (let i = 0; i < 6 && trips.length === 0; i++) {
      now += 5_000;
      fast.push(watch.observe(step));
    }
    expect(trips).toHaveLength(1);
    expect(trips[0]![1]).toBe("velocity");
    expect(trips[0]![0]).toMatch(/over the \$0\.01\/min spend-velocity alarm/);
    expect(fast.length).toBeLessThanOrEqual(4);
  });
});
