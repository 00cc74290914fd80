/**
 * The agent check's contract with the model: the prompt names the question and subject, and
 * only a bare (or ```json-fenced) `{satisfied, reason}` object is a verdict — anything else is
 * an `error` with LOOPD_CHECK_ANSWER_INVALID, never a guess.
 */
import { describe, expect, it } from "vitest";
import { type CheckSpec, toCheckSpec } from "../domain/check.js";
import { agentCheckPrompt, parseAgentAnswer } from "./agent-check.js";

type AgentCheck = Extract<CheckSpec, { kind: "agent" }>;

function agentCheck(question: string, subject?: string): AgentCheck {
  return toCheckSpec({ agent: { question, ...(subject ? { subject } : {}) } }) as AgentCheck;
}

function expectInvalid(answer: string | null | undefined) {
  const result = parseAgentAnswer(answer);
  expect(result.status).toBe("error");
  expect(result.error?.code).toBe("LOOPD_CHECK_ANSWER_INVALID");
  return result;
}

describe("parseAgentAnswer", () => {
  it("reads a plain JSON yes as satisfied, with the reason as the summary", () => {
    expect(parseAgentAnswer('{"satisfied": true, "reason": "All sections are filled in."}')).toEqual({
      status: "satisfied",
      summary: "All sections are filled in.",
      evidence: { answer: { satisfied: true, reason: "All sections are filled in." } },
    });
  });

  it("reads a plain JSON no as unsatisfied", () => {
    const result = parseAgentAnswer('{"satisfied": false, "reason": "The 2.0 section is empty."}');
    expect(result).toMatchObject({ status: "unsatisfied", summary: "The 2.0 section is empty." });
    expect(result.error).toBeUndefined();
  });

  it("accepts surrounding whitespace", () => {
    expect(parseAgentAnswer('\n  {"satisfied": true, "reason": "ok"}  \n').status).toBe("satisfied");
  });

  it("accepts an answer fenced as ```json, and a bare ``` fence", () => {
    const fenced = '```json\n{"satisfied": false, "reason": "TODO left in the intro."}\n```';
    expect(parseAgentAnswer(fenced)).toMatchObject({
      status: "unsatisfied",
      summary: "TODO left in the intro.",
    });
    expect(parseAgentAnswer('```\n{"satisfied": true, "reason": "ok"}\n```').status).toBe("satisfied");
  });

  it("accepts a fence with an upper-case language tag and Windows line ends", () => {
    expect(parseAgentAnswer('```JSON\r\n{"satisfied": true, "reason": "ok"}\r\n```').status).toBe(
      "satisfied",
    );
  });

  it("refuses prose, even when it wraps a valid JSON object", () => {
    expectInvalid("Yes, it looks complete.");
    const wrapped = expectInvalid('Here is my answer: {"satisfied": true, "reason": "complete"}');
    expect(wrapped.summary).toBe("the answer is not a JSON object");
    expectInvalid('Sure!\n```json\n{"satisfied": true, "reason": "complete"}\n```');
    expectInvalid('{"satisfied": true, "reason": "complete"}\nLet me know if you need more.');
  });

  it("refuses an answer without a reason, or with an empty one", () => {
    const missing = expectInvalid('{"satisfied": true}');
    expect(missing.summary).toContain("reason");
    expectInvalid('{"satisfied": true, "reason": ""}');
  });

  it("refuses wrong types rather than coercing them", () => {
    expect(expectInvalid('{"satisfied": "yes", "reason": "looks fine"}').summary).toContain("satisfied");
    expectInvalid('{"satisfied": 1, "reason": "looks fine"}');
    expectInvalid('{"satisfied": "true", "reason": "looks fine"}');
    expectInvalid('{"satisfied": true, "reason": 42}');
  });

  it("refuses extra fields, arrays and other JSON values", () => {
    expectInvalid('{"satisfied": true, "reason": "ok", "confidence": 0.9}');
    expectInvalid('[{"satisfied": true, "reason": "ok"}]');
    expectInvalid("true");
    expectInvalid('"satisfied"');
    expectInvalid("null");
  });

  it("refuses two objects, bare or in two fences", () => {
    expectInvalid('{"satisfied": true, "reason": "a"}\n{"satisfied": false, "reason": "b"}');
    expectInvalid(
      '```json\n{"satisfied": true, "reason": "a"}\n```\n```json\n{"satisfied": false, "reason": "b"}\n```',
    );
  });

  it("treats an empty or missing final message as invalid", () => {
    for (const answer of ["", "   ", null, undefined]) {
      const result = expectInvalid(answer);
      expect(result.summary).toBe("the answer is not a JSON object");
      expect(result.evidence).toEqual({ answer: "" });
    }
  });

  it("keeps the evidence of a very long answer to 500 characters and the message short", () => {
    const answer = `Well, ${"the notes go on and on. ".repeat(200)}`;
    const result = expectInvalid(answer);
    const shown = (result.evidence as { answer: string }).answer;
    expect(shown).toHaveLength(500);
    expect(shown.endsWith("…")).toBe(true);
    expect(answer.startsWith(shown.slice(0, 499))).toBe(true);
    expect(result.error!.message.length).toBeLessThan(250);
    expect(result.error!.message).toContain("the answer is not a JSON object");
  });

  it("keeps an answer of exactly 500 characters whole", () => {
    const answer = "x".repeat(500);
    expect(expectInvalid(answer).evidence).toEqual({ answer });
  });
});

describe("agentCheckPrompt", () => {
  it("contains the question, the subject and the exact answer format", () => {
    const prompt = agentCheckPrompt(agentCheck("Is the release notes file complete?", "NOTES.md"), null);
    expect(prompt).toContain("Question: Is the release notes file complete?");
    expect(prompt).toContain("Subject: NOTES.md");
    expect(prompt).toContain('{"satisfied": true, "reason":');
    expect(prompt).toContain('{"satisfied": false, "reason":');
    expect(prompt).not.toContain("Context for this evaluation");
  });

  it("leaves out the subject line when there is none, and adds the run's input as context", () => {
    const prompt = agentCheckPrompt(agentCheck("Is CI configured?"), "triggered by push to main");
    expect(prompt).toContain("Question: Is CI configured?");
    expect(prompt).not.toContain("Subject:");
    expect(prompt).toContain("Context for this evaluation:\ntriggered by push to main");
  });

  it("tells the agent the JSON object is the whole final message", () => {
    const prompt = agentCheckPrompt(agentCheck("Is the changelog updated?"), null);
    expect(prompt).toMatch(/final message/i);
    expect(prompt).toMatch(/nothing else/);
  });
});
