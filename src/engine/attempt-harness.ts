/**
 * The harness at work, and what is judged and kept right after: the run under its spend watch
 * (budget and token/USD velocity) and, where it can be, the metering gateway; budget and
 * credential events, `verify`, and the memory update.
 */
import { meteringOf } from "../domain/metering.js";
import { tierOrder } from "../domain/router.js";
import type { GatewayRegistration } from "../gateway/types.js";
import type { AgentInput, HarnessEvent, HarnessResult } from "../harness/harness.js";
import { sandboxRequest } from "../harness/sandbox/request.js";
import type { ToolOutcomes } from "../harness/tool-outcome.js";
import { saveMemory } from "./agent-context.js";
import { type Attempt, type AttemptDeps, baseInput, bookkeepingFailed, recordHealth } from "./attempt.js";
import type { AttemptContext } from "./attempt-prepare.js";
import { AttemptMeter, pauseForVelocity } from "./metering.js";
import { meteringRoute } from "./metering-route.js";
import { redactError } from "./redaction.js";
import { overBudget, recordBudgetEvent, type SpendStop, watchSpend } from "./spend-watch.js";
import { verifyAttempt } from "./verify.js";

/** Errors that say something about the harness itself: doctor's "last error". */
const HARNESS_HEALTH_ERRORS = new Set([
  "LOOPD_AUTH_EXPIRED",
  "LOOPD_AUTH_MISSING",
  "LOOPD_HARNESS_NOT_INSTALLED",
]);

export interface HarnessRun {
  result: HarnessResult;
  /** Why the spend watch or the gateway stopped it (over budget, too fast); null when neither did. */
  stoppedBySpend: SpendStop | null;
}

/**
 * Runs the harness in the workspace; an agent under a spend watch, which stops it past its
 * budget or velocity (the result then fails with LOOPD_BUDGET_EXCEEDED), and, when the
 * metering gateway can stand in for its model endpoints, with every request metered and
 * admitted there (metering.ts). Every tool call's outcome is observed for the unverified flag.
 */
export async function runHarness(
  deps: AttemptDeps,
  attempt: Attempt,
  context: AttemptContext,
  tools: ToolOutcomes,
): Promise<HarnessRun> {
  const { run, signal } = attempt;
  const spend = context.agent ? watchSpend(run, attempt.settings, context.agent.model, deps.now) : null;
  const harnessSignal = spend ? AbortSignal.any([signal, spend.stop.signal]) : signal;
  const metered = spend ? await meterAttempt(deps, attempt, context, spend) : null;
  const gatewayMetered = metered?.registration != null;
  const observed = (event: HarnessEvent) => {
    // Gateway-metered: the watch is fed what the gateway saw, not the harness's own count.
    if (event.type === "usage" && !gatewayMetered) spend?.watch.observe(event.data);
    tools.observe(event);
    attempt.emit(event);
  };
  let result: HarnessResult;
  try {
    result = await attempt.harness.run(
      {
        ...baseInput(run, harnessSignal),
        cwd: context.workspace.cwd,
        env: context.env,
        agent: metered?.agent ?? context.agent,
      },
      observed,
    );
  } finally {
    metered?.registration?.close();
  }
  const stopped = spend?.stopped() ?? null;
  if (stopped && !signal.aborted) return { result: overBudget(result, stopped), stoppedBySpend: stopped };
  return { result, stoppedBySpend: null };
}

/**
 * Points the agent at the gateway when the attempt is to be gateway-metered (`metering:`) and
 * its setup takes a base URL (metering-route.ts); otherwise says why it is metered as reported.
 */
