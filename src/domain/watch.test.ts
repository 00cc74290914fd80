import { describe, expect, it } from "vitest";
import type { RoutineSpec } from "./routine-spec.js";
import type { TriggerSpec } from "./trigger.js";
import { decideWatch } from "./watch.js";

type WatchSpec = Pick<RoutineSpec, "trigger" | "untilSatisfied" | "onUnsatisfied">;

const t = (iso: string) => Date.parse(iso);
const DEADLINE = "2026-12-09T08:00:00.000Z";
const by: TriggerSpec = {
  kind: "by",
  deadline: DEADLINE,
  every: "2h",
  everyMs: 7_200_000,
  tz: "Europe/Berlin",
};
const at: TriggerSpec = { kind: "at", at: "2026-11-30T08:00:00.000Z", tz: "Europe/Berlin" };
const every: TriggerSpec = { kind: "every", every: "1h", everyMs: 3_600_000 };
const cron: TriggerSpec = { kind: "cron", cron: "0 9 * * *", tz: "Europe/Berlin" };
const manual: TriggerSpec = { kind: "manual" };

/** `toRoutineSpec` sets `untilSatisfied` for every `by` watch. */
const byWatch: WatchSpec = { trigger: by, untilSatisfied: true };
const SATISFIED = { type: "check.satisfied", kind: "satisfied" };
const UNSATISFIED = { type: "check.unsatisfied", kind: "unsatisfied" };
const MISSED = { type: "check.deadline_missed", kind: "deadline" };

describe("decideWatch: satisfied", () => {
  it("closes a `by` watch and an `until: { satisfied: true }` watch", () => {
    expect(decideWatch(byWatch, t("2026-12-01T00:00:00Z"), "satisfied")).toEqual({
      event: SATISFIED,
      closes: true,
      acts: false,
    });
    expect(decideWatch({ trigger: every, untilSatisfied: true }, 0, "satisfied")).toEqual({
      event: SATISFIED,
      closes: true,
      acts: false,
    });
  });

  it("closes a `by` watch even when the spec does not say untilSatisfied", () => {
    expect(decideWatch({ trigger: by }, t("2026-12-01T00:00:00Z"), "satisfied").closes).toBe(true);
  });

  it("closes a `by` watch satisfied exactly at or after its deadline", () => {
    expect(decideWatch(byWatch, t(DEADLINE), "satisfied")).toEqual({
      event: SATISFIED,
      closes: true,
      acts: false,
    });
    expect(decideWatch(byWatch, t(DEADLINE) + 60_000, "satisfied").acts).toBe(false);
  });

  it.each([
    ["at", at],
    ["every", every],
    ["cron", cron],
    ["manual", manual],
  ])("keeps a plain `%s` watch open: it reports, and looks again next time", (_, trigger) => {
    expect(decideWatch({ trigger }, 0, "satisfied")).toEqual({
      event: SATISFIED,
      closes: false,
      acts: false,
    });
  });

  it("announces a satisfied verdict even when `onUnsatisfied.notify` is false", () => {
    const quiet: WatchSpec = { trigger: every, untilSatisfied: true, onUnsatisfied: { notify: false } };
    expect(decideWatch(quiet, 0, "satisfied").event).toEqual(SATISFIED);
  });
});

describe("decideWatch: unsatisfied before and at a `by` deadline", () => {
  it("stays quiet and open while there is still time", () => {
    expect(decideWatch(byWatch, t("2026-11-30T08:00:00Z"), "unsatisfied")).toEqual({
      event: null,
      closes: false,
      acts: false,
    });
    expect(decideWatch(byWatch, t(DEADLINE) - 1, "unsatisfied")).toEqual({
      event: null,
      closes: false,
      acts: false,
    });
  });

  it("reports the missed deadline, closes and acts on the evaluation at the deadline", () => {
    expect(decideWatch(byWatch, t(DEADLINE), "unsatisfied")).toEqual({
      event: MISSED,
      closes: true,
      acts: true,
    });
  });

  it("treats an evaluation due after the deadline (a deadline already past) as the deadline's", () => {
    expect(decideWatch(byWatch, t(DEADLINE) + 3_600_000, "unsatisfied")).toEqual({
      event: MISSED,
      closes: true,
      acts: true,
    });
  });
});

describe("decideWatch: unsatisfied without a deadline", () => {
  it.each([
    ["at", at],
    ["every", every],
    ["cron", cron],
    ["manual", manual],
  ])("a `%s` watch reports it, stays open and acts", (_, trigger) => {
    expect(decideWatch({ trigger }, 0, "unsatisfied")).toEqual({
      event: UNSATISFIED,
      closes: false,
      acts: true,
    });
  });

  it("keeps an `until: { satisfied: true }` watch open while unsatisfied", () => {
    expect(decideWatch({ trigger: every, untilSatisfied: true }, 0, "unsatisfied")).toEqual({
      event: UNSATISFIED,
      closes: false,
      acts: true,
    });
  });
});

describe("decideWatch: onUnsatisfied.notify: false", () => {
  it("silences the unsatisfied notice but still starts `onUnsatisfied.run`", () => {
    const quiet: WatchSpec = { trigger: every, onUnsatisfied: { notify: false, run: "fix-it" } };
    expect(decideWatch(quiet, 0, "unsatisfied")).toEqual({ event: null, closes: false, acts: true });
  });

  it("silences the missed-deadline notice but still closes and acts", () => {
    const quiet: WatchSpec = { ...byWatch, onUnsatisfied: { notify: false, run: "fix-it" } };
    expect(decideWatch(quiet, t(DEADLINE), "unsatisfied")).toEqual({ event: null, closes: true, acts: true });
  });

  it("speaks when notify is true or left out", () => {
    const loud: WatchSpec = { trigger: at, onUnsatisfied: { notify: true } };
    expect(decideWatch(loud, 0, "unsatisfied").event).toEqual(UNSATISFIED);
    expect(decideWatch({ trigger: at }, 0, "unsatisfied").event).toEqual(UNSATISFIED);
  });
});
