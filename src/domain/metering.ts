/**
 * Metering, pure: how an agent attempt's spend is counted — request by request through the
 * local model gateway (`gateway`), or from the harness's own report at the end (`reported`) —
 * the bounded estimate one model request is admitted against, and the spend-velocity limit.
 */
import { type PricingTable, priceOf } from "./pricing.js";
import type { TokenUsage } from "./run-report.js";

export const METERING_MODES = ["gateway", "reported"] as const;
export type MeteringMode = (typeof METERING_MODES)[number];

/** The routine's `metering:`, else the config's, else the gateway. */
export function meteringOf(
  routine: MeteringMode | undefined,
  global: MeteringMode | undefined,
): MeteringMode {
  return routine ?? global ?? "gateway";
}

/**
 * Output tokens a request without `max_tokens` (Codex's Responses requests, Gemini's) is
 * assumed to be able to produce: a long reply, not a model's whole window.
 */
export const DEFAULT_MAX_OUTPUT_TOKENS = 8_192;

/** Bytes of request body per prompt token: JSON of English and code runs ~4 bytes a token. */
const BYTES_PER_TOKEN = 4;

/**
 * What one request may cost at most (bar a tokenizer that packs fewer bytes per token): its
 * whole body priced as uncached input plus its output ceiling. 0 for a model the pricing
 * table does not know (its spend is priced at 0 as well, so no cap can count it).
 */
export function requestEstimateUsd(
  request: { model: string | null; maxOutputTokens: number | null; bodyBytes: number },
  pricing: PricingTable,
): number {
  const price = request.model ? priceOf(request.model, pricing) : null;
  if (!price) return 0;
  const input = Math.ceil(request.bodyBytes / BYTES_PER_TOKEN);
  const output = request.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS;
  return Math.round(((input * price.input + output * price.output) / 1_000_000) * 1e6) / 1e6;
}

/** The window spend velocity is measured over. */
export const VELOCITY_WINDOW_MS = 60_000;

/** The routine's `budget.usdPerMinute`, else the config's `budgets.usdPerMinute`; null = no alarm. */
export function usdPerMinuteOf(routine: number | undefined, global: number | undefined): number | null {
  return routine ?? global ?? null;
}

/** Whether a harness's own report and the gateway's count disagree enough to show both. */
export function meteringDisagrees(
  gateway: { usage: TokenUsage; costUsd: number },
  reported: { usage: TokenUsage; costUsd: number },
): boolean {
  const apart = (a: number, b: number, floor: number) => {
    const diff = Math.abs(a - b);
    return diff > floor && diff > 0.05 * Math.max(Math.abs(a), Math.abs(b));
  };
  const tokens = (usage: TokenUsage) => usage.tokensIn + usage.tokensOut + usage.tokensCached;
  return (
    apart(gateway.costUsd, reported.costUsd, 0.0001) ||
    apart(tokens(gateway.usage), tokens(reported.usage), 0)
  );
}