async function meterAttempt(
  deps: AttemptDeps,
  attempt: Attempt,
  context: AttemptContext,
  spend: ReturnType<typeof watchSpend>,
): Promise<{ agent: AgentInput; registration: GatewayRegistration | null } | null> {
  const slot = attempt.metering;
  const agent = context.agent;
  if (!slot || !agent || !attempt.plan) return null;
  const plan = attempt.plan;
  const route =
    meteringOf(attempt.run.spec.metering, attempt.settings.metering) === "reported"
      ? ({ kind: "reported", reason: "`metering: reported` is set" } as const)
      : meteringRoute(attempt.harness.name, agent, context.env);
  let registration: GatewayRegistration | null = null;
  let metered = agent;
  if (route.kind === "reported") {
    slot.reportedBecause = route.reason;
  } else if (!deps.gateway) {
    slot.reportedBecause = "this process runs no metering gateway";
  } else {
    try {
      const gateway = await deps.gateway.get();
      const meter = new AttemptMeter({
        store: deps.store,
        run: attempt.run,
        settings: attempt.settings,
        plan,
        now: deps.now,
        watch: spend.watch,
        stop: (refusal, trip) => spend.stopWith({ reason: refusal.message, hint: refusal.hint, trip }),
        onError: (error) => bookkeepingFailed(attempt.emitRaw, "metering a model request", error),
      });
      registration = gateway.register(meter, route.upstreams);
      const registered = registration;
      // The gateway holds the cap to the request; Claude Code's own --max-budget-usd (its
      // prices, its turns) would stop the run on a different count.
      metered = { ...route.rewrite((upstream) => registered.baseUrl(upstream)), maxBudgetUsd: null };
      slot.meter = meter;
    } catch (error) {
      slot.reportedBecause = "the metering gateway did not start";
      bookkeepingFailed(attempt.emitRaw, "starting the metering gateway", error);
    }
  }
  attempt.emit({
    type: "status",
    data: {
      event: "metering",
      metering: slot.meter ? "gateway" : "reported",
      ...(slot.reportedBecause ? { reason: slot.reportedBecause } : {}),
    },
  });
  return { agent: metered, registration };
}

/** The `budget.exceeded` notification (and a velocity pause), and doctor's note of credentials rejected mid-run. */
export async function recordHarnessEvents(
  deps: AttemptDeps,
  attempt: Attempt,
  ran: HarnessRun,
): Promise<void> {
  const { result } = ran;
  if (ran.stoppedBySpend !== null) {
    await recordBudgetEvent(deps.store, attempt.run, deps.now(), ran.stoppedBySpend.reason);
    if (ran.stoppedBySpend.trip === "velocity") {
      const refusal = {
        message: result.error?.message ?? ran.stoppedBySpend.reason,
        hint:
          ran.stoppedBySpend.hint ??
          `If this rate is expected, raise \`budget.usdPerMinute\` of ${attempt.run.routineName}, then \`loopd resume ${attempt.run.routineName}\`.`,
      };
      await pauseForVelocity(deps.store, attempt.run, refusal, deps.now()).catch((error: unknown) =>
        bookkeepingFailed(attempt.emitRaw, "pausing the routine", error),
      );
    }
  } else if (result.error?.code === "LOOPD_BUDGET_EXCEEDED") {
    await recordBudgetEvent(deps.store, attempt.run, deps.now(), result.error.message);
  }
  if (result.error && HARNESS_HEALTH_ERRORS.has(result.error.code)) {
    // Credentials that passed preflight but were rejected mid-run: doctor's "last error".
    await recordHealth(
      deps,
      attempt.harness.name,
      { installed: true, version: null, auth: "expired" },
      redactError(result.error, attempt.redact),
    );
  }
}

/** `verify`: a success is checked in the workspace before it counts (a run stopped is not). */
export async function verify(
  deps: AttemptDeps,
  attempt: Attempt,
  context: AttemptContext,
  result: HarnessResult,
): Promise<HarnessResult> {
  const { run, signal } = attempt;
  if (result.outcome !== "succeeded" || !run.spec.verify || signal.aborted) return result;
  return verifyAttempt({
    store: deps.store,
    run,
    verify: run.spec.verify,
    cwd: context.workspace.cwd,
    env: context.env,
    signal,
    result,
    emit: attempt.emit,
    redact: attempt.redact,
    tiers: tierOrder(attempt.settings.models),
    tier: attempt.plan?.tier ?? null,
    now: deps.now(),
    // The run's own profile (routine and global `sandbox:`, this harness's default).
    sandbox: {
      request: sandboxRequest({
        spec: run.spec,
        settings: attempt.settings,
        harness: attempt.harness.name,
        baseUrl: null,
        env: context.env,
        baseEnv: process.env,
      }),
      harness: attempt.harness.name,
    },
  });
}

/** `memory: true`: what the attempt learned is saved; failing to save does not fail the run. */
export async function remember(
  deps: AttemptDeps,
  attempt: Attempt,
  context: AttemptContext,
  result: HarnessResult,
): Promise<void> {
  if (!context.memory) return;
  await saveMemory(
    deps.store.db,
    deps.now(),
    attempt.run,
    context.memory,
    result,
    attempt.settings,
    attempt.redact,
  ).catch((error: unknown) => bookkeepingFailed(attempt.emit, "saving the memory", error));
}
