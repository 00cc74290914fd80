import { describe, expect, it } from "vitest";
import {
  applicableCaps,
  type CapScope,
  capWindow,
  isRoutineScope,
  utcDay,
  utcMonthWindow,
  withinCap,
} from "./budget.js";

const at = (iso: string) => Date.parse(iso);

describe("applicableCaps", () => {
  it("keeps only the tighter per-run limit and one cap per other setting", () => {
    expect(
      applicableCaps({ perRun: 2, perDay: 10, perMonth: 100 }, { perRun: 1.5, daily: 50, monthly: 500 }),
    ).toEqual([
      { scope: "run", limitUsd: 1.5 },
      { scope: "routine-day", limitUsd: 10 },
      { scope: "routine-month", limitUsd: 100 },
      { scope: "global-day", limitUsd: 50 },
      { scope: "global-month", limitUsd: 500 },
    ]);
  });

  it("returns no caps when nothing is configured", () => {
    expect(applicableCaps(undefined, undefined)).toEqual([]);
    expect(applicableCaps({}, {})).toEqual([]);
  });

  it("takes a per-run limit from whichever side sets it", () => {
    expect(applicableCaps({ perRun: 3 }, undefined)).toEqual([{ scope: "run", limitUsd: 3 }]);
    expect(applicableCaps(undefined, { perRun: 4 })).toEqual([{ scope: "run", limitUsd: 4 }]);
  });
});

describe("capWindow", () => {
  it("gives the per-run cap no window", () => {
    expect(capWindow("run", at("2026-11-28T12:00:00Z"))).toBeNull();
  });

  it("bounds day caps by UTC midnight, whatever the hour", () => {
    const day = { from: at("2026-11-28T00:00:00Z"), to: at("2026-11-29T00:00:00Z") };
    expect(capWindow("routine-day", at("2026-11-28T00:00:00Z"))).toEqual(day);
    expect(capWindow("global-day", at("2026-11-28T23:59:59.999Z"))).toEqual(day);
  });

  it("bounds month caps by the first of the UTC month, across year ends and leap days", () => {
    expect(capWindow("routine-month", at("2026-12-31T23:59:59.999Z"))).toEqual({
      from: at("2026-12-01T00:00:00Z"),
      to: at("2027-01-01T00:00:00Z"),
    });
    expect(utcMonthWindow(at("2028-02-29T12:00:00Z"))).toEqual({
      from: at("2028-02-01T00:00:00Z"),
      to: at("2028-03-01T00:00:00Z"),
    });
    expect(capWindow("global-month", at("2027-01-01T00:00:00Z"))?.from).toBe(at("2027-01-01T00:00:00Z"));
  });
});

describe("budget helpers", () => {
  it("names the UTC day of an instant, not the local one", () => {
    expect(utcDay(at("2026-11-28T23:30:00-05:00"))).toBe("2026-11-29");
    expect(utcDay(at("2026-11-28T00:00:00Z"))).toBe("2026-11-28");
  });

  it("tells routine caps from global ones", () => {
    const scopes: CapScope[] = ["run", "routine-day", "routine-month", "global-day", "global-month"];
    expect(scopes.map(isRoutineScope)).toEqual([false, true, true, false, false]);
  });

  it("forgives float rounding at the limit but nothing more", () => {
    expect(withinCap(0.1 + 0.2, 0.3)).toBe(true);
    expect(withinCap(0.30001, 0.3)).toBe(false);
  });
});
