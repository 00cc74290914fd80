/**
 * Which model API a builtin run talks to. A model is "provider:model" or a bare id whose
 * prefix names its maker (claude → Anthropic, gpt/o1/o3/o4/codex → OpenAI, anything else an
 * OpenAI-compatible server such as Ollama, vLLM or LM Studio). Keys and base URLs come only
 * from the run's environment and the tier, never from loopd's own process.env: the SDK
 * providers would otherwise fall back to the daemon's variables, and a routine must see
 * exactly the credentials its allow-listed environment gives it.
 */
import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import type { LanguageModel } from "ai";

export type ProviderId = "anthropic" | "openai" | "openai-compatible";

export interface ModelTarget {
  provider: ProviderId;
  /** The id sent to the API (and priced): no provider prefix. */
  modelId: string;
  /** Null: the provider's public endpoint. */
  baseUrl: string | null;
  apiKey: string | null;
  /** The variable the key comes from (for messages and `authSource`). */
  keyVar: string;
}

export const KEY_VARS: Readonly<Record<ProviderId, string>> = {
  anthropic: "ANTHROPIC_API_KEY",
  openai: "OPENAI_API_KEY",
  "openai-compatible": "LOOPD_OPENAI_COMPATIBLE_API_KEY",
};

const BASE_URL_VARS: Readonly<Partial<Record<ProviderId, string>>> = {
  anthropic: "ANTHROPIC_BASE_URL",
  openai: "OPENAI_BASE_URL",
};

/** Used when neither the routine nor its tier names a model: the first provider with a key. */
export const DEFAULT_MODELS: ReadonlyArray<{ provider: ProviderId; modelId: string }> = [
  { provider: "anthropic", modelId: "claude-sonnet-4-5" },
  { provider: "openai", modelId: "gpt-5-mini" },
];

const PROVIDERS: readonly ProviderId[] = ["anthropic", "openai", "openai-compatible"];

/** Splits "provider:model" or infers the provider of a bare id. */
export function parseModel(model: string): { provider: ProviderId; modelId: string } {
  const colon = model.indexOf(":");
  if (colon > 0) {
    const prefix = model.slice(0, colon);
    if ((PROVIDERS as readonly string[]).includes(prefix)) {
      return { provider: prefix as ProviderId, modelId: model.slice(colon + 1) };
    }
  }
  // Ollama tags contain colons too ("llama3.1:8b"), so an unknown prefix is part of the id.
  const lower = model.toLowerCase();
  if (lower.startsWith("claude")) return { provider: "anthropic", modelId: model };
  if (/^(gpt|o1|o3|o4|codex)/.test(lower)) return { provider: "openai", modelId: model };
  return { provider: "openai-compatible", modelId: model };
}

export type TargetResult = { ok: true; target: ModelTarget } | { ok: false; code: string; message: string };

/**
 * Resolves `model` (null = the default for whichever key is present) against the run's
 * environment and the tier's base URL. Fails without a network call when a hosted provider
 * has no key, or an OpenAI-compatible model has no server to talk to.
 */
export function resolveTarget(
  model: string | null,
  baseUrl: string | null,
  env: Record<string, string>,
): TargetResult {
  let parsed: { provider: ProviderId; modelId: string };
  if (model) parsed = parseModel(model);
  else {
    const found = DEFAULT_MODELS.find((candidate) => nonEmpty(env[KEY_VARS[candidate.provider]]));
    if (!found) {
      return {
        ok: false,
        code: "LOOPD_AUTH_MISSING",
        message: "no model configured and neither ANTHROPIC_API_KEY nor OPENAI_API_KEY is set",
      };
    }
    parsed = found;
  }
  const { provider, modelId } = parsed;
  const keyVar = KEY_VARS[provider];
  const apiKey = nonEmpty(env[keyVar]);
  const envBase = BASE_URL_VARS[provider];
  const base = nonEmpty(baseUrl) ?? (envBase ? nonEmpty(env[envBase]) : null);
  if (provider === "openai-compatible" && !base) {
    return {
      ok: false,
      code: "LOOPD_AGENT_FAILED",
      message: `model ${modelId} is served by an OpenAI-compatible server, but the tier sets no baseUrl`,
    };
  }
  if (provider !== "openai-compatible" && !apiKey) {
    return { ok: false, code: "LOOPD_AUTH_MISSING", message: `${keyVar} is not set for model ${modelId}` };
  }
  return { ok: true, target: { provider, modelId, baseUrl: base, apiKey, keyVar } };
}

/** An AI SDK model for `target`, with key and base URL always explicit (see the header). */
export function createModel(target: ModelTarget): LanguageModel {
  switch (target.provider) {
    case "anthropic":
      return createAnthropic({
        apiKey: target.apiKey ?? "",
        baseURL: anthropicBaseUrl(target.baseUrl),
      })(target.modelId);
    case "openai":
      // The Responses API: the SDK's default for openai(model).
      return createOpenAI({
        apiKey: target.apiKey ?? "",
        baseURL: target.baseUrl ? trimSlash(target.baseUrl) : "https://api.openai.com/v1",
      })(target.modelId);
    case "openai-compatible":
      return createOpenAICompatible({
        name: "openai-compatible",
        baseURL: trimSlash(target.baseUrl ?? ""),
        ...(target.apiKey ? { apiKey: target.apiKey } : {}),
        // Ollama and vLLM only report usage in streams when asked; generateText does not stream,
        // but the flag is harmless and keeps streamed use correct.
        includeUsage: true,
      }).chatModel(target.modelId);
  }
}

/**
 * ANTHROPIC_BASE_URL follows Claude Code's convention (no /v1: "https://proxy.example"),
 * while @ai-sdk/anthropic's baseURL is the versioned prefix; accept both spellings.
 */
export function anthropicBaseUrl(baseUrl: string | null): string {
  if (!baseUrl) return "https://api.anthropic.com/v1";
  const trimmed = trimSlash(baseUrl);
  return /\/v1$/.test(trimmed) ? trimmed : `${trimmed}/v1`;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

function nonEmpty(value: string | null | undefined): string | null {
  return value && value.trim() !== "" ? value : null;
}
