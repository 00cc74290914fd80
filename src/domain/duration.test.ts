import { describe, expect, it } from "vitest";
import { durationBoundsError, formatDuration, MAX_DURATION_MS, parseDuration } from "./duration.js";

describe("parseDuration", () => {
  it.each([
    ["10s", 10_000],
    ["30m", 1_800_000],
    ["2h", 7_200_000],
    ["1d", 86_400_000],
    ["1.5h", 5_400_000],
    [" 45 min ", 2_700_000],
  ])("reads %s as %d ms", (text, expected) => {
    expect(parseDuration(text)).toEqual({ ok: true, ms: expected });
  });

  it("rejects a negative duration", () => {
    expect(parseDuration("-5m")).toMatchObject({ ok: false, reason: expect.stringContaining("negative") });
  });

  it("requires a unit, so a bare number is not silently milliseconds", () => {
    expect(parseDuration("30")).toMatchObject({ ok: false, reason: expect.stringContaining("unit") });
  });

  it("rejects zero and unknown units", () => {
    expect(parseDuration("0s").ok).toBe(false);
    expect(parseDuration("3 fortnights").ok).toBe(false);
  });
});

describe("formatDuration", () => {
  it("uses at most two units", () => {
    expect(formatDuration(90_000)).toBe("1m30s");
    expect(formatDuration(93_784_000)).toBe("1d2h");
    expect(formatDuration(450)).toBe("450ms");
  });
});

describe("duration bounds", () => {
  it("refuses what a Date or a BIGINT could not hold after `now +`", () => {
    expect(parseDuration("36500d")).toEqual({ ok: true, ms: MAX_DURATION_MS });
    expect(parseDuration("99999999999999999999d")).toMatchObject({
      ok: false,
      reason: '"99999999999999999999d" is longer than the 36500d limit',
    });
  });

  it("names the bound a field's value broke", () => {
    const bounds = { min: 1000, max: 7 * 86_400_000 };
    expect(durationBoundsError("1ms", 1, bounds)).toBe('"1ms" is shorter than the 1s minimum');
    expect(durationBoundsError("30d", 30 * 86_400_000, bounds)).toBe('"30d" is longer than the 7d maximum');
    expect(durationBoundsError("7d", 7 * 86_400_000, bounds)).toBeNull();
  });
});
