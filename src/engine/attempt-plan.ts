/**
 * Before an agent attempt starts: which tier runs it and why (the router), and whether the
 * budget allows it — the attempt's estimated cost is reserved in the store, atomically
 * against every cap that applies, before anything is spent ("reserve before, settle after").
 * After the attempt its real cost goes to the ledger and settles the reservation.
 */
import { applicableCaps, type Cap, capWindow, isRoutineScope } from "../domain/budget.js";
import { defaultAttemptCost, estimateAttempt, RECENT_ATTEMPTS } from "../domain/budget-estimate.js";
import { reservationRefusal, routingRefusal } from "../domain/budget-refusal.js";
import { DEFAULT_PRICING } from "../domain/pricing.js";
import { type BudgetLeft, nextTier, type RoutingRule, routeRun, tierOrder } from "../domain/router.js";
import { DEFAULTS } from "../domain/routine-spec.js";
import type { ConfigSettings } from "../domain/settings.js";
import type { HarnessResult } from "../harness/harness.js";
import { type LedgerEntry, recentAttemptCosts, recordLedger, spentUsd } from "../store/ledger.js";
import { listRunArtifacts } from "../store/run-artifacts.js";
import type { ClaimedRun } from "../store/sql/claim-runs.js";
import { attemptSpentUsd, recordRunMetering } from "../store/sql/meter-request.js";
import { reserveBudget, reservedUsd } from "../store/sql/reserve-budget.js";
import { previousAttempt, recordRoute, tierHistory } from "../store/sql/routing-history.js";
import { settleBudget } from "../store/sql/settle-budget.js";
import type { Store } from "../store/store.js";
import type { TierSettings } from "./agent-context.js";
import { agentPrompt } from "./agent-prompt.js";
import type { AttemptMeter } from "./metering.js";

/** How far back an attempt's cost still says something about the next one. */
const RECENT_WINDOW_MS = 30 * 86_400_000;

export interface AttemptPlan {
  tier: string | null;
  reason: string | null;
  harness: string;
  model: string | null;
  baseUrl: string | null;
  reservationId: number | null;
  /** When escalating: what the failed attempt on the weaker tier did, for the next one to read. */
  previousFailure: string | null;
}

export type PlanResult =
  | { ok: true; plan: AttemptPlan }
  | { ok: false; error: { code: string; message: string; hint: string } };

export async function planAttempt(
  store: Store,
  run: ClaimedRun,
  settings: ConfigSettings,
  now: number,
  random: () => number = Math.random,
): Promise<PlanResult> {
  const { spec } = run;
  const models = (settings.models ?? {}) as Record<string, TierSettings>;
  const tiers = tierOrder(models);
  const rules = (settings.routing?.rules ?? []) as RoutingRule[];
  const routed =
    tiers.length > 0 &&
    spec.model === undefined &&
    (spec.tier !== undefined || spec.escalate.length > 0 || rules.length > 0);
  const caps = applicableCaps(spec.budget, settings.budgets);
  const history = routed ? await tierHistory(store.db, run.routineId) : {};

  let plan: AttemptPlan = {
    tier: null,
    reason: spec.model ? `model ${spec.model} set on the routine` : null,
    harness: spec.harness,
    model: spec.model ?? null,
    baseUrl: null,
    reservationId: null,
    previousFailure: null,
  };
  if (routed) {
    const previous = run.attempt > 1 ? await previousAttempt(store.db, run.id) : null;
    // Escalate only when there is somewhere to go: at the top tier a failed check is retried
    // (the routine's own `retries`) on the same tier like any other failure.
    const escalation =
      previous?.errorCode === "LOOPD_VERIFY_FAILED" &&
      previous.tier &&
      nextTier(spec, tiers, previous.tier) !== null
        ? { failedTier: previous.tier, summary: previous.errorMessage ?? previous.summary ?? "" }
        : null;
    const tightest = await budgetLeft(store, run, caps, now);
    const decision = routeRun({
      spec,
      tiers,
      rules,
      explore: settings.routing?.explore ?? 0.05,
      history,
      promptChars: agentPrompt(spec, run.input).length,
      lastChangedFiles: await lastChangedFiles(store, run),
      failingTests: failingTestsOf(run.input),
      budgetLeft: tightest?.left ?? null,
      escalation,
      random,
    });
    if (decision.kind === "refuse") {
      // With a stronger tier available, only the budget can refuse it.
      const refusal = routingRefusal(
        decision.reason,
        tightest?.cap ?? null,
        run.routineName,
        spec.budget,
        settings.budgets,
      );
      return { ok: false, error: { code: "LOOPD_BUDGET_EXCEEDED", ...refusal } };
    }
    const tier = models[decision.tier] ?? {};
    plan = {
      tier: decision.tier,
      reason: decision.reason,
      harness: tier.harness ?? spec.harness,
      model: tier.model ?? null,
      baseUrl: tier.baseUrl ?? null,
      reservationId: null,
      previousFailure: escalation
        ? `An attempt on the ${escalation.failedTier} tier already tried this and failed verification: ${escalation.summary}${previous?.summary && previous.summary !== escalation.summary ? `\nIts own summary: ${previous.summary}` : ""}`
        : null,
    };
  }
  if (caps.length > 0) {
    const pricing = { ...DEFAULT_PRICING, ...settings.pricing };
    const estimate = estimateAttempt({
      recentCostsUsd: await recentAttemptCosts(store.db, {
        routineId: run.routineId,
        ...(plan.tier ? { tier: plan.tier } : {}),
        since: now - RECENT_WINDOW_MS,
        limit: RECENT_ATTEMPTS,
      }),
      defaultUsd: defaultAttemptCost(plan.model, spec.maxTurns ?? DEFAULTS.maxTurns, pricing),
      caps,
    });
    const reserved = await reserveBudget(store, {
      runId: run.id,
      attempt: run.attempt,
      routineId: run.routineId,
      amountUsd: estimate.usd,
      caps,
      now,
    });
    if (!reserved.ok) {
      const refusal = reservationRefusal({
        scope: reserved.cap.scope,
        limitUsd: reserved.cap.limitUsd,
        spentUsd: reserved.spentUsd,
        heldUsd: reserved.reservedUsd,
        estimateUsd: estimate.usd,
        basis: estimate.basis,
        routine: run.routineName,
        routineBudget: spec.budget,
        globalBudgets: settings.budgets,
        now,
      });
      return { ok: false, error: { code: "LOOPD_BUDGET_EXCEEDED", ...refusal } };
    }
    plan.reservationId = reserved.reservationId;
  }
  // Recorded only for attempts that start, so refusals do not count as the tier's failures.
  await recordRoute(store.db, run.id, run.attempt, { tier: plan.tier, reason: plan.reason });
  return { ok: true, plan };
}

