import { describe, expect, it } from "vitest";
import { DEFAULT_SINCE, parseSince } from "./since.js";

describe("parseSince", () => {
  const now = Date.UTC(2026, 11, 4, 12, 0);

  it("is the instant the window starts at", () => {
    expect(parseSince("24h", now)).toEqual({ ok: true, since: now - 24 * 3_600_000 });
    expect(parseSince(DEFAULT_SINCE, now)).toEqual({ ok: true, since: now - 7 * 86_400_000 });
  });

  it("says why a window is not a duration", () => {
    expect(parseSince("soon", now)).toEqual({ ok: false, reason: expect.stringContaining("not a duration") });
    expect(parseSince("7", now)).toMatchObject({ ok: false });
    expect(parseSince("-1d", now)).toEqual({ ok: false, reason: expect.stringContaining("negative") });
  });
});
