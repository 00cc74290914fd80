import { describe, expect, it } from "vitest";
import {
  describeTrigger,
  dueAfter,
  dueOnResume,
  firstDueAt,
  isWithinUntil,
  type TriggerSpec,
} from "./trigger.js";

const t = (iso: string) => Date.parse(iso);
const every30m: TriggerSpec = { kind: "every", every: "30m", everyMs: 1_800_000 };
const weekdays9: TriggerSpec = { kind: "cron", cron: "0 9 * * 1-5", tz: "Europe/Berlin" };

describe("firstDueAt / dueAfter", () => {
  it("anchors `every` on the previous slot so it does not drift", () => {
    const first = firstDueAt(every30m, t("2026-11-28T10:00:07Z"))!;
    expect(first).toBe(t("2026-11-28T10:30:07Z"));
    expect(dueAfter(every30m, first)).toBe(t("2026-11-28T11:00:07Z"));
  });

  it("evaluates cron in the routine's zone", () => {
    // Friday 2026-11-27 10:00 Berlin → next is Monday 09:00 Berlin (08:00Z in winter).
    expect(firstDueAt(weekdays9, t("2026-11-27T09:00:00Z"))).toBe(t("2026-11-30T08:00:00Z"));
    expect(dueAfter(weekdays9, t("2026-11-30T08:00:00Z"))).toBe(t("2026-12-01T08:00:00Z"));
  });

  it("fires a one-shot once, even when it is already past", () => {
    const at: TriggerSpec = { kind: "at", at: "2026-11-01T09:00:00.000Z", tz: "UTC" };
    expect(firstDueAt(at, t("2026-11-28T00:00:00Z"))).toBe(t("2026-11-01T09:00:00Z"));
    expect(dueAfter(at, t("2026-11-01T09:00:00Z"))).toBeNull();
  });

  it("never schedules a manual routine", () => {
    expect(firstDueAt({ kind: "manual" }, 0)).toBeNull();
  });
});

describe("dueOnResume", () => {
  it("skips the slots inside the pause and keeps the `every` grid", () => {
    const due = dueOnResume(
      every30m,
      { previousDueMs: t("2026-11-28T10:00:00Z"), scheduledRuns: 3 },
      t("2026-11-28T12:10:00Z"),
    );
    expect(due).toBe(t("2026-11-28T12:30:00Z"));
  });

  it("still owes a one-shot that never ran", () => {
    const at: TriggerSpec = { kind: "at", at: "2026-11-01T09:00:00.000Z", tz: "UTC" };
    expect(dueOnResume(at, { previousDueMs: null, scheduledRuns: 0 }, t("2026-11-28T00:00:00Z"))).toBe(
      t("2026-11-01T09:00:00Z"),
    );
    expect(dueOnResume(at, { previousDueMs: null, scheduledRuns: 1 }, t("2026-11-28T00:00:00Z"))).toBeNull();
  });
});

describe("isWithinUntil", () => {
  it("stops after the deadline and after the run count", () => {
    expect(isWithinUntil({ at: "2026-12-01T00:00:00Z" }, t("2026-11-30T00:00:00Z"), 0)).toBe(true);
    expect(isWithinUntil({ at: "2026-12-01T00:00:00Z" }, t("2026-12-02T00:00:00Z"), 0)).toBe(false);
    expect(isWithinUntil({ runs: 3 }, 0, 2)).toBe(true);
    expect(isWithinUntil({ runs: 3 }, 0, 3)).toBe(false);
  });
});

describe("describeTrigger", () => {
  it("says the trigger in words", () => {
    expect(describeTrigger(every30m)).toBe("every 30 minutes");
    expect(describeTrigger({ kind: "every", every: "1h", everyMs: 3_600_000, jitterMs: 60_000 })).toBe(
      "every hour ±1 minute",
    );
    expect(describeTrigger(weekdays9)).toBe("at 09:00, Monday through Friday (Europe/Berlin)");
    expect(
      describeTrigger({ kind: "every", every: "5m", everyMs: 300_000, backoff: "2h", backoffMs: 7_200_000 }),
    ).toBe("every 5 minutes, backing off to 2 hours");
    expect(describeTrigger({ kind: "at", at: "2026-12-09T08:00:00.000Z", tz: "Europe/Berlin" })).toBe(
      "once at 2026-12-09 09:00 (Europe/Berlin)",
    );
  });
});

