/** A run status, outcome or verdict as a coloured pill (colour is never the only signal). */
import { runOutcomeTone, runOutcomeWord } from "../../../src/domain/run-outcome.js";

const TONE: Record<string, string> = {
  succeeded: "ok",
  satisfied: "ok",
  active: "ok",
  delivered: "ok",
  failed: "bad",
  error: "bad",
  dead: "bad",
  missed: "bad",
  timed_out: "warn",
  unsatisfied: "warn",
  unverified: "warn",
  paused: "warn",
  pending: "warn",
  running: "live",
  open: "live",
  sending: "live",
};

export function StatusBadge({ value }: { value: string | null | undefined }) {
  if (value === null || value === undefined) return <span className="muted">—</span>;
  return <span className={`badge badge-${TONE[value] ?? "neutral"}`}>{value.replace("_", " ")}</span>;
}

/** How a run ended, in the one word every face uses: a watch's verdict rather than "succeeded". */
export function OutcomeBadge({ run }: { run: { status: string; verdict: string | null } }) {
  const tone = runOutcomeTone(run);
  const live = run.status === "running" ? "live" : run.status === "queued" ? "neutral" : tone;
  return <span className={`badge badge-${tone === "neutral" ? live : tone}`}>{runOutcomeWord(run)}</span>;
}

/** A success nobody verified whose last tool call failed; the title says why. */
export function UnverifiedBadge() {
  return (
    <span className="badge badge-warn" title="Its last tool call failed and no `verify` checked the work.">
      unverified
    </span>
  );
}

/** The CSS colour variable for a run in charts. */
export function runColour(run: { status: string; verdict: string | null; unverified?: boolean }): string {
  if (run.verdict === "unsatisfied" || run.unverified) return "var(--warn)";
  return `var(--${TONE[run.status] ?? "neutral"})`;
}
