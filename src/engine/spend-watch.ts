/**
 * Watching a run's spend while it runs: usage events from the harness are turned into
 * tokens and dollars so far, and the run is stopped the moment it crosses its cap (USD per
 * run, tokens per run) or burns tokens faster than the velocity alarm allows — one runaway
 * message must not cost $30. Harnesses that enforce a cap themselves (Claude Code's
 * `--max-budget-usd`) are watched too: whichever notices first stops the run.
 */
import { usdPerMinuteOf } from "../domain/metering.js";
import { formatUsd } from "../domain/money.js";
import { costOf, DEFAULT_PRICING, type PricingTable } from "../domain/pricing.js";
import type { TokenUsage } from "../domain/run-report.js";
import type { ConfigSettings } from "../domain/settings.js";
import type { HarnessResult } from "../harness/harness.js";
import { enqueueEvent } from "../store/outbox.js";
import type { ClaimedRun } from "../store/sql/claim-runs.js";
import type { Store } from "../store/store.js";

export const DEFAULT_TOKENS_PER_MINUTE = 2_000_000;
const WINDOW_MS = 60_000;

export interface SpendLimits {
  perRunUsd: number | null;
  tokensPerRun: number | null;
  tokensPerMinute: number;
  /** USD per minute (`budget.usdPerMinute`); null = no USD velocity alarm. */
  usdPerMinute: number | null;
}

/** Which limit stopped the run: a velocity alarm also pauses the routine. */
export type SpendTrip = "budget" | "velocity";

export interface SpendWatchOptions {
  limits: SpendLimits;
  /** Model used to price tokens when the harness reports tokens without a model. */
  model: string | null;
  pricing: PricingTable;
  now: () => number;
  /** Called once, with the reason, when a limit is crossed. */
  onExceeded: (reason: string, trip: SpendTrip) => void;
}

export class SpendWatch {
  /** Cumulative usage of harnesses that report totals (the CLIs). */
  private total: TokenUsage = zero();
  /** Per-model sums of harnesses that report per-step deltas (builtin). */
  private readonly steps = new Map<string, TokenUsage>();
  private readonly samples: Array<{ at: number; tokens: number; usd: number }> = [];
  private exceeded = false;

  constructor(private readonly options: SpendWatchOptions) {}

  /** Feeds one `usage` event's data; returns whether the run must stop. */
  observe(data: unknown): boolean {
    if (this.exceeded || data === null || typeof data !== "object") return this.exceeded;
    const record = data as Record<string, unknown>;
    if (isUsage(record.usage) && typeof record.model === "string") {
      const before = this.steps.get(record.model) ?? zero();
      this.steps.set(record.model, add(before, record.usage));
    } else if (isUsage(record)) {
      this.total = { ...record };
    } else {
      return false;
    }
    this.check();
    return this.exceeded;
  }

  /** Tokens (uncached input + output) and USD so far. */
  spent(): { tokens: number; usd: number } {
    let tokens = billable(this.total);
    let usd = this.options.model ? costOf(this.options.model, this.total, this.options.pricing) : 0;
    for (const [model, usage] of this.steps) {
      tokens += billable(usage);
      usd += costOf(model, usage, this.options.pricing);
    }
    return { tokens, usd };
  }

  private check(): void {
    const { limits } = this.options;
    const { tokens, usd } = this.spent();
    const now = this.options.now();
    // The window's first sample is the spend before it: a run's first minute counts from 0.
    if (this.samples.length === 0) this.samples.push({ at: now, tokens: 0, usd: 0 });
    this.samples.push({ at: now, tokens, usd });
    while (this.samples.length > 1 && this.samples[1]!.at < now - WINDOW_MS) this.samples.shift();
    const perMinute = tokens - (this.samples[0]?.tokens ?? 0);
    const usdPerMinute = usd - (this.samples[0]?.usd ?? 0);
    let reason: string | null = null;
    let trip: SpendTrip = "budget";
    if (limits.usdPerMinute !== null && usdPerMinute > limits.usdPerMinute) {
      reason = `spent ${formatUsd(usdPerMinute)} in under a minute, over the ${formatUsd(limits.usdPerMinute)}/min spend-velocity alarm (budget.usdPerMinute; a runaway loop?)`;
      trip = "velocity";
    } else if (limits.perRunUsd !== null && usd > limits.perRunUsd) {
      reason = `spent ${formatUsd(usd)}, over the run's ${formatUsd(limits.perRunUsd)} budget`;
    } else if (limits.tokensPerRun !== null && tokens > limits.tokensPerRun) {
      reason = `used ${tokens} tokens, over the run's ${limits.tokensPerRun}-token budget`;
    } else if (perMinute > limits.tokensPerMinute) {
      reason = `used ${perMinute} tokens in under a minute, over the ${limits.tokensPerMinute} tokens/min alarm (a runaway loop?)`;
    }
    if (reason) {
      this.exceeded = true;
      this.options.onExceeded(reason, trip);
    }
  }
}

