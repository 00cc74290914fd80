import { describe, expect, it } from "vitest";
import { isInstantSyntax, resolveInstant } from "./instant.js";

const berlin = { timeZone: "Europe/Berlin", dates: { launch: "2026-12-10" } };

describe("resolveInstant", () => {
  it("reads an instant with an offset as given", () => {
    expect(resolveInstant("2026-11-29T09:00:00Z", berlin)).toEqual({
      ok: true,
      epochMs: Date.parse("2026-11-29T09:00:00Z"),
    });
  });

  it("reads a local date-time in the routine's zone", () => {
    expect(resolveInstant("2026-11-29T09:00", berlin)).toEqual({
      ok: true,
      epochMs: Date.parse("2026-11-29T08:00:00Z"),
    });
  });

  it("reads a date as the start of that day in the zone", () => {
    expect(resolveInstant("2026-07-01", berlin)).toEqual({
      ok: true,
      epochMs: Date.parse("2026-06-30T22:00:00Z"),
    });
  });

  it("resolves a named date with an offset", () => {
    expect(resolveInstant("launch - 1d", berlin)).toEqual({
      ok: true,
      epochMs: Date.parse("2026-12-08T23:00:00Z"),
    });
    expect(resolveInstant("launch + 9h", berlin)).toEqual({
      ok: true,
      epochMs: Date.parse("2026-12-10T08:00:00Z"),
    });
  });

  it("moves a wall-clock time in a DST gap forward", () => {
    // 02:30 does not exist in Berlin on 2027-03-28; "compatible" means 03:30 CEST.
    expect(resolveInstant("2027-03-28T02:30", berlin)).toEqual({
      ok: true,
      epochMs: Date.parse("2027-03-28T01:30:00Z"),
    });
  });

  it("names the declared dates when a reference is unknown", () => {
    const result = resolveInstant("lunch", berlin);
    expect(result).toMatchObject({ ok: false, reason: expect.stringContaining("named dates are: launch") });
  });

  it("reads phrases like 'tomorrow 9am' in the routine's zone", () => {
    const now = Date.parse("2026-11-28T23:30:00Z"); // already the 29th in Berlin
    expect(resolveInstant("tomorrow 9am", { ...berlin, now })).toEqual({
      ok: true,
      epochMs: Date.parse("2026-11-30T08:00:00Z"),
    });
    expect(resolveInstant("friday 17:00", { timeZone: "America/New_York", now })).toEqual({
      ok: true,
      epochMs: Date.parse("2026-12-04T22:00:00Z"),
    });
    expect(isInstantSyntax("next tuesday")).toBe(true);
  });

  it("rejects impossible dates", () => {
    expect(resolveInstant("2026-13-01", berlin).ok).toBe(false);
    expect(isInstantSyntax("2026-02-30T10:00")).toBe(false);
    expect(isInstantSyntax("9am blah")).toBe(false);
  });
});
