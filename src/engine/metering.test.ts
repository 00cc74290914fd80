/**
 * The gateway's tenant against a real store, SQLite and PostgreSQL: what the gateway would do
 * for each model request (admit it, then record its answer) is called here directly. Each
 * answered request is in the ledger at once; a run's `perRun` stops it after the request that
 * crosses it; 20 attempts at once against one `perDay` cap overrun it by less than one
 * request; the spend-velocity alarm stops and pauses the routine, within and across runs.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { shellSpec } from "../../test/helpers/specs.js";
import { routineRow, runRow } from "../../test/helpers/store-rows.js";
import { openTestStore, type TestStore, testDialects } from "../../test/helpers/stores.js";
import type { BudgetRefusal } from "../domain/budget-refusal.js";
import type { RoutineSpec } from "../domain/routine-spec.js";
import type { ConfigSettings } from "../domain/settings.js";
import type { MeteredRequest, MeteredResponse } from "../gateway/types.js";
import { spentUsd } from "../store/ledger.js";
import type { ClaimedRun } from "../store/sql/claim-runs.js";
import { reserveBudget } from "../store/sql/reserve-budget.js";
import { AttemptMeter, routineVelocityRefusal } from "./metering.js";
import type { SpendTrip } from "./spend-watch.js";

const NOW = Date.parse("2026-11-28T12:00:00Z");
const MODEL = "claude-haiku-4-5"; // $1 in, $5 out per million tokens

/** A request whose estimate (12,000 bytes ≈ 3,000 tokens in + 100 out = $0.0035) bounds its cost. */
function request(): MeteredRequest {
  return {
    format: "anthropic",
    model: MODEL,
    maxOutputTokens: 100,
    bodyBytes: 12_000,
    stream: true,
    method: "POST",
    path: "/v1/messages",
  };
}

/** An answer costing `tokensIn` × $1/M + 50 output tokens × $5/M. */
function answer(tokensIn: number): MeteredResponse {
  return {
    status: 200,
    model: MODEL,
    usage: { tokensIn, tokensOut: 50, tokensCached: 0, tokensReasoning: 0 },
    durationMs: 5,
    aborted: false,
  };
}
const COST_3000 = 0.00325;

