import { describe, expect, it } from "vitest";
import { toTokenUsage, UsageLedger } from "./usage.js";

describe("usage", () => {
  it("counts cache writes as input and cache reads as cached", () => {
    const usage = toTokenUsage({
      inputTokens: 150,
      inputTokenDetails: { noCacheTokens: 100, cacheReadTokens: 30, cacheWriteTokens: 20 },
      outputTokens: 40,
      outputTokenDetails: { textTokens: 30, reasoningTokens: 10 },
      totalTokens: 190,
    });
    expect(usage).toEqual({ tokensIn: 120, tokensCached: 30, tokensOut: 40, tokensReasoning: 10 });
  });

  it("sums per model and prices each with its own rate", () => {
    const ledger = new UsageLedger({
      big: { input: 10, cachedInput: 1, output: 20 },
      small: { input: 1, cachedInput: 0.1, output: 2 },
    });
    const usage = { tokensIn: 1_000_000, tokensCached: 0, tokensOut: 0, tokensReasoning: 0 };
    ledger.add("big", usage);
    ledger.add("small", usage);
    ledger.add("big", usage);
    expect(ledger.models().map((entry) => [entry.model, entry.usage.tokensIn, entry.costUsd])).toEqual([
      ["big", 2_000_000, 20],
      ["small", 1_000_000, 1],
    ]);
    expect(ledger.total().tokensIn).toBe(3_000_000);
    expect(ledger.costUsd()).toBe(21);
  });
});
