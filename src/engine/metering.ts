/**
 * The metering gateway's tenant for one agent attempt: every model request the agent makes is
 * admitted against the caps (the run's `perRun`, the routine's and the global windows, the
 * routine's spend velocity) and, once answered, its tokens and price go to the ledger at once
 * (`cost_source` gateway), tagged with run, attempt, tier, model and harness. The store side
 * and its invariant (a cap is exceeded by less than one request, however many attempts run at
 * once) are in src/store/sql/meter-request.ts.
 *
 * A refusal stops the run (LOOPD_BUDGET_EXCEEDED, through the spend watch's stop); a velocity
 * refusal pauses the routine as well. Each answered request also feeds the run's spend watch,
 * so its token and USD velocity alarms read what the gateway saw, not the harness's report.
 */
import { applicableCaps } from "../domain/budget.js";
import { type BudgetRefusal, requestRefusal, velocityRefusal } from "../domain/budget-refusal.js";
import { requestEstimateUsd, usdPerMinuteOf, VELOCITY_WINDOW_MS } from "../domain/metering.js";
import { addUsage, costOf, DEFAULT_PRICING, type PricingTable, ZERO_USAGE } from "../domain/pricing.js";
import type { TokenUsage } from "../domain/run-report.js";
import type { ConfigSettings } from "../domain/settings.js";
import type { Admission, GatewayTenant, MeteredRequest, MeteredResponse } from "../gateway/types.js";
import type { ModelUsage } from "../harness/harness.js";
import { spentUsd } from "../store/ledger.js";
import type { ClaimedRun } from "../store/sql/claim-runs.js";
import { admitRequest, closeRequestHolds, recordRequest } from "../store/sql/meter-request.js";
import { pauseRoutineItself } from "../store/sql/pause-routine.js";
import type { Store } from "../store/store.js";
import type { SpendTrip, SpendWatch } from "./spend-watch.js";

export interface AttemptMeterOptions {
  store: Store;
  run: ClaimedRun;
  settings: ConfigSettings;
  /** The attempt's route: harness, tier, model, its budget reservation. */
  plan: { harness: string; tier: string | null; model: string | null; reservationId: number | null };
  now: () => number;
  /** The run's spend watch: fed each answered request. */
  watch: SpendWatch | null;
  /** Stops the run (once) with the refusal's words. */
  stop: (refusal: BudgetRefusal, trip: SpendTrip) => void;
  /** A store failure while recording (the request went through; its spend is lost to the ledger). */
  onError?: (error: unknown) => void;
}

export class AttemptMeter implements GatewayTenant {
  private readonly pricing: PricingTable;
  private readonly holds = new WeakMap<MeteredRequest, number>();
  private readonly pending = new Set<Promise<void>>();
  private readonly byModel = new Map<string, ModelUsage>();
  private refusal: BudgetRefusal | null = null;
  /** Requests answered and recorded. */
  requests = 0;

  constructor(private readonly options: AttemptMeterOptions) {
    this.pricing = { ...DEFAULT_PRICING, ...options.settings.pricing };
  }

  async admit(request: MeteredRequest): Promise<Admission> {
    if (this.refusal) return refused(this.refusal);
    const { store, run, settings, plan } = this.options;
    const now = this.options.now();
    const limit = usdPerMinuteOf(run.spec.budget?.usdPerMinute, settings.budgets?.usdPerMinute);
    const admitted = await admitRequest(store, {
      runId: run.id,
      attempt: run.attempt,
      routineId: run.routineId,
      attemptReservationId: plan.reservationId,
      amountUsd: requestEstimateUsd({ ...request, model: request.model ?? plan.model }, this.pricing),
      caps: applicableCaps(run.spec.budget, settings.budgets),
      velocity: limit !== null ? { limitUsd: limit, windowMs: VELOCITY_WINDOW_MS } : null,
      now,
    });
    if (admitted.ok) {
      this.holds.set(request, admitted.holdId);
      return { ok: true };
    }
    if (this.refusal) return refused(this.refusal);
    if (admitted.kind === "velocity") {
      this.refusal = velocityRefusal({
        routine: run.routineName,
        limitUsd: admitted.limitUsd,
        spentUsd: admitted.spentUsd,
        routineSet: run.spec.budget?.usdPerMinute !== undefined,
      });
      await pauseForVelocity(store, run, this.refusal, now).catch((error) => this.options.onError?.(error));
      this.options.stop(this.refusal, "velocity");
    } else {
      this.refusal = requestRefusal({
        scope: admitted.cap.scope,
        limitUsd: admitted.cap.limitUsd,
        spentUsd: admitted.spentUsd,
        heldUsd: admitted.reservedUsd,
        routine: run.routineName,
        routineBudget: run.spec.budget,
        globalBudgets: settings.budgets,
        now,
      });
      this.options.stop(this.refusal, "budget");
    }
    return refused(this.refusal);
  }