describe.each(await testDialects())("%s: the gateway's tenant", (dialect) => {
  let ctx: TestStore;
  let clock: number;
  beforeEach(async () => {
    ctx = await openTestStore(dialect);
    clock = NOW;
  });
  afterEach(async () => {
    await ctx?.dispose();
  });

  async function attempt(
    name: string,
    spec: Partial<RoutineSpec>,
    settings: ConfigSettings = {},
    options: { routineId?: number; reserveUsd?: number; dueAt?: number } = {},
  ) {
    const routineId =
      options.routineId ??
      (await routineRow(ctx.store, name, { spec: { harness: "claude", ...spec }, now: NOW })).id;
    const dueAt = options.dueAt ?? NOW;
    const id = await runRow(ctx.store, {
      routine_id: routineId,
      due_at: dueAt,
      status: "running",
      attempt: 1,
    });
    const run: ClaimedRun = {
      id,
      routineId,
      routineName: name,
      spec: shellSpec(name, { harness: "claude", ...spec }),
      attempt: 1,
      maxAttempts: 1,
      dueAt,
      trigger: "schedule",
      input: null,
      leaseUntil: NOW + 60_000,
      workerId: "w1",
    };
    let reservationId: number | null = null;
    if (options.reserveUsd !== undefined) {
      const reserved = await reserveBudget(ctx.store, {
        runId: id,
        attempt: 1,
        routineId,
        amountUsd: options.reserveUsd,
        caps: [{ scope: "routine-day", limitUsd: 1 }],
        now: NOW,
      });
      if (!reserved.ok) throw new Error("not reserved");
      reservationId = reserved.reservationId;
    }
    const stops: Array<{ refusal: BudgetRefusal; trip: SpendTrip }> = [];
    const meter = new AttemptMeter({
      store: ctx.store,
      run,
      settings,
      plan: { harness: "claude", tier: "fast", model: MODEL, reservationId },
      now: () => clock,
      watch: null,
      stop: (refusal, trip) => stops.push({ refusal, trip }),
    });
    return { run, meter, stops };
  }

  /** Requests one after another until the tenant refuses one; returns how many went through. */
  async function spendUntilRefused(meter: AttemptMeter, tokensIn: number, pause?: () => Promise<void>) {
    for (let sent = 0; sent < 1000; sent++) {
      const req = request();
      const admitted = await meter.admit(req);
      if (!admitted.ok) return sent;
      await pause?.();
      await meter.record(req, answer(tokensIn));
    }
    throw new Error("never refused");
  }

  it("puts each answered request in the ledger at once, tagged, and draws it from the attempt's reservation", async () => {
    const { meter: withReservation } = await attempt("alpha", {}, {}, { reserveUsd: 0.01 });
    const req = request();
    expect(await withReservation.admit(req)).toEqual({ ok: true });
    const held = await ctx.store.db
      .selectFrom("budget_reservations")
      .selectAll()
      .where("settled_at", "is", null)
      .execute();
    // The attempt's reservation and this request's hold of its estimate.
    expect(held.map((row) => Number(row.amount_usd)).sort()).toEqual([0.0035, 0.01]);
    await withReservation.record(req, answer(3000));

    const rows = await ctx.store.db.selectFrom("ledger").selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      routine_name: "alpha",
      attempt: 1,
      harness: "claude",
      model: MODEL,
      tier: "fast",
      cost_source: "gateway",
    });
    expect(Number(rows[0]!.tokens_in)).toBe(3000);
    expect(Number(rows[0]!.cost_usd)).toBeCloseTo(COST_3000, 9);
    const open = await ctx.store.db
      .selectFrom("budget_reservations")
      .selectAll()
      .where("settled_at", "is", null)
      .execute();
    expect(open).toHaveLength(1);
    expect(Number(open[0]!.amount_usd)).toBeCloseTo(0.01 - COST_3000, 9);
    expect(withReservation.totals().costUsd).toBeCloseTo(COST_3000, 9);
  });

  it("stops a run after the request that crosses its perRun, with the numbers and the field to raise", async () => {
    const { meter, stops } = await attempt("alpha", { budget: { perRun: 0.01 } });
    const sent = await spendUntilRefused(meter, 3000);
    // $0, $0.00325, $0.0065 and $0.00975 spent are below $0.01: the fourth crosses it.
    expect(sent).toBe(4);
    const spent = await spentUsd(ctx.store.db, { from: NOW - 1, to: NOW + 1 });
    expect(spent).toBeCloseTo(4 * COST_3000, 9);
    expect(spent).toBeLessThanOrEqual(0.01 + COST_3000);
    expect(stops).toHaveLength(1);
    expect(stops[0]!.trip).toBe("budget");
    expect(stops[0]!.refusal.message).toBe(
      "stopped before a model request: the per-run budget (budget.perRun) of $0.01: this run has spent $0.013; nothing is left for another request",
    );
    expect(stops[0]!.refusal.hint).toContain("Raise `budget.perRun` of alpha above $0.013");
    // Once refused, the tenant refuses every later request without asking the store.
    expect(await meter.admit(request())).toMatchObject({ ok: false, code: "LOOPD_BUDGET_EXCEEDED" });
    expect(stops).toHaveLength(1);
  });

  it("20 attempts at once against one perDay cap overrun it by less than one request", async () => {
    const routine = await routineRow(ctx.store, "swarm", {
      spec: { harness: "claude", budget: { perDay: 0.05 } },
      now: NOW,
    });
    const tenants = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        attempt("swarm", { budget: { perDay: 0.05 } }, {}, { routineId: routine.id, dueAt: NOW + index }),
      ),
    );
    // Costs vary per attempt (each within its estimate); the gap between admit and record
    // lets the others' admissions interleave with requests in flight.
    const sent = await Promise.all(
      tenants.map(({ meter }, index) =>
        spendUntilRefused(
          meter,
          1000 + 100 * index,
          () => new Promise((done) => setTimeout(done, index % 3)),
        ),
      ),
    );
    const spent = await spentUsd(ctx.store.db, { from: NOW - 1, to: NOW + 1 });
    const dearest = 0.000001 * (1000 + 100 * 19) + 0.00025;
    expect(spent).toBeLessThan(0.05 + dearest);
    expect(spent).toBeGreaterThan(0.05 - dearest);
    expect(sent.reduce((sum, count) => sum + count, 0)).toBeGreaterThan(10);
    expect(tenants.every(({ stops }) => stops.length === 1)).toBe(true);
    const open = await ctx.store.db
      .selectFrom("budget_reservations")
      .select("id")
      .where("settled_at", "is", null)
      .execute();
    expect(open).toEqual([]);
  });

  it("the spend-velocity alarm stops the run and pauses the routine; its next run does not start", async () => {
    const { run, meter, stops } = await attempt("loop", { budget: { usdPerMinute: 0.01 } });
    const sent = await spendUntilRefused(meter, 3000);
    // After four requests ($0.013) the routine has spent more than $0.01 in the last minute.
    expect(sent).toBe(4);
    expect(stops.map((stop) => stop.trip)).toEqual(["velocity"]);
    expect(stops[0]!.refusal.message).toBe(
      "stopped: loop spent $0.013 in the last minute, over its $0.01/min spend-velocity alarm (budget.usdPerMinute); a runaway loop? The routine is paused",
    );
    const routine = await ctx.store.db
      .selectFrom("routines")
      .selectAll()
      .where("id", "=", run.routineId)
      .executeTakeFirstOrThrow();
    expect(routine.state).toBe("paused");
    expect(routine.paused_code).toBe("LOOPD_BUDGET_EXCEEDED");
    const events = await ctx.store.db.selectFrom("outbox").select(["type", "payload"]).execute();
    expect(events.map((event) => event.type)).toContain("routine.paused");

    // Across runs: a loop of cheap runs firing every few seconds is refused before it starts.
    clock = NOW + 30_000;
    expect(await routineVelocityRefusal(ctx.store, run, {}, clock)).not.toBeNull();
    clock = NOW + 61_000;
    expect(await routineVelocityRefusal(ctx.store, run, {}, clock)).toBeNull();
  });

  it("a global usdPerMinute applies to a routine without its own", async () => {
    const { meter, stops } = await attempt("other", {}, { budgets: { usdPerMinute: 0.005 } });
    expect(await spendUntilRefused(meter, 3000)).toBe(2);
    expect(stops[0]!.refusal.message).toContain("(budgets.usdPerMinute)");
  });

  it("a request cut off without usage spends nothing and its hold closes when the attempt ends", async () => {
    const { meter } = await attempt("alpha", { budget: { perRun: 1 } });
    const answered = request();
    await meter.admit(answered);
    await meter.record(answered, { ...answer(0), usage: null, aborted: true });
    await meter.admit(request()); // never answered: the agent was killed
    await meter.finish();
    expect(await ctx.store.db.selectFrom("ledger").selectAll().execute()).toEqual([]);
    const open = await ctx.store.db
      .selectFrom("budget_reservations")
      .select("id")
      .where("settled_at", "is", null)
      .execute();
    expect(open).toEqual([]);
  });
});
