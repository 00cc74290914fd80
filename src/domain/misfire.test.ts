import { describe, expect, it } from "vitest";
import { type MisfireInput, misfireNeedsNotice, misfireOf, misfireToleranceMs } from "./misfire.js";
import type { TriggerSpec } from "./trigger.js";

const MIN = 60_000;
const DUE = Date.parse("2026-12-01T10:00:00Z");
const every10m: TriggerSpec = { kind: "every", every: "10m", everyMs: 10 * MIN };
const every10s: TriggerSpec = { kind: "every", every: "10s", everyMs: 10_000 };
const hourly: TriggerSpec = { kind: "cron", cron: "0 * * * *", tz: "UTC" };
const at: TriggerSpec = { kind: "at", at: "2026-12-01T10:00:00.000Z", tz: "UTC" };
const by: TriggerSpec = {
  kind: "by",
  deadline: "2026-12-01T10:30:00.000Z",
  every: "1h",
  everyMs: 60 * MIN,
  tz: "UTC",
};

const active = (trigger: TriggerSpec, nextDueAt: number | null = DUE): MisfireInput => ({
  state: "active",
  nextDueAt,
  trigger,
});

describe("misfireOf: is the routine's due time more than two periods behind?", () => {
  const cases: Array<[string, MisfireInput, number, boolean]> = [
    ["a paused routine never misfires", { ...active(every10m), state: "paused" }, 5 * 60 * MIN, false],
    ["a routine with nothing due (done, manual) never misfires", active(every10m, null), 5 * 60 * MIN, false],
    ["not yet due", active(every10m), -MIN, false],
    ["one period late: the scheduler may just be busy", active(every10m), 10 * MIN, false],
    ["19 minutes late on every 10m", active(every10m), 19 * MIN, false],
    ["exactly two periods late is not more than two", active(every10m), 20 * MIN, false],
    ["21 minutes late on every 10m", active(every10m), 21 * MIN, true],
    ["every 10s, 4 minutes late: under the five-minute floor", active(every10s), 4 * MIN, false],
    ["every 10s, 6 minutes late", active(every10s), 6 * MIN, true],
    ["hourly cron, 1h59m late", active(hourly), 119 * MIN, false],
    ["hourly cron, 2h01m late", active(hourly), 121 * MIN, true],
    ["a one-shot, 4 minutes late", active(at), 4 * MIN, false],
    ["a one-shot, 6 minutes late", active(at), 6 * MIN, true],
    ["a `by` watch whose deadline is the next slot: the floor applies", active(by), 6 * MIN, true],
  ];
  it.each(cases)("%s", (_name, routine, lateBy, expected) => {
    const misfire = misfireOf(routine, DUE + lateBy);
    expect(misfire !== null).toBe(expected);
    if (misfire) expect(misfire).toEqual({ dueAt: DUE, lateByMs: lateBy });
  });

  it("tolerates two periods of the trigger, at least five minutes", () => {
    expect(misfireToleranceMs(every10m, DUE)).toBe(20 * MIN);
    expect(misfireToleranceMs(hourly, DUE)).toBe(120 * MIN);
    expect(misfireToleranceMs(every10s, DUE)).toBe(5 * MIN);
    expect(misfireToleranceMs(at, DUE)).toBe(5 * MIN);
  });
});

describe("misfireNeedsNotice: each misfire is notified once", () => {
  const misfire = { dueAt: DUE, lateByMs: 30 * MIN };
  const cases: Array<[string, typeof misfire | null, number | null, boolean]> = [
    ["no misfire, nothing to say", null, null, false],
    ["a misfire never notified", misfire, null, true],
    ["already notified after the missed due time: this misfire", misfire, DUE + 25 * MIN, false],
    ["notified before the missed due time: an earlier misfire", misfire, DUE - 60 * MIN, true],
  ];
  it.each(cases)("%s", (_name, current, notifiedAt, expected) => {
    expect(misfireNeedsNotice(current, notifiedAt)).toBe(expected);
  });
});