function zero(): TokenUsage {
  return { tokensIn: 0, tokensOut: 0, tokensCached: 0, tokensReasoning: 0 };
}

function add(a: TokenUsage, b: TokenUsage): TokenUsage {
  return {
    tokensIn: a.tokensIn + b.tokensIn,
    tokensOut: a.tokensOut + b.tokensOut,
    tokensCached: a.tokensCached + b.tokensCached,
    tokensReasoning: a.tokensReasoning + b.tokensReasoning,
  };
}

/** Cache reads are cheap and re-read every turn; counting them would trip the alarm on normal work. */
function billable(usage: TokenUsage): number {
  return usage.tokensIn + usage.tokensOut;
}

function isUsage(value: unknown): value is TokenUsage {
  if (value === null || typeof value !== "object") return false;
  const usage = value as Record<string, unknown>;
  return typeof usage.tokensIn === "number" && typeof usage.tokensOut === "number";
}

/** Why the spend watch (or the gateway's refusal) stopped a run. */
export interface SpendStop {
  reason: string;
  /** The refusal's own hint (which setting to raise); else the error table's. */
  hint?: string;
  trip: SpendTrip;
}

/** The run's spend watch, from its routine's and the config's limits; `stop` aborts the harness. */
export function watchSpend(
  run: ClaimedRun,
  settings: ConfigSettings,
  model: string | null,
  now: () => number,
): {
  watch: SpendWatch;
  stop: AbortController;
  stopWith: (stop: SpendStop) => void;
  stopped: () => SpendStop | null;
} {
  const stop = new AbortController();
  let stopped: SpendStop | null = null;
  const stopWith = (why: SpendStop) => {
    if (stopped) return;
    stopped = why;
    stop.abort(why.reason);
  };
  const watch = new SpendWatch({
    limits: {
      perRunUsd: run.spec.budget?.perRun ?? settings.budgets?.perRun ?? null,
      tokensPerRun: run.spec.budget?.tokensPerRun ?? null,
      tokensPerMinute: settings.budgets?.tokensPerMinute ?? DEFAULT_TOKENS_PER_MINUTE,
      usdPerMinute: usdPerMinuteOf(run.spec.budget?.usdPerMinute, settings.budgets?.usdPerMinute),
    },
    model,
    pricing: { ...DEFAULT_PRICING, ...settings.pricing },
    now,
    onExceeded: (reason, trip) => stopWith({ reason, trip }),
  });
  return { watch, stop, stopWith, stopped: () => stopped };
}

export function overBudget(result: HarnessResult, stop: SpendStop): HarnessResult {
  const message = stop.reason.startsWith("stopped") ? stop.reason : `stopped: ${stop.reason}`;
  return {
    ...result,
    outcome: "failed",
    error: { code: "LOOPD_BUDGET_EXCEEDED", message, ...(stop.hint ? { hint: stop.hint } : {}) },
  };
}

/** A `budget.exceeded` outbox event for the routine's `notify: { on: [budget] }` channels. */
export async function recordBudgetEvent(
  store: Store,
  run: ClaimedRun,
  now: number,
  reason: string,
): Promise<void> {
  await enqueueEvent(store.db, {
    type: "budget.exceeded",
    kind: "budget",
    routineId: run.routineId,
    runId: run.id,
    payload: { routine: run.routineName, runId: run.id, attempt: run.attempt, reason },
    notify: run.spec.notify,
    now,
  }).catch(() => {}); // the run's own record carries the error; the event is a courtesy
}
