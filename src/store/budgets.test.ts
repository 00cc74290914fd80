/**
 * Budget reservations and the ledger, as one contract suite on SQLite and PostgreSQL:
 * windows and scopes, refusals that write nothing, atomic settlement and stale releases. The
 * ledger queries are in ledger.test.ts, the concurrent race in budgets-race.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { shellSpec } from "../../test/helpers/specs.js";
import { openTestStore, type TestStore, testDialects } from "../../test/helpers/stores.js";
import type { Cap } from "../domain/budget.js";
import { type LedgerEntry, recordLedger, spentUsd } from "./ledger.js";
import { insertRoutine } from "./routines.js";
import { insertRun } from "./runs.js";
import { reserveBudget } from "./sql/reserve-budget.js";
import { releaseStaleReservations, settleBudget } from "./sql/settle-budget.js";

const NOW = Date.parse("2026-11-28T12:00:00Z");
const YESTERDAY = Date.parse("2026-11-27T23:59:59.999Z");
const MONTH_START = Date.parse("2026-11-01T00:00:00Z");
const LAST_MONTH = Date.parse("2026-10-31T23:00:00Z");

function entry(fields: Partial<LedgerEntry> & { at: number; costUsd: number }): LedgerEntry {
  return {
    routineId: 1,
    routineName: "alpha",
    runId: 100,
    attempt: 1,
    harness: "claude",
    model: "claude-sonnet-4-5",
    tier: "standard",
    usage: { tokensIn: 1000, tokensOut: 200, tokensCached: 50, tokensReasoning: 10 },
    costSource: "reported",
    ...fields,
  };
}

const reserve = (store: TestStore["store"], fields: { routineId?: number; amountUsd: number; caps: Cap[] }) =>
  reserveBudget(store, { runId: 100, attempt: 1, routineId: 1, now: NOW, ...fields });

describe.each(await testDialects())("%s: budget reservations", (dialect) => {
  let ctx: TestStore;
  beforeEach(async () => {
    ctx = await openTestStore(dialect);
  });
  afterEach(async () => {
    await ctx?.dispose();
  });

  const counts = async () => ({
    reservations: (await ctx.store.db.selectFrom("budget_reservations").selectAll().execute()).length,
    ledger: (await ctx.store.db.selectFrom("ledger").selectAll().execute()).length,
  });

  it("counts a day cap's spend from the UTC day of now only", async () => {
    await recordLedger(ctx.store.db, [
      entry({ at: YESTERDAY, costUsd: 4 }),
      entry({ at: NOW - 1, costUsd: 1 }),
    ]);
    const caps: Cap[] = [{ scope: "routine-day", limitUsd: 2.5 }];
    expect(await reserve(ctx.store, { amountUsd: 1, caps })).toMatchObject({ ok: true, remainingUsd: 0.5 });
    expect(await reserve(ctx.store, { amountUsd: 1, caps })).toEqual({
      ok: false,
      cap: caps[0],
      spentUsd: 1,
      reservedUsd: 1,
    });
  });

  it("counts a month cap's spend from the first of the UTC month, not before", async () => {
    await recordLedger(ctx.store.db, [
      entry({ at: LAST_MONTH, costUsd: 50 }),
      entry({ at: MONTH_START, costUsd: 3 }),
      entry({ at: YESTERDAY, costUsd: 4 }),
    ]);
    const refused = await reserve(ctx.store, {
      amountUsd: 1,
      caps: [{ scope: "routine-month", limitUsd: 7.5 }],
    });
    expect(refused).toMatchObject({ ok: false, spentUsd: 7, reservedUsd: 0 });
    const granted = await reserve(ctx.store, {
      amountUsd: 0.5,
      caps: [{ scope: "global-month", limitUsd: 7.5 }],
    });
    expect(granted).toMatchObject({ ok: true, remainingUsd: 0 });
  });

  it("counts other routines' spend and reservations for global caps but not routine caps", async () => {
    await recordLedger(ctx.store.db, [entry({ routineId: 2, routineName: "beta", at: NOW, costUsd: 3 })]);
    expect(
      await reserve(ctx.store, { routineId: 2, amountUsd: 1, caps: [{ scope: "global-day", limitUsd: 10 }] }),
    ).toMatchObject({ ok: true });
    // Routine 1 sees none of routine 2's $3 spent and $1 held.
    expect(
      await reserve(ctx.store, { amountUsd: 2, caps: [{ scope: "routine-day", limitUsd: 2 }] }),
    ).toMatchObject({ ok: true, remainingUsd: 0 });
    // Globally: 3 spent + 1 + 2 held, so 4 more would make 10 and 4.5 would not.
    expect(
      await reserve(ctx.store, { amountUsd: 4.5, caps: [{ scope: "global-day", limitUsd: 10 }] }),
    ).toMatchObject({ ok: false, spentUsd: 3, reservedUsd: 3 });
    expect(
      await reserve(ctx.store, { amountUsd: 4, caps: [{ scope: "global-day", limitUsd: 10 }] }),
    ).toMatchObject({ ok: true, remainingUsd: 0 });
  });

  it("admits a reservation that lands exactly on the cap despite float rounding", async () => {
    const caps: Cap[] = [{ scope: "global-day", limitUsd: 0.3 }];
    for (let i = 0; i < 3; i++)
      expect(await reserve(ctx.store, { amountUsd: 0.1, caps })).toMatchObject({ ok: true });
    expect(await reserve(ctx.store, { amountUsd: 0.01, caps })).toMatchObject({ ok: false });
  });

  it("refuses on the first cap that does not fit and writes nothing", async () => {
    await recordLedger(ctx.store.db, [entry({ at: NOW, costUsd: 5 })]);
    const before = await counts();
    const caps: Cap[] = [
      { scope: "run", limitUsd: 2 },
      { scope: "global-month", limitUsd: 100 },
      { scope: "routine-day", limitUsd: 6 },
      { scope: "global-day", limitUsd: 6 },
    ];
    expect(await reserve(ctx.store, { amountUsd: 1.5, caps })).toEqual({
      ok: false,
      cap: caps[2],
      spentUsd: 5,
      reservedUsd: 0,
    });
    expect(await reserve(ctx.store, { amountUsd: 3, caps })).toEqual({
      ok: false,
      cap: caps[0],
      spentUsd: 0,
      reservedUsd: 0,
    });
    expect(await counts()).toEqual(before);
  });

  it("grants a reservation without caps and reports no remaining headroom", async () => {
    expect(await reserve(ctx.store, { amountUsd: 1, caps: [] })).toMatchObject({
      ok: true,
      remainingUsd: null,
    });
  });

  it("settles: the ledger rows replace the reservation in one transaction, once", async () => {
    const caps: Cap[] = [{ scope: "routine-day", limitUsd: 3 }];
    const granted = await reserve(ctx.store, { amountUsd: 2, caps });
    if (!granted.ok) throw new Error("expected a reservation");
    const rows = [
      entry({ at: NOW + 10, costUsd: 0.25 }),
      entry({ at: NOW + 10, costUsd: 0.5, model: "gpt-5" }),
    ];
    expect(
      await settleBudget(ctx.store, { reservationId: granted.reservationId, now: NOW + 20, ledger: rows }),
    ).toBe("settled");
    const reservation = await ctx.store.db
      .selectFrom("budget_reservations")
      .selectAll()
      .where("id", "=", granted.reservationId)
      .executeTakeFirstOrThrow();
    expect(reservation).toMatchObject({ settled_at: NOW + 20, actual_usd: 0.75, amount_usd: 2 });
    expect(await spentUsd(ctx.store.db, { routineId: 1, from: NOW, to: NOW + 1000 })).toBe(0.75);
    // 0.75 spent and nothing held: 2.25 fits again.
    expect(await reserve(ctx.store, { amountUsd: 2.25, caps })).toMatchObject({ ok: true, remainingUsd: 0 });
    // A retried settle writes nothing.
    expect(
      await settleBudget(ctx.store, { reservationId: granted.reservationId, now: NOW + 30, ledger: rows }),
    ).toBe("duplicate");
    expect((await counts()).ledger).toBe(2);
  });

  it("rolls the settlement back when its ledger rows cannot be written", async () => {
    const granted = await reserve(ctx.store, { amountUsd: 1, caps: [] });
    if (!granted.ok) throw new Error("expected a reservation");
    const broken = entry({ at: NOW, costUsd: 1, harness: null as unknown as string });
    await expect(
      settleBudget(ctx.store, {
        reservationId: granted.reservationId,
        actualUsd: 1,
        now: NOW,
        ledger: [broken],
      }),
    ).rejects.toThrow();
    const reservation = await ctx.store.db
      .selectFrom("budget_reservations")
      .select(["settled_at", "actual_usd"])
      .executeTakeFirstOrThrow();
    expect(reservation).toEqual({ settled_at: null, actual_usd: null });
    expect((await counts()).ledger).toBe(0);
  });

  it("releases reservations whose attempt is no longer running, and still takes a late settle", async () => {
    const routine = await insertRoutine(ctx.store.db, {
      name: "alpha",
      source: null,
      spec: shellSpec("alpha"),
      specHash: "hash",
      state: "active",
      pausedReason: null,
      nextDueAt: null,
      now: NOW,
    });
    const run = async (dueAt: number, status: "running" | "succeeded", attempt: number) => {
      const id = (await insertRun(ctx.store.db, {
        routineId: routine.id,
        dueAt,
        trigger: "schedule",
        status,
        maxAttempts: 3,
        now: NOW,
      }))!;
      await ctx.store.db.updateTable("runs").set({ attempt }).where("id", "=", id).execute();
      return id;
    };
    const reserveFor = async (runId: number, attempt: number, now: number) => {
      const result = await reserveBudget(ctx.store, {
        runId,
        attempt,
        routineId: routine.id,
        amountUsd: 1,
        caps: [],
        now,
      });
      if (!result.ok) throw new Error("expected a reservation");
      return result.reservationId;
    };
    const alive = await reserveFor(await run(NOW - 3, "running", 1), 1, NOW - 60_000);
    const finished = await reserveFor(await run(NOW - 2, "succeeded", 1), 1, NOW - 60_000);
    const superseded = await reserveFor(await run(NOW - 1, "running", 2), 1, NOW - 60_000);
    const orphan = await reserveFor(999_999, 1, NOW - 60_000);
    const recent = await reserveFor(await run(NOW, "succeeded", 1), 1, NOW);

    const released = await releaseStaleReservations(ctx.store, { createdBefore: NOW - 1000, now: NOW });
    expect(released).toEqual([finished, superseded, orphan].sort((a, b) => a - b));
    expect(await releaseStaleReservations(ctx.store, { createdBefore: NOW - 1000, now: NOW })).toEqual([]);
    const open = await ctx.store.db
      .selectFrom("budget_reservations")
      .select("id")
      .where("settled_at", "is", null)
      .orderBy("id")
      .execute();
    expect(open.map((row) => row.id)).toEqual([alive, recent]);

    // The presumed-dead worker finishes after all: its spend reaches the ledger.
    expect(
      await settleBudget(ctx.store, {
        reservationId: finished,
        now: NOW + 5,
        ledger: [entry({ routineId: routine.id, at: NOW + 5, costUsd: 0.4 })],
      }),
    ).toBe("late");
    expect(await spentUsd(ctx.store.db, { from: NOW, to: NOW + 10 })).toBe(0.4);
  });
});
