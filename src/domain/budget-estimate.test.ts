import { describe, expect, it } from "vitest";
import type { Cap } from "./budget.js";
import {
  DEFAULT_ESTIMATE_USD,
  defaultAttemptCost,
  type EstimateInput,
  estimateAttempt,
  median,
} from "./budget-estimate.js";
import { DEFAULT_PRICING } from "./pricing.js";

const run = (limitUsd: number): Cap => ({ scope: "run", limitUsd });
const day = (limitUsd: number): Cap => ({ scope: "routine-day", limitUsd });
const month = (limitUsd: number): Cap => ({ scope: "global-month", limitUsd });

describe("estimateAttempt", () => {
  it.each<[string, EstimateInput, { usd: number; basis: string }]>([
    [
      "no history, no per-run cap, unpriced model: the default",
      { recentCostsUsd: [], defaultUsd: null, caps: [month(100)] },
      { usd: DEFAULT_ESTIMATE_USD, basis: "default for a run without history" },
    ],
    [
      "no history: the priced default when below perRun",
      { recentCostsUsd: [], defaultUsd: 0.2, caps: [run(1)] },
      { usd: 0.2, basis: "priced from the model and maxTurns, no history yet" },
    ],
    [
      "no history: perRun when below the priced default",
      { recentCostsUsd: [], defaultUsd: 0.54, caps: [run(0.1), day(5)] },
      { usd: 0.1, basis: "budget.perRun, no history yet" },
    ],
    [
      "only perDay: 0.05 and no history: never more than that cap, so the routine runs",
      { recentCostsUsd: [], defaultUsd: null, caps: [day(0.05)] },
      { usd: 0.05, basis: "default for a run without history, capped at the budget" },
    ],
    [
      "history: the median, not the mean, so one overshoot does not count",
      { recentCostsUsd: [0.0184, 0.002, 0.0021, 0.0019, 0.0022], defaultUsd: 0.54, caps: [run(0.003)] },
      { usd: 0.0021, basis: "median of 5 recent runs" },
    ],
    [
      "history above the per-run cap: capped, since the cap stops the run at that amount",
      { recentCostsUsd: [0.0184], defaultUsd: null, caps: [run(0.003), day(1)] },
      { usd: 0.003, basis: "median of 1 recent run, capped at the budget" },
    ],
  ])("%s", (_name, input, expected) => {
    expect(estimateAttempt(input)).toEqual(expected);
  });
});

describe("defaultAttemptCost", () => {
  it("prices maxTurns typical turns on the model, and knows nothing of unpriced models", () => {
    expect(defaultAttemptCost("claude-sonnet-4-5", 30, DEFAULT_PRICING)).toBeCloseTo(0.54, 6);
    expect(defaultAttemptCost("claude-sonnet-4-5", 10, DEFAULT_PRICING)).toBeCloseTo(0.18, 6);
    expect(defaultAttemptCost("local-llama", 30, DEFAULT_PRICING)).toBeNull();
    expect(defaultAttemptCost(null, 30, DEFAULT_PRICING)).toBeNull();
    expect(defaultAttemptCost("free", 30, { free: { input: 0, cachedInput: 0, output: 0 } })).toBe(0);
  });
});

describe("median", () => {
  it.each([
    [[], null],
    [[3], 3],
    [[5, 1, 3], 3],
    [[4, 1, 3, 2], 2.5],
  ])("%j → %s", (values, expected) => {
    expect(median(values)).toBe(expected);
  });
});
