/** Human output helpers: aligned tables, relative times, colour that respects NO_COLOR and pipes. */
import pc from "picocolors";
import { formatDuration } from "../domain/duration.js";
import { runOutcomeTone, runOutcomeWord } from "../domain/run-outcome.js";

/** "in 12m", "3h ago", "just now"; `—` for no time. */
export function relativeTime(epochMs: number | string | null, nowMs: number): string {
  if (epochMs === null) return "—";
  const at = typeof epochMs === "string" ? Date.parse(epochMs) : epochMs;
  const delta = at - nowMs;
  if (Math.abs(delta) < 1000) return "now";
  const amount = formatDuration(Math.abs(delta)).replace(/^(\d+[a-z]+)\d.*$/, "$1");
  return delta > 0 ? `in ${amount}` : `${amount} ago`;
}

/** Columns padded to the widest cell; the last column is not padded. Colour codes do not count. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const all = [headers.map((header) => pc.bold(header)), ...rows];
  const widths = headers.map((_, column) => Math.max(...all.map((row) => visibleLength(row[column] ?? ""))));
  return all
    .map((row) =>
      row
        .map((cell, column) =>
          column === row.length - 1 ? cell : cell + " ".repeat(widths[column]! - visibleLength(cell)),
        )
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escape sequences is the point
const ANSI = /\u001b\[[0-9;]*m/g;

function visibleLength(text: string): number {
  // Most cells carry no colour (always so under NO_COLOR or a pipe): skip the regex for them.
  return text.includes("\u001b") ? text.replace(ANSI, "").length : text.length;
}

/** Why a success is flagged `unverified`, in words (ls, show, runs, show-run, run --wait). */
export const UNVERIFIED = "its last tool call failed and no `verify` checked the work";

export function colourStatus(status: string): string {
  switch (status) {
    case "succeeded":
    case "active":
      return pc.green(status);
    case "failed":
    case "timed_out":
      return pc.red(status);
    case "running":
    case "queued":
      return pc.cyan(status);
    case "paused":
    case "skipped":
    case "canceled":
      return pc.yellow(status);
    default:
      return status;
  }
}

type RunEnd = { status: string; verdict?: string | null };

/** How a run ended, in the one word every face uses (domain/run-outcome.ts), coloured. */
export function colourOutcome(run: RunEnd): string {
  const word = runOutcomeWord(run);
  switch (runOutcomeTone(run)) {
    case "ok":
      return pc.green(word);
    case "warn":
      return pc.yellow(word);
    case "bad":
      return pc.red(word);
    default:
      return run.status === "running" || run.status === "queued" ? pc.cyan(word) : pc.yellow(word);
  }
}

/** ✓ for a success or a satisfied check, a yellow ✗ for an unmet one, a red ✗ otherwise. */
export function outcomeMark(run: RunEnd): string {
  const tone = runOutcomeTone(run);
  return tone === "ok" ? pc.green("✓") : tone === "warn" && run.verdict ? pc.yellow("✗") : pc.red("✗");
}

export { pc };
