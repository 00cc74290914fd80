import { describe, expect, it } from "vitest";
import { catchUpOverlapModel } from "../../test/helpers/catch-up-overlap-model.js";
import { decideOverlap, isInLine, type OverlapRun, onTimeMayQueue } from "./overlap.js";

const onTime = (id: number): OverlapRun => ({ id, inLine: false });
const inLine = (id: number): OverlapRun => ({ id, inLine: true });
const POLICIES = ["skip", "queue", "cancel-previous", "allow"] as const;

describe("decideOverlap", () => {
  it("starts anything when the routine is idle, and everything under allow", () => {
    for (const policy of POLICIES) {
      for (const candidate of [onTime(9), inLine(9)]) {
        expect(decideOverlap({ policy, candidate, running: [], lineAhead: null })).toEqual({
          action: "start",
          cancel: [],
        });
      }
    }
    expect(
      decideOverlap({ policy: "allow", candidate: onTime(9), running: [inLine(1)], lineAhead: 2 }),
    ).toEqual({ action: "start", cancel: [] });
  });

  it.each([
    // policy, running, lineAhead → decision for an on-time run #9
    ["skip", [onTime(1)], null, { action: "skip", reason: "overlap skip: run 1 still running" }],
    ["skip", [inLine(1)], null, { action: "skip", reason: "overlap skip: run 1 still running" }],
    ["skip", [], 3, { action: "skip", reason: "overlap skip: run 3 (a catch-up run or retry) goes first" }],
    ["queue", [onTime(1)], null, { action: "wait", behind: 1, reason: "overlap queue: waiting for run 1" }],
    ["queue", [], 3, { action: "wait", behind: 3, reason: "overlap queue: waiting for run 3" }],
    ["cancel-previous", [onTime(1), onTime(2)], null, { action: "start", cancel: [1, 2] }],
    [
      "cancel-previous",
      [inLine(1)],
      null,
      {
        action: "wait",
        behind: 1,
        reason: "in line: waiting for run 1 (cancel-previous does not cancel a catch-up run or a retry)",
      },
    ],
    [
      "cancel-previous",
      [onTime(1)],
      3,
      {
        action: "wait",
        behind: 3,
        reason: "in line: waiting for run 3 (cancel-previous does not cancel a catch-up run or a retry)",
      },
    ],
  ] as const)(
    "an on-time run under %s, running %j, line ahead %s",
    (policy, running, lineAhead, expected) => {
      expect(decideOverlap({ policy, candidate: onTime(9), running, lineAhead })).toEqual(expected);
    },
  );

  it("never skips or cancels a run in line: it waits for the one going, or the older one in line", () => {
    for (const policy of ["skip", "queue", "cancel-previous"] as const) {
      expect(decideOverlap({ policy, candidate: inLine(9), running: [onTime(1)], lineAhead: null })).toEqual({
        action: "wait",
        behind: 1,
        reason: "in line: waiting for run 1 (catch-up runs and retries start one at a time)",
      });
      expect(decideOverlap({ policy, candidate: inLine(9), running: [], lineAhead: 4 })).toMatchObject({
        action: "wait",
        behind: 4,
      });
    }
  });

  it("counts retries, recovered runs and catch-up runs as in line", () => {
    expect(isInLine({ startedBefore: false, trigger: "schedule" })).toBe(false);
    expect(isInLine({ startedBefore: false, trigger: "manual" })).toBe(false);
    expect(isInLine({ startedBefore: false, trigger: "catch-up" })).toBe(true);
    expect(isInLine({ startedBefore: true, trigger: "schedule" })).toBe(true); // retry, recovered, released
  });

  it("lets queue keep one on-time run waiting, and nothing else limits", () => {
    expect(onTimeMayQueue("queue", false)).toBe(true);
    expect(onTimeMayQueue("queue", true)).toBe(false);
    for (const policy of ["skip", "cancel-previous", "allow"] as const)
      expect(onTimeMayQueue(policy, true)).toBe(true);
  });
});

describe("catch-up × overlap", () => {
  const catchUps = [8, 10, 12, 14, 16, 18, 20, 22, 24, 26];
  it.each([
    // catchUp, overlap, executed (due seconds after T0, in order), skipped at claim
    ["latest", "skip", [28], []],
    ["latest", "queue", [28], []],
    ["latest", "cancel-previous", [28], []],
    ["latest", "allow", [28], []],
    ["none", "skip", [28], []],
    ["none", "queue", [28], []],
    ["none", "cancel-previous", [28], []],
    ["none", "allow", [28], []],
    ["all", "skip", catchUps, [28]],
    ["all", "queue", [...catchUps, 28], []],
    ["all", "cancel-previous", [...catchUps, 28], []],
    ["all", "allow", [...catchUps, 28], []],
  ] as const)("catchUp %s with overlap %s", (catchUp, overlap, executed, skipped) => {
    const result = catchUpOverlapModel(catchUp, overlap);
    if (overlap === "allow") expect([...result.executed].sort((a, b) => a - b)).toEqual(executed);
    else expect(result.executed).toEqual(executed); // one at a time, oldest first
    expect(result.skipped).toEqual(skipped);
  });
});
