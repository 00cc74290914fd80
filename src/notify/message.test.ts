/** What every human-facing channel says about an event. */
import { describe, expect, it } from "vitest";
import type { NotificationEvent } from "./event.js";
import { eventFromOutboxRow } from "./event.js";
import { describeEvent } from "./message.js";

function event(overrides: Partial<NotificationEvent>): NotificationEvent {
  return {
    id: "evt_1",
    type: "run.failed",
    at: "2026-03-01T09:00:00.000Z",
    routine: "babysit-prs",
    runId: 42,
    payload: {},
    ...overrides,
  };
}

describe("describeEvent", () => {
  it("says which routine failed, why, and what it cost", () => {
    const description = describeEvent(
      event({
        payload: {
          summary: "Rebased 2 PRs; #17 has conflicts.",
          error: { code: "LOOPD_VERIFY_FAILED", message: "npm test failed" },
          costUsd: 0.4231,
          durationMs: 192_000,
          attempt: 2,
          url: "http://127.0.0.1:7077/runs/42",
        },
      }),
    );
    expect(description).toMatchObject({ title: "babysit-prs failed", severity: "error", emoji: "❌" });
    expect(description.lines).toEqual([
      "Rebased 2 PRs; #17 has conflicts.",
      "Error: LOOPD_VERIFY_FAILED: npm test failed",
      "Run: #42, attempt 2",
      "Duration: 3m12s",
      "Cost: $0.4231",
      "Link: http://127.0.0.1:7077/runs/42",
    ]);
  });

  it("names each known outcome in words", () => {
    const outcomes = {
      "run.succeeded": ["succeeded", "success"],
      "run.timed_out": ["timed out", "error"],
      "run.started": ["started", "info"],
      "run.skipped": ["skipped", "info"],
      "routine.paused": ["paused", "warning"],
      "budget.exceeded": ["over budget", "warning"],
    };
    for (const [type, [outcome, severity]] of Object.entries(outcomes)) {
      expect(describeEvent(event({ type }))).toMatchObject({ title: `babysit-prs ${outcome}`, severity });
    }
  });

  it("explains a pause after repeated auth failures", () => {
    const description = describeEvent(
      event({
        type: "routine.paused",
        payload: {
          reason: "auth",
          failures: 3,
          error: { code: "LOOPD_AUTH_EXPIRED", message: "log in again" },
        },
      }),
    );
    expect(description.lines).toEqual([
      "Error: LOOPD_AUTH_EXPIRED: log in again",
      "Reason: auth (3 failures in a row)",
      "Run: #42",
    ]);
  });

  it("carries the error's specific hint, the fix, into every message", () => {
    const description = describeEvent(
      event({
        payload: {
          error: {
            code: "LOOPD_RUN_TIMEOUT",
            message: "stopped after the 1s timeout",
            hint: "Raise `timeout` in loopd.yaml or make the task smaller.",
          },
        },
      }),
    );
    expect(description.lines).toEqual([
      "Error: LOOPD_RUN_TIMEOUT: stopped after the 1s timeout",
      "Hint: Raise `timeout` in loopd.yaml or make the task smaller.",
      "Run: #42",
    ]);
  });

  it("explains a pause by the failure circuit breaker, with the fix", () => {
    const description = describeEvent(
      event({
        type: "routine.paused",
        payload: {
          reason: "failing",
          code: "LOOPD_ROUTINE_FAILING",
          failures: 5,
          hint: "Read the last run's error with `loopd show babysit-prs`, fix the cause, then `loopd resume babysit-prs`.",
          error: { code: "LOOPD_RUN_FAILED", message: "command exited with 1", hint: "Read the run's log." },
        },
      }),
    );
    expect(description.lines).toEqual([
      "Error: LOOPD_RUN_FAILED: command exited with 1",
      "Reason: failing (5 failures in a row)",
      "Hint: Read the last run's error with `loopd show babysit-prs`, fix the cause, then `loopd resume babysit-prs`.",
      "Run: #42",
    ]);
  });

  it("tells a success nobody verified from a checked one", () => {
    const description = describeEvent(
      event({ type: "run.succeeded", payload: { summary: "done: everything worked", unverified: true } }),
    );
    expect(description).toMatchObject({
      title: "babysit-prs succeeded, unverified",
      severity: "warning",
      emoji: "⚠️",
    });
    expect(description.lines).toContain(
      "Unverified: its last tool call failed and no `verify` checked the work",
    );
    expect(describeEvent(event({ type: "run.succeeded", payload: { unverified: false } })).title).toBe(
      "babysit-prs succeeded",
    );
  });

  it("names a watch's run by its verdict, the word every face uses, not 'succeeded'", () => {
    const unmet = describeEvent(event({ type: "run.succeeded", payload: { verdict: "unsatisfied" } }));
    expect(unmet).toMatchObject({ title: "babysit-prs unsatisfied", severity: "warning" });
    expect(describeEvent(event({ type: "run.succeeded", payload: { verdict: "satisfied" } }))).toMatchObject({
      title: "babysit-prs satisfied",
      severity: "success",
    });
  });

  it("says a routine missed its schedule", () => {
    const description = describeEvent(
      event({
        type: "routine.misfired",
        runId: null,
        payload: { reason: "due 2026-03-01T08:00:00.000Z, no run since", hint: "Start `loopd serve`." },
      }),
    );
    expect(description).toMatchObject({ title: "babysit-prs missed its schedule", severity: "error" });
    expect(description.lines).toEqual([
      "Reason: due 2026-03-01T08:00:00.000Z, no run since",
      "Hint: Start `loopd serve`.",
    ]);
  });

  it("still reads sensibly for an event type it does not know", () => {
    const description = describeEvent(event({ type: "deadline.missed", routine: null, runId: null }));
    expect(description).toMatchObject({ title: "loopd deadline missed", severity: "error", lines: [] });
  });

  it("shortens a long summary", () => {
    const description = describeEvent(event({ payload: { summary: "word ".repeat(1000) } }));
    expect(description.summary!.length).toBe(1000);
    expect(description.summary!.endsWith("…")).toBe(true);
  });

  it("shows fractions of a cent for cheap runs", () => {
    expect(describeEvent(event({ payload: { costUsd: 0.0013 } })).lines).toContain("Cost: $0.0013");
    expect(describeEvent(event({ payload: { costUsd: 12.5 } })).lines).toContain("Cost: $12.50");
  });
});

describe("eventFromOutboxRow", () => {
  it("rebuilds the event from the outbox row, routine name from the payload", () => {
    const row = {
      id: "evt_9",
      type: "budget.exceeded",
      run_id: 7,
      created_at: Date.parse("2026-03-01T09:00:00.000Z"),
      payload: JSON.stringify({
        type: "budget.exceeded",
        at: "2026-03-01T09:00:01.000Z",
        routine: "nightly",
        runId: 7,
        reason: "perRun $1.00",
      }),
    };
    expect(eventFromOutboxRow(row)).toEqual({
      id: "evt_9",
      type: "budget.exceeded",
      at: "2026-03-01T09:00:01.000Z",
      routine: "nightly",
      runId: 7,
      payload: { routine: "nightly", runId: 7, reason: "perRun $1.00" },
    });
  });
});