describe("describeTrigger: one style (issue 16)", () => {
  const every = (ms: number): TriggerSpec => ({ kind: "every", every: "", everyMs: ms });
  const cron = (expression: string, tz = "UTC"): TriggerSpec => ({ kind: "cron", cron: expression, tz });
  // Lower case, whole words, 24-hour times; the zone only when it is not the viewer's (UTC here).
  it.each([
    [every(30_000), "every 30 seconds"],
    [every(60_000), "every minute"],
    [every(90_000), "every 90 seconds"],
    [every(1_800_000), "every 30 minutes"],
    [every(3_600_000), "every hour"],
    [every(7_200_000), "every 2 hours"],
    [every(86_400_000), "every day"],
    [
      { kind: "every", every: "1h", everyMs: 3_600_000, jitterMs: 30_000 } as TriggerSpec,
      "every hour ±30 seconds",
    ],
    [cron("* * * * *"), "every minute"],
    [cron("*/5 * * * *"), "every 5 minutes"],
    [cron("0 3 * * *"), "at 03:00"],
    [cron("30 17 * * *"), "at 17:30"],
    [cron("0 9 * * 1-5", "Europe/Berlin"), "at 09:00, Monday through Friday (Europe/Berlin)"],
    [{ kind: "at", at: "2026-12-09T08:00:00.000Z", tz: "UTC" } as TriggerSpec, "once at 2026-12-09 08:00"],
    [
      { kind: "at", at: "2026-12-09T08:00:00.000Z", tz: "Asia/Tokyo" } as TriggerSpec,
      "once at 2026-12-09 17:00 (Asia/Tokyo)",
    ],
    [{ kind: "manual" } as TriggerSpec, "manual"],
  ])("%o → %s", (trigger, words) => {
    expect(describeTrigger(trigger, { viewerTimeZone: "UTC" })).toBe(words);
  });
});

describe("by", () => {
  /** Deadline 9 December 2026, 09:00 in Berlin; evaluated every 2 h. */
  const deadline = "2026-12-09T08:00:00.000Z";
  const byLaunch: TriggerSpec = {
    kind: "by",
    deadline,
    every: "2h",
    everyMs: 7_200_000,
    tz: "Europe/Berlin",
  };

  it("evaluates a new watch at once", () => {
    expect(firstDueAt(byLaunch, t("2026-11-29T10:00:07Z"))).toBe(t("2026-11-29T10:00:07Z"));
  });

  it("still owes one evaluation, at the deadline, when the deadline is already past", () => {
    expect(firstDueAt(byLaunch, t("2026-12-20T00:00:00Z"))).toBe(t(deadline));
  });

  it("walks the grid anchored on the first evaluation", () => {
    const first = firstDueAt(byLaunch, t("2026-12-08T10:30:00Z"))!;
    expect(dueAfter(byLaunch, first)).toBe(t("2026-12-08T12:30:00Z"));
    expect(dueAfter(byLaunch, t("2026-12-08T12:30:00Z"))).toBe(t("2026-12-08T14:30:00Z"));
  });

  it("evaluates a last time exactly at the deadline when the grid misses it", () => {
    expect(dueAfter(byLaunch, t("2026-12-09T06:30:00Z"))).toBe(t(deadline));
    expect(dueAfter(byLaunch, t("2026-12-09T07:59:59.999Z"))).toBe(t(deadline));
  });

  it("lands on the deadline once when the grid hits it", () => {
    expect(dueAfter(byLaunch, t("2026-12-09T06:00:00Z"))).toBe(t(deadline));
    expect(dueAfter(byLaunch, t(deadline))).toBeNull();
  });

  it("has nothing after the deadline", () => {
    expect(dueAfter(byLaunch, t(deadline))).toBeNull();
    expect(dueAfter(byLaunch, t("2026-12-10T00:00:00Z"))).toBeNull();
  });

  it("keeps the grid on resume and skips the evaluations inside the pause", () => {
    const state = { previousDueMs: t("2026-12-08T10:30:00Z"), scheduledRuns: 4 };
    expect(dueOnResume(byLaunch, state, t("2026-12-08T13:00:00Z"))).toBe(t("2026-12-08T14:30:00Z"));
  });

  it("keeps a due time still ahead on resume", () => {
    const state = { previousDueMs: t("2026-12-08T14:30:00Z"), scheduledRuns: 4 };
    expect(dueOnResume(byLaunch, state, t("2026-12-08T13:00:00Z"))).toBe(t("2026-12-08T14:30:00Z"));
  });

  it("still owes the deadline evaluation when the pause ran past it", () => {
    const state = { previousDueMs: t("2026-12-08T10:30:00Z"), scheduledRuns: 4 };
    expect(dueOnResume(byLaunch, state, t("2026-12-12T00:00:00Z"))).toBe(t(deadline));
    expect(dueOnResume(byLaunch, state, t("2026-12-09T07:00:00Z"))).toBe(t(deadline));
  });

  it("starts a never-scheduled watch afresh on resume, and leaves a closed one closed", () => {
    const now = t("2026-12-01T00:00:00Z");
    expect(dueOnResume(byLaunch, { previousDueMs: null, scheduledRuns: 0 }, now)).toBe(now);
    expect(dueOnResume(byLaunch, { previousDueMs: null, scheduledRuns: 0 }, t("2026-12-12T00:00:00Z"))).toBe(
      t(deadline),
    );
    expect(dueOnResume(byLaunch, { previousDueMs: null, scheduledRuns: 3 }, now)).toBeNull();
  });

  it("says the cadence and the deadline in the watch's zone", () => {
    expect(describeTrigger(byLaunch)).toBe("every 2 hours until 2026-12-09 09:00 (Europe/Berlin)");
    expect(describeTrigger({ ...byLaunch, every: "30m", everyMs: 1_800_000, tz: "America/New_York" })).toBe(
      "every 30 minutes until 2026-12-09 03:00 (America/New_York)",
    );
  });
});