  record(request: MeteredRequest, response: MeteredResponse): Promise<void> {
    const recording = this.recordNow(request, response);
    this.pending.add(recording);
    void recording.finally(() => this.pending.delete(recording));
    return recording;
  }

  private async recordNow(request: MeteredRequest, response: MeteredResponse): Promise<void> {
    const { store, run, plan } = this.options;
    const model = response.model ?? request.model ?? plan.model ?? "unknown";
    const usage = response.usage;
    const costUsd = usage ? costOf(model, usage, this.pricing) : 0;
    const at = this.options.now();
    await recordRequest(store, {
      holdId: this.holds.get(request) ?? null,
      attemptReservationId: plan.reservationId,
      entry: usage
        ? {
            at,
            routineId: run.routineId,
            routineName: run.routineName,
            runId: run.id,
            attempt: run.attempt,
            harness: plan.harness,
            model,
            tier: plan.tier,
            usage,
            costUsd,
            costSource: "gateway",
          }
        : null,
      now: at,
    });
    this.holds.delete(request);
    if (!usage) return;
    this.requests += 1;
    const before = this.byModel.get(model);
    this.byModel.set(model, {
      model,
      usage: addUsage(before?.usage ?? ZERO_USAGE, usage),
      costUsd: (before?.costUsd ?? 0) + costUsd,
    });
    this.options.watch?.observe({ model, usage });
  }

  /** Waits for records still being written, then closes holds of requests cut off unrecorded. */
  async finish(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    const { store, run, plan } = this.options;
    await closeRequestHolds(store, {
      runId: run.id,
      attempt: run.attempt,
      except: plan.reservationId,
      now: this.options.now(),
    });
  }

  /** What the gateway recorded for the attempt, per model and in total. */
  totals(): { modelUsage: ModelUsage[]; usage: TokenUsage; costUsd: number } {
    const modelUsage = [...this.byModel.values()];
    return {
      modelUsage,
      usage: modelUsage.reduce((sum, entry) => addUsage(sum, entry.usage), ZERO_USAGE),
      costUsd: modelUsage.reduce((sum, entry) => sum + entry.costUsd, 0),
    };
  }
}

function refused(refusal: BudgetRefusal): Admission {
  return { ok: false, code: "LOOPD_BUDGET_EXCEEDED", message: refusal.message };
}

/**
 * The routine-level velocity alarm before an attempt starts: a routine that spent more than
 * its `usdPerMinute` in the last minute (a self-created loop firing every few seconds, each
 * run cheap) is paused instead of started. Null when it may start.
 */
export async function routineVelocityRefusal(
  store: Store,
  run: ClaimedRun,
  settings: ConfigSettings,
  now: number,
): Promise<BudgetRefusal | null> {
  const limit = usdPerMinuteOf(run.spec.budget?.usdPerMinute, settings.budgets?.usdPerMinute);
  if (limit === null) return null;
  const spent = await spentUsd(store.db, {
    routineId: run.routineId,
    from: now - VELOCITY_WINDOW_MS,
    to: now + 1,
  });
  if (spent <= limit) return null;
  const refusal = velocityRefusal({
    routine: run.routineName,
    limitUsd: limit,
    spentUsd: spent,
    routineSet: run.spec.budget?.usdPerMinute !== undefined,
  });
  await pauseForVelocity(store, run, refusal, now);
  return refusal;
}

/** Pauses the routine over its spend velocity, with `routine.paused` for its budget channels. */
export async function pauseForVelocity(
  store: Store,
  run: ClaimedRun,
  refusal: BudgetRefusal,
  now: number,
): Promise<void> {
  await store.writeTransaction((trx) =>
    pauseRoutineItself(trx, {
      routineId: run.routineId,
      routineName: run.routineName,
      runId: run.id,
      code: "LOOPD_BUDGET_EXCEEDED",
      reason: "velocity",
      pausedReason: refusal.message.replace(/^stopped: /, ""),
      hint: refusal.hint,
      error: { code: "LOOPD_BUDGET_EXCEEDED", message: refusal.message, hint: refusal.hint },
      failures: 0,
      kind: "budget",
      notify: run.spec.notify,
      now,
    }),
  );
}
