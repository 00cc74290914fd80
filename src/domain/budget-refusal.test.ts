import { describe, expect, it } from "vitest";
import { capSetting, reservationRefusal, routingRefusal } from "./budget-refusal.js";

const NOW = Date.parse("2026-12-04T13:00:00Z");

describe("capSetting", () => {
  it.each([
    ["run", 0.01, { perRun: 0.01 }, { perRun: 0.5 }, "budget.perRun"],
    ["run", 0.5, { perRun: 1 }, { perRun: 0.5 }, "budgets.perRun"],
    ["run", 0.5, undefined, undefined, "budget.perRun"],
    ["routine-day", 0.05, {}, {}, "budget.perDay"],
    ["routine-month", 1, {}, {}, "budget.perMonth"],
    ["global-day", 1, {}, {}, "budgets.daily"],
    ["global-month", 1, {}, {}, "budgets.monthly"],
  ] as const)("%s of $%s → %s", (scope, limit, routine, global, setting) => {
    expect(capSetting(scope, limit, routine, global)).toBe(setting);
  });
});

describe("reservationRefusal", () => {
  it("states the numbers with four significant figures and the setting to raise", () => {
    expect(
      reservationRefusal({
        scope: "routine-day",
        limitUsd: 0.05,
        spentUsd: 0.031234,
        heldUsd: 0.0125,
        estimateUsd: 0.0184,
        basis: "median of 3 recent runs",
        routine: "nightly",
        routineBudget: { perDay: 0.05 },
        globalBudgets: undefined,
        now: NOW,
      }),
    ).toEqual({
      message:
        "not started: the routine's daily budget (budget.perDay) of $0.05 has $0.03123 spent and $0.0125 held by running runs; this run needs ~$0.0184 (median of 3 recent runs)",
      hint: "Raise `budget.perDay` of nightly to at least $0.06213, wait for it to reset at 2026-12-05T00:00:00.000Z, or give the routine a cheaper `tier`; `loopd costs --by routine` shows where it went.",
    });
  });

  it("points a global cap at loopd.yaml", () => {
    const { message, hint } = reservationRefusal({
      scope: "global-month",
      limitUsd: 20,
      spentUsd: 19.996,
      heldUsd: 0,
      estimateUsd: 0.25,
      basis: "default for a run without history",
      routine: "nightly",
      routineBudget: undefined,
      globalBudgets: { monthly: 20 },
      now: NOW,
    });
    expect(message).toContain("the global monthly budget (budgets.monthly) of $20.00 has $20.00 spent");
    expect(hint).toMatch(
      /^Raise `budgets.monthly` in loopd.yaml \(it counts every routine\) to at least \$20.25, wait for it to reset at 2027-01-01/,
    );
  });
});

describe("routingRefusal", () => {
  it("names the cap that left no tier room, or the tiers when there is none", () => {
    expect(
      routingRefusal("x", { scope: "routine-day", limitUsd: 1 }, "nightly", { perDay: 1 }, undefined),
    ).toEqual({
      message: "not started: x",
      hint: "Raise `budget.perDay` of nightly, or declare a cheaper tier under `models` and route nightly to it.",
    });
    expect(routingRefusal("x", null, "nightly", undefined, undefined).hint).toContain("cheaper tier");
  });
});