/**
 * The attempt's spend into the ledger (one row per model), settling its reservation. A
 * gateway-metered attempt's spend is in the ledger already, request by request: its
 * reservation closes at that, and the harness's own report is kept beside it on the run
 * instead of being counted again.
 */
export async function settleAttempt(
  store: Store,
  run: ClaimedRun,
  plan: AttemptPlan,
  result: HarnessResult,
  now: number,
  metering: MeteringSlot,
): Promise<void> {
  if (metering.meter) {
    await metering.meter.finish();
    if (plan.reservationId !== null) {
      await settleBudget(store, {
        reservationId: plan.reservationId,
        actualUsd: await attemptSpentUsd(store.db, run.id, run.attempt),
        now,
        ledger: [],
      });
    }
    await recordRunMetering(store.db, {
      runId: run.id,
      metering: "gateway",
      reported: {
        tokensIn: result.usage?.tokensIn ?? 0,
        tokensOut: result.usage?.tokensOut ?? 0,
        tokensCached: result.usage?.tokensCached ?? 0,
        costUsd: reportedCost(result),
      },
    });
    return;
  }
  const entries: LedgerEntry[] = (
    result.modelUsage && result.modelUsage.length > 0
      ? result.modelUsage
      : result.usage
        ? [{ model: plan.model ?? "unknown", usage: result.usage, costUsd: result.costUsd ?? 0 }]
        : []
  ).map((entry) => ({
    at: now,
    routineId: run.routineId,
    routineName: run.routineName,
    runId: run.id,
    attempt: run.attempt,
    harness: plan.harness,
    model: entry.model,
    tier: plan.tier,
    usage: entry.usage,
    costUsd: entry.costUsd,
    // Claude Code reports dollars itself; the others are priced from the pricing table.
    costSource: plan.harness === "claude" ? "reported" : "priced",
  }));
  if (plan.reservationId !== null) {
    await settleBudget(store, { reservationId: plan.reservationId, now, ledger: entries });
  } else {
    await recordLedger(store.db, entries);
  }
  await recordRunMetering(store.db, { runId: run.id, metering: "reported", reported: null });
}

/** What the harness said the attempt cost: its own dollars, else its per-model prices. */
function reportedCost(result: HarnessResult): number {
  if (result.costUsd !== undefined) return result.costUsd;
  return (result.modelUsage ?? []).reduce((sum, entry) => sum + entry.costUsd, 0);
}

/**
 * How an attempt's spend is counted, filled in as it runs (attempt-harness.ts): the meter when
 * the gateway stands in for its model endpoints, else why not.
 */
export interface MeteringSlot {
  meter: AttemptMeter | null;
  /** Why the attempt is metered from its harness's report (null: gateway, or not yet known). */
  reportedBecause: string | null;
}

/** What is left of the tightest cap, and which cap that is (for the refusal's hint). */
async function budgetLeft(
  store: Store,
  run: ClaimedRun,
  caps: readonly Cap[],
  now: number,
): Promise<{ left: BudgetLeft; cap: Cap } | null> {
  let tightest: { left: BudgetLeft; cap: Cap } | null = null;
  for (const cap of caps) {
    const window = capWindow(cap.scope, now);
    const routineId = isRoutineScope(cap.scope) ? run.routineId : undefined;
    const used = window
      ? (await spentUsd(store.db, {
          from: window.from,
          to: window.to,
          ...(routineId !== undefined ? { routineId } : {}),
        })) + (await reservedUsd(store.db, routineId))
      : 0;
    const usd = cap.limitUsd - used;
    const kind = cap.scope === "run" ? "run" : cap.scope.endsWith("day") ? "day" : "month";
    if (tightest === null || usd < tightest.left.usd) tightest = { left: { usd, window: kind }, cap };
  }
  return tightest;
}

async function lastChangedFiles(store: Store, run: ClaimedRun): Promise<string[] | null> {
  const previous = await store.db
    .selectFrom("runs")
    .select("id")
    .where("routine_id", "=", run.routineId)
    .where("id", "<", run.id)
    .where("status", "in", ["succeeded", "failed"])
    .orderBy("id", "desc")
    .limit(1)
    .executeTakeFirst();
  if (!previous) return null;
  const artifact = (await listRunArtifacts(store.db, Number(previous.id))).findLast(
    (candidate) => candidate.kind === "changed-files",
  );
  return artifact ? (JSON.parse(artifact.content) as string[]) : [];
}

/** `failing: 3` (or `failing tests: 3`) in the text a run was fired with. */
function failingTestsOf(input: string | null): number | null {
  const match = input?.match(/failing(?:\s+tests)?\s*[:=]\s*(\d+)/i);
  return match?.[1] ? Number(match[1]) : null;
}
