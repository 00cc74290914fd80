/**
 * The pricing table: USD per million tokens, for harnesses that report tokens but not
 * dollars (codex, gemini, opencode, builtin). Claude Code reports its own `total_cost_usd`.
 * Prices are list prices as published by each provider; config can override or add models
 * (the routing issue wires `pricing:` into loopd.yaml).
 *
 * Token convention everywhere in loopd (see TokenUsage): `tokensIn` is input NOT served from
 * a cache, `tokensCached` is cache-read input, `tokensOut` is all output including reasoning,
 * `tokensReasoning` is the reasoning part of `tokensOut` (informational, not billed twice).
 */
import type { TokenUsage } from "./run-report.js";

export interface ModelPrice {
  /** USD per million uncached input tokens. */
  input: number;
  /** USD per million cache-read input tokens. */
  cachedInput: number;
  /** USD per million output tokens (reasoning included). */
  output: number;
}

export type PricingTable = Readonly<Record<string, ModelPrice>>;

export const DEFAULT_PRICING: PricingTable = {
  // Anthropic
  "claude-opus-4-5": { input: 5, cachedInput: 0.5, output: 25 },
  "claude-opus-4-1": { input: 15, cachedInput: 1.5, output: 75 },
  "claude-sonnet-4-5": { input: 3, cachedInput: 0.3, output: 15 },
  "claude-sonnet-4": { input: 3, cachedInput: 0.3, output: 15 },
  "claude-haiku-4-5": { input: 1, cachedInput: 0.1, output: 5 },
  "claude-3-5-haiku": { input: 0.8, cachedInput: 0.08, output: 4 },
  // OpenAI
  "gpt-5-codex": { input: 1.25, cachedInput: 0.125, output: 10 },
  "gpt-5.1-codex": { input: 1.25, cachedInput: 0.125, output: 10 },
  "gpt-5.1-codex-mini": { input: 0.25, cachedInput: 0.025, output: 2 },
  "gpt-5.1": { input: 1.25, cachedInput: 0.125, output: 10 },
  "gpt-5": { input: 1.25, cachedInput: 0.125, output: 10 },
  "gpt-5-mini": { input: 0.25, cachedInput: 0.025, output: 2 },
  "gpt-5-nano": { input: 0.05, cachedInput: 0.005, output: 0.4 },
  "gpt-4.1": { input: 2, cachedInput: 0.5, output: 8 },
  "gpt-4.1-mini": { input: 0.4, cachedInput: 0.1, output: 1.6 },
  "gpt-4o": { input: 2.5, cachedInput: 1.25, output: 10 },
  "gpt-4o-mini": { input: 0.15, cachedInput: 0.075, output: 0.6 },
  o3: { input: 2, cachedInput: 0.5, output: 8 },
  "o4-mini": { input: 1.1, cachedInput: 0.275, output: 4.4 },
  // Google
  "gemini-2.5-pro": { input: 1.25, cachedInput: 0.31, output: 10 },
  "gemini-2.5-flash": { input: 0.3, cachedInput: 0.075, output: 2.5 },
  "gemini-2.5-flash-lite": { input: 0.1, cachedInput: 0.025, output: 0.4 },
};

/**
 * The price of `model`: an exact entry, else the longest entry the id starts with (dated
 * ids such as `claude-haiku-4-5-20251001`), ignoring a `provider/` prefix. Null = unknown.
 */
export function priceOf(model: string, table: PricingTable = DEFAULT_PRICING): ModelPrice | null {
  const id = model.includes("/") ? model.slice(model.lastIndexOf("/") + 1) : model;
  const exact = table[id];
  if (exact) return exact;
  let best: string | null = null;
  for (const key of Object.keys(table)) {
    if (id.startsWith(`${key}-`) && (best === null || key.length > best.length)) best = key;
  }
  return best === null ? null : (table[best] ?? null);
}

/** USD for `usage` on `model`; 0 for a model the table does not know (reported as unpriced). */
export function costOf(model: string, usage: TokenUsage, table: PricingTable = DEFAULT_PRICING): number {
  const price = priceOf(model, table);
  if (!price) return 0;
  const usd =
    (usage.tokensIn * price.input + usage.tokensCached * price.cachedInput + usage.tokensOut * price.output) /
    1_000_000;
  return Math.round(usd * 1e6) / 1e6;
}

export const ZERO_USAGE: TokenUsage = { tokensIn: 0, tokensOut: 0, tokensCached: 0, tokensReasoning: 0 };

export function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  return {
    tokensIn: a.tokensIn + b.tokensIn,
    tokensOut: a.tokensOut + b.tokensOut,
    tokensCached: a.tokensCached + b.tokensCached,
    tokensReasoning: a.tokensReasoning + b.tokensReasoning,
  };
}
