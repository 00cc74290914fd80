/**
 * The `agent` check: a model answers a yes/no question about a subject. The question goes
 * out as an ordinary (cheap-tier) agent run; the answer must be the JSON object
 * `{ "satisfied": boolean, "reason": string }` — validated, never guessed from prose. An
 * answer that is not exactly that is an `error` verdict (LOOPD_CHECK_ANSWER_INVALID).
 */
import { z } from "zod";
import type { CheckResult, CheckSpec } from "../domain/check.js";
import { parseJsonAnswer } from "../lib/json-answer.js";

type AgentCheck = Extract<CheckSpec, { kind: "agent" }>;

export const agentAnswerSchema = z.strictObject({
  satisfied: z.boolean(),
  reason: z.string().min(1),
});

export function agentCheckPrompt(check: AgentCheck, input: string | null): string {
  return [
    "Answer a yes/no question for an automated watch. Look at the subject with your tools (read-only: change nothing).",
    "",
    `Question: ${check.question}`,
    ...(check.subject ? [`Subject: ${check.subject}`] : []),
    ...(input ? ["", "Context for this evaluation:", input] : []),
    "",
    // loopd's standing instructions ask for a one-line result first; a check's answer is the JSON alone.
    "Your final message is exactly one JSON object and nothing else (no summary line before it, no text after it):",
    '{"satisfied": true, "reason": "<one sentence of evidence>"}   when the answer is yes,',
    '{"satisfied": false, "reason": "<one sentence of evidence>"}  when the answer is no.',
    "If you cannot tell, answer false and say why in the reason.",
  ].join("\n");
}

/**
 * The verdict in a final message. A JSON object alone, or fenced as ```json, is accepted;
 * prose around it, two objects, or the wrong fields are not.
 */
export function parseAgentAnswer(text: string | null | undefined): CheckResult {
  const answer = (text ?? "").trim();
  const parsed = parseJsonAnswer(answer);
  if (!parsed.ok) return invalid(answer, "the answer is not a JSON object");
  const result = agentAnswerSchema.safeParse(parsed.value);
  if (!result.success) {
    const issue = result.error.issues[0];
    return invalid(
      answer,
      `the answer does not match {satisfied, reason}: ${issue?.path.join(".") || "object"} ${issue?.message ?? ""}`.trim(),
    );
  }
  return {
    status: result.data.satisfied ? "satisfied" : "unsatisfied",
    summary: result.data.reason,
    evidence: { answer: result.data },
  };
}

function invalid(answer: string, why: string): CheckResult {
  const shown = answer.length > 500 ? `${answer.slice(0, 499)}…` : answer;
  return {
    status: "error",
    summary: why,
    evidence: { answer: shown },
    error: { code: "LOOPD_CHECK_ANSWER_INVALID", message: `${why}: ${JSON.stringify(shown.slice(0, 120))}` },
  };
}
