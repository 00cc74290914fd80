/** The built-in loops by kind (a routine's `loop.kind`). */
import { ciHealthTick } from "./ci-health/tick.js";
import { feedbackTriageTick } from "./feedback-triage/tick.js";
import { issueToPrTick } from "./issue-to-pr/tick.js";
import type { LoopTick } from "./loop.js";
import { prBabysitTick } from "./pr-babysit/tick.js";

export type { AgentJob, AgentJobResult, LoopContext, LoopModel, LoopOutcome, LoopTick } from "./loop.js";

export const LOOP_TICKS: Readonly<Record<string, LoopTick>> = {
  "pr-babysit": prBabysitTick,
  "issue-to-pr": issueToPrTick,
  "ci-health": ciHealthTick,
  "feedback-triage": feedbackTriageTick,
};
