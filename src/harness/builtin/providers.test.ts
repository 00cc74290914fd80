import { describe, expect, it } from "vitest";
import { anthropicBaseUrl, parseModel, resolveTarget } from "./providers.js";

describe("parseModel", () => {
  it("takes an explicit provider prefix", () => {
    expect(parseModel("anthropic:claude-haiku-4-5")).toEqual({
      provider: "anthropic",
      modelId: "claude-haiku-4-5",
    });
    expect(parseModel("openai:gpt-5-mini")).toEqual({ provider: "openai", modelId: "gpt-5-mini" });
    expect(parseModel("openai-compatible:llama3.1")).toEqual({
      provider: "openai-compatible",
      modelId: "llama3.1",
    });
  });

  it("infers the provider of a bare id, keeping Ollama tags whole", () => {
    expect(parseModel("claude-sonnet-4-5").provider).toBe("anthropic");
    for (const id of ["gpt-5", "o3", "o4-mini", "o1-preview", "codex-mini-latest"]) {
      expect(parseModel(id).provider, id).toBe("openai");
    }
    expect(parseModel("llama3.1:8b")).toEqual({ provider: "openai-compatible", modelId: "llama3.1:8b" });
  });
});

describe("resolveTarget", () => {
  it("uses the tier's base URL before the provider's variable", () => {
    const env = { OPENAI_API_KEY: "sk", OPENAI_BASE_URL: "http://env/v1" };
    const fromEnv = resolveTarget("gpt-5-mini", null, env);
    expect(fromEnv.ok && fromEnv.target.baseUrl).toBe("http://env/v1");
    const fromTier = resolveTarget("gpt-5-mini", "http://tier/v1", env);
    expect(fromTier.ok && fromTier.target).toMatchObject({
      provider: "openai",
      baseUrl: "http://tier/v1",
      apiKey: "sk",
    });
  });

  it("fails with LOOPD_AUTH_MISSING when a hosted provider has no key", () => {
    expect(resolveTarget("claude-haiku-4-5", null, { OPENAI_API_KEY: "sk" })).toEqual({
      ok: false,
      code: "LOOPD_AUTH_MISSING",
      message: "ANTHROPIC_API_KEY is not set for model claude-haiku-4-5",
    });
    expect(resolveTarget(null, null, {})).toMatchObject({ ok: false, code: "LOOPD_AUTH_MISSING" });
  });

  it("needs no key for an OpenAI-compatible server, but needs its base URL", () => {
    const local = resolveTarget("llama3.1", "http://localhost:11434/v1", {});
    expect(local.ok && local.target).toMatchObject({ provider: "openai-compatible", apiKey: null });
    expect(resolveTarget("llama3.1", null, {})).toMatchObject({ ok: false, code: "LOOPD_AGENT_FAILED" });
  });

  it("picks a default model from whichever key is present", () => {
    const openai = resolveTarget(null, null, { OPENAI_API_KEY: "sk" });
    expect(openai.ok && openai.target.provider).toBe("openai");
    const anthropic = resolveTarget(null, null, { OPENAI_API_KEY: "sk", ANTHROPIC_API_KEY: "a" });
    expect(anthropic.ok && anthropic.target.provider).toBe("anthropic");
  });
});

describe("anthropicBaseUrl", () => {
  it("accepts Claude Code's unversioned base URL and the SDK's versioned one", () => {
    expect(anthropicBaseUrl("http://127.0.0.1:9/")).toBe("http://127.0.0.1:9/v1");
    expect(anthropicBaseUrl("http://127.0.0.1:9/v1")).toBe("http://127.0.0.1:9/v1");
    expect(anthropicBaseUrl(null)).toBe("https://api.anthropic.com/v1");
  });
});
