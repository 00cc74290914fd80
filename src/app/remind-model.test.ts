/**
 * What the remind model fallback accepts as an answer: a plan valid under the parser's own
 * schema, or `{"error": "…"}`; anything else is "not understood", never a guess.
 */
import { describe, expect, it } from "vitest";
import { readPlan } from "./remind-model.js";

const PLAN = {
  when: { mode: "until-satisfied", every: "1d" },
  subject: "https://metrics.acme.dev/quarterly",
  check: { http: { url: "https://metrics.acme.dev/quarterly", contains: "on track" } },
  notifyOn: "unsatisfied",
};

describe("readPlan", () => {
  it("reads a valid plan", () => {
    expect(readPlan(JSON.stringify(PLAN))).toEqual({ ok: true, plan: PLAN });
  });

  it("reads a plan fenced as ```json, with whitespace around it", () => {
    const fenced = `\n\`\`\`json\n${JSON.stringify(PLAN, null, 2)}\n\`\`\`\n`;
    expect(readPlan(fenced)).toEqual({ ok: true, plan: PLAN });
    expect(readPlan(`\`\`\`\n${JSON.stringify(PLAN)}\n\`\`\``)).toEqual({ ok: true, plan: PLAN });
  });

  it("reads a plan with an agent check and a fix routine", () => {
    const plan = {
      when: { mode: "by", deadline: "2026-12-09T09:00:00+01:00", every: "2h" },
      subject: "NOTES.md",
      check: { agent: { question: "Is the release notes file complete?", subject: "NOTES.md" } },
      notifyOn: "unsatisfied",
      run: "write-notes",
    };
    expect(readPlan(JSON.stringify(plan))).toEqual({ ok: true, plan });
  });

  it("passes on the model's refusal as the reason", () => {
    expect(readPlan('{"error": "not a reminder"}')).toEqual({ ok: false, reason: "not a reminder" });
    expect(readPlan('```json\n{"error": "no condition to watch"}\n```')).toEqual({
      ok: false,
      reason: "no condition to watch",
    });
  });

  it("says where an invalid plan is wrong", () => {
    const noCheck = readPlan(JSON.stringify({ ...PLAN, check: {} }));
    expect(noCheck.ok).toBe(false);
    expect(!noCheck.ok && noCheck.reason).toMatch(
      /^the model's plan is invalid at check: a check needs one of/,
    );

    const badInstant = readPlan(JSON.stringify({ ...PLAN, when: { mode: "at", at: "tomorrow" } }));
    expect(!badInstant.ok && badInstant.reason).toContain("when.at");
    expect(!badInstant.ok && badInstant.reason).toContain("ISO 8601");

    const extra = readPlan(JSON.stringify({ ...PLAN, confidence: "high" }));
    expect(extra.ok).toBe(false);

    const badNotify = readPlan(JSON.stringify({ ...PLAN, notifyOn: "always" }));
    expect(!badNotify.ok && badNotify.reason).toContain("notifyOn");
  });

  it("does not take a refusal with an empty reason, or with extra fields, as a refusal or a plan", () => {
    for (const answer of ['{"error": ""}', '{"error": "nope", "plan": null}']) {
      const result = readPlan(answer);
      expect(result.ok).toBe(false);
      expect(!result.ok && result.reason).toMatch(/^the model's plan is invalid at /);
    }
  });

  it("refuses an answer that is not JSON, or wraps the JSON in prose", () => {
    for (const answer of [
      "",
      "I'd watch the quarterly dashboard every day.",
      `Here is the plan: ${JSON.stringify(PLAN)}`,
      `${JSON.stringify(PLAN)}\n${JSON.stringify(PLAN)}`,
    ]) {
      expect(readPlan(answer)).toEqual({ ok: false, reason: "the model's answer was not JSON" });
    }
  });

  it("refuses JSON that is not an object", () => {
    for (const answer of ["null", "[]", '"at 9am"', "42"]) {
      const result = readPlan(answer);
      expect(result.ok).toBe(false);
      expect(!result.ok && result.reason).toMatch(/^the model's plan is invalid at \(root\)/);
    }
  });
});
