import { describe, expect, it } from "vitest";
import { meteringDisagrees, meteringOf, usdPerMinuteOf } from "./metering.js";

const usage = (tokensIn: number, tokensOut = 0) => ({
  tokensIn,
  tokensOut,
  tokensCached: 0,
  tokensReasoning: 0,
});

describe("metering", () => {
  it("a routine's setting wins over the config's; the gateway is the default", () => {
    expect(meteringOf(undefined, undefined)).toBe("gateway");
    expect(meteringOf(undefined, "reported")).toBe("reported");
    expect(meteringOf("gateway", "reported")).toBe("gateway");
    expect(usdPerMinuteOf(undefined, undefined)).toBeNull();
    expect(usdPerMinuteOf(0.5, 2)).toBe(0.5);
  });

  it("shows both counts only when they are more than 5% and $0.0001 (or 5% of tokens) apart", () => {
    const gateway = { usage: usage(10_000, 500), costUsd: 0.0125 };
    // 2% apart in dollars, same tokens: agree.
    expect(meteringDisagrees(gateway, { usage: usage(10_000, 500), costUsd: 0.01275 })).toBe(false);
    // 20% apart but less than $0.0001: agree on money; tokens agree too.
    expect(
      meteringDisagrees({ usage: usage(10, 1), costUsd: 0.00005 }, { usage: usage(10, 1), costUsd: 0.00004 }),
    ).toBe(false);
    // A run killed before its harness reported anything.
    expect(meteringDisagrees(gateway, { usage: usage(0), costUsd: 0 })).toBe(true);
    // Same dollars, a tenth of the tokens missing.
    expect(meteringDisagrees(gateway, { usage: usage(9_000, 500), costUsd: 0.0125 })).toBe(true);
  });
});
