/**
 * Token accounting for a builtin run: the AI SDK's per-step usage in loopd's convention, kept
 * per model (the main agent and its sub-agents may use different models and prices).
 */
import type { LanguageModelUsage } from "ai";
import { addUsage, costOf, DEFAULT_PRICING, type PricingTable, ZERO_USAGE } from "../../domain/pricing.js";
import type { TokenUsage } from "../../domain/run-report.js";
import type { ModelUsage } from "../harness.js";

/**
 * loopd counts `tokensIn` as input not served from a cache, so cache writes are included
 * (they are billed as input) and cache reads are not. The SDK's `noCacheTokens` excludes
 * cache writes for some providers (OpenAI), so the total minus reads is used instead.
 */
export function toTokenUsage(usage: LanguageModelUsage): TokenUsage {
  const cached = usage.inputTokenDetails?.cacheReadTokens ?? usage.cachedInputTokens ?? 0;
  const total =
    usage.inputTokens ??
    (usage.inputTokenDetails?.noCacheTokens ?? 0) + (usage.inputTokenDetails?.cacheWriteTokens ?? 0) + cached;
  return {
    tokensIn: Math.max(0, total - cached),
    tokensCached: cached,
    tokensOut: usage.outputTokens ?? 0,
    tokensReasoning: usage.outputTokenDetails?.reasoningTokens ?? usage.reasoningTokens ?? 0,
  };
}

export class UsageLedger {
  private readonly byModel = new Map<string, TokenUsage>();

  constructor(private readonly pricing: PricingTable = DEFAULT_PRICING) {}

  add(model: string, usage: TokenUsage): void {
    this.byModel.set(model, addUsage(this.byModel.get(model) ?? ZERO_USAGE, usage));
  }

  total(): TokenUsage {
    let sum = ZERO_USAGE;
    for (const usage of this.byModel.values()) sum = addUsage(sum, usage);
    return sum;
  }

  /** Per model, in the order models were first used (the main agent's first). */
  models(): ModelUsage[] {
    return [...this.byModel].map(([model, usage]) => ({
      model,
      usage,
      costUsd: costOf(model, usage, this.pricing),
    }));
  }

  costUsd(): number {
    const usd = this.models().reduce((sum, entry) => sum + entry.costUsd, 0);
    return Math.round(usd * 1e6) / 1e6;
  }
}
