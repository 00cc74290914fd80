import { describe, expect, it } from "vitest";
import type { Verdict } from "./check.js";
import type { TriggerSpec } from "./trigger.js";
import { cadenceEveryMs, cadenceTrigger, decideCadence } from "./watch-cadence.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const backingOff: TriggerSpec = {
  kind: "every",
  every: "5m",
  everyMs: 5 * MINUTE,
  backoff: "2h",
  backoffMs: 2 * HOUR,
};
const fixed: TriggerSpec = { kind: "every", every: "5m", everyMs: 5 * MINUTE };
const DEADLINE = "2026-12-09T08:00:00Z";
const byDeadline: TriggerSpec = {
  kind: "by",
  deadline: DEADLINE,
  every: "5m",
  everyMs: 5 * MINUTE,
  tz: "UTC",
  backoff: "2h",
  backoffMs: 2 * HOUR,
};

describe("cadenceEveryMs: doubles per unchanged verdict, up to the backoff", () => {
  it.each([
    [0, 5],
    [1, 10],
    [2, 20],
    [3, 40],
    [4, 80],
    [5, 120],
    [6, 120],
    [10_000, 120],
  ])("%i unchanged in a row → every %i minutes", (unchanged, minutes) => {
    expect(cadenceEveryMs(backingOff, unchanged)).toBe(minutes * MINUTE);
  });

  it("keeps a written `every` with no backoff as it is", () => {
    expect(cadenceEveryMs(fixed, 7)).toBe(5 * MINUTE);
    expect(cadenceTrigger(fixed, 7)).toBe(fixed);
  });

  it("leaves triggers without an interval alone", () => {
    const cron: TriggerSpec = { kind: "cron", cron: "0 9 * * *", tz: "UTC" };
    expect(cadenceTrigger(cron, 3)).toBe(cron);
  });
});

describe("decideCadence", () => {
  const S = Date.parse("2026-12-01T10:00:00Z");
  /** The routine as the scheduler left it after stepping from S with `unchanged` verdicts. */
  const steppedFrom = (unchanged: number, trigger = backingOff) => ({
    trigger,
    unchanged,
    nextDueAt: S + cadenceEveryMs(trigger as { everyMs: number; backoffMs?: number }, unchanged),
    run: { trigger: "schedule", dueAt: S },
  });

  type Row = [string, { previous: Verdict | null; unchanged: number }, Verdict, number, number | undefined];
  const rows: Row[] = [
    ["the first verdict keeps every", { previous: null, unchanged: 0 }, "unsatisfied", 0, undefined],
    ["a repeat doubles it", { previous: "unsatisfied", unchanged: 0 }, "unsatisfied", 1, S + 10 * MINUTE],
    [
      "another repeat doubles again",
      { previous: "unsatisfied", unchanged: 1 },
      "unsatisfied",
      2,
      S + 20 * MINUTE,
    ],
    ["the cap is reached", { previous: "unsatisfied", unchanged: 4 }, "unsatisfied", 5, S + 2 * HOUR],
    ["at the cap it stays", { previous: "unsatisfied", unchanged: 5 }, "unsatisfied", 6, undefined],
    ["a change brings it back", { previous: "unsatisfied", unchanged: 5 }, "satisfied", 0, S + 5 * MINUTE],
    [
      "a repeated satisfied backs off too",
      { previous: "satisfied", unchanged: 0 },
      "satisfied",
      1,
      S + 10 * MINUTE,
    ],
  ];
  it.each(rows)("%s", (_name, state, verdict, unchanged, nextDueAt) => {
    const decision = decideCadence(
      { ...steppedFrom(state.unchanged), previousVerdict: state.previous },
      verdict,
    );
    expect(decision).toEqual(nextDueAt === undefined ? { unchanged } : { unchanged, nextDueAt });
  });

  it("counts a written every's verdicts but never moves its schedule", () => {
    const decision = decideCadence(
      { ...steppedFrom(2, fixed), previousVerdict: "unsatisfied" },
      "unsatisfied",
    );
    expect(decision).toEqual({ unchanged: 3 });
  });

  it("moves the schedule only from the evaluation it was stepped from", () => {
    const state = { ...steppedFrom(1), previousVerdict: "unsatisfied" as const };
    // A manual run, or a run whose step the routine has moved past (re-timed, a newer run queued).
    expect(decideCadence({ ...state, run: { trigger: "manual", dueAt: S } }, "unsatisfied")).toEqual({
      unchanged: 2,
    });
    expect(decideCadence({ ...state, nextDueAt: S + HOUR }, "satisfied")).toEqual({ unchanged: 0 });
    expect(decideCadence({ ...state, nextDueAt: null }, "unsatisfied")).toEqual({ unchanged: 2 });
    // A catch-up evaluation is a step like an on-time one.
    expect(decideCadence({ ...state, run: { trigger: "catch-up", dueAt: S } }, "unsatisfied")).toEqual({
      unchanged: 2,
      nextDueAt: S + 20 * MINUTE,
    });
  });

  it("never steps a `by` watch past its deadline", () => {
    const deadline = Date.parse(DEADLINE);
    const dueAt = deadline - 30 * MINUTE;
    const decision = decideCadence(
      {
        trigger: byDeadline,
        previousVerdict: "unsatisfied",
        unchanged: 2,
        nextDueAt: dueAt + 20 * MINUTE,
        run: { trigger: "schedule", dueAt },
      },
      "unsatisfied",
    );
    expect(decision).toEqual({ unchanged: 3, nextDueAt: deadline });
  });
});
