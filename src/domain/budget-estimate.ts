/**
 * What a run attempt is expected to cost, for the reservation made before it starts
 * (src/engine/attempt-plan.ts). The estimate must never lock a routine out: it is at most the
 * tightest cap it is checked against (the per-run cap stops a run that spends more anyway,
 * and a refused run adds no history that could ever lower the estimate), and with history it
 * is the median of recent attempts, so one run that overshot does not raise it for good.
 */
import type { Cap } from "./budget.js";
import { costOf, type PricingTable, priceOf } from "./pricing.js";
import type { TokenUsage } from "./run-report.js";

/** Recent enough to follow a routine whose prompt or model changed, enough for a median. */
export const RECENT_ATTEMPTS = 20;

/** Reserved with no history, no per-run cap and no price for the model. */
export const DEFAULT_ESTIMATE_USD = 0.25;

/**
 * One agent turn as a default estimate prices it: the context read back (mostly from the
 * prompt cache after the first turn) and the reply. Multiplied by `maxTurns`, a worst case
 * for a run that uses every turn, which is what a reservation should hold.
 */
export const TURN_USAGE: TokenUsage = {
  tokensIn: 2_000,
  tokensCached: 10_000,
  tokensOut: 600,
  tokensReasoning: 0,
};

export interface AttemptEstimate {
  usd: number;
  /** Where the number comes from, for the refusal message. */
  basis: string;
}

export interface EstimateInput {
  /** USD of the routine's recent attempts that spent anything (on the tier, when routed). */
  recentCostsUsd: readonly number[];
  /** The priced default for the model and `maxTurns` (defaultAttemptCost); null = unpriced. */
  defaultUsd: number | null;
  /** Every cap the reservation is checked against (applicableCaps). */
  caps: readonly Cap[];
}

export function estimateAttempt(input: EstimateInput): AttemptEstimate {
  const perRun = input.caps.find((cap) => cap.scope === "run")?.limitUsd;
  const typical = median(input.recentCostsUsd);
  let estimate: AttemptEstimate;
  if (typical !== null) {
    const runs = input.recentCostsUsd.length;
    estimate = { usd: typical, basis: `median of ${runs} recent run${runs === 1 ? "" : "s"}` };
  } else {
    const fallback =
      input.defaultUsd === null
        ? { usd: DEFAULT_ESTIMATE_USD, basis: "default for a run without history" }
        : { usd: input.defaultUsd, basis: "priced from the model and maxTurns, no history yet" };
    estimate =
      perRun !== undefined && perRun < fallback.usd
        ? { usd: perRun, basis: "budget.perRun, no history yet" }
        : fallback;
  }
  const tightest = Math.min(...input.caps.map((cap) => cap.limitUsd));
  // Above a cap the estimate could never be reserved, however the routine behaves.
  return estimate.usd > tightest
    ? { usd: tightest, basis: `${estimate.basis}, capped at the budget` }
    : estimate;
}

/** A run of `maxTurns` typical turns on `model`; null when the table has no price for it. */
export function defaultAttemptCost(
  model: string | null,
  maxTurns: number,
  pricing: PricingTable,
): number | null {
  if (model === null || priceOf(model, pricing) === null) return null;
  const usage: TokenUsage = {
    tokensIn: TURN_USAGE.tokensIn * maxTurns,
    tokensCached: TURN_USAGE.tokensCached * maxTurns,
    tokensOut: TURN_USAGE.tokensOut * maxTurns,
    tokensReasoning: 0,
  };
  return costOf(model, usage, pricing);
}

/** The middle value (mean of the two middle ones for an even count); null when empty. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
