/**
 * The one word for how a run ended, shared by every face: the serve log, `run --wait`,
 * `loopd runs`, the dashboard and notifications. A watch's evaluation completes its run as
 * `succeeded` (the check ran; runs.status) with a verdict (runs.verdict); what a person wants
 * to read is the verdict — "unsatisfied", never "succeeded" above "✗ … unsatisfied".
 */
export type RunOutcomeWord =
  | "succeeded"
  | "satisfied"
  | "unsatisfied"
  | "failed"
  | "timed out"
  | "canceled"
  | "skipped"
  | "queued"
  | "running";

/** How to colour it: ok (✓ green), warn (yellow), bad (✗ red), or neither. */
export type OutcomeTone = "ok" | "warn" | "bad" | "neutral";

export function runOutcomeWord(run: { status: string; verdict?: string | null }): RunOutcomeWord {
  if (run.status === "succeeded" && (run.verdict === "satisfied" || run.verdict === "unsatisfied"))
    return run.verdict;
  return run.status.replace("_", " ") as RunOutcomeWord;
}

export function runOutcomeTone(run: { status: string; verdict?: string | null }): OutcomeTone {
  switch (runOutcomeWord(run)) {
    case "succeeded":
    case "satisfied":
      return "ok";
    case "unsatisfied":
    case "timed out":
      return "warn";
    case "failed":
      return "bad";
    default:
      return "neutral";
  }
}
