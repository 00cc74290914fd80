/**
 * A GitHub Actions job log cut down to what an agent (or a person) needs: the step that
 * failed. Job logs are one file per job, every line prefixed with a timestamp; each step opens
 * with a `##[group]Run …` line and errors are `##[error]…` lines. Pure text work, no I/O.
 */
import type { JobLog } from "./types.js";

export interface TrimOptions {
  /** Lines kept at most (default 200): the step's first line, then its last lines. */
  maxLines?: number;
  /** Characters kept at most (default 20 000), cut from the front. */
  maxChars?: number;
}

const TIMESTAMP = /^\uFEFF?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z ?/;
const STEP_START = /^##\[group\]Run /;
const ERROR = /^##\[error\]/;
const GENERIC_ERROR = /^Process completed with exit code \d+\.?$/;
const JOB_CLEANUP = /^(?:Post job cleanup\.|Cleaning up orphan processes)/;

export function trimJobLog(
  jobId: number,
  log: string,
  failingStep: string | null,
  options: TrimOptions = {},
): JobLog {
  const maxLines = options.maxLines ?? 200;
  const maxChars = options.maxChars ?? 20_000;
  const lines = log.split(/\r?\n/).map((line) => line.replace(TIMESTAMP, ""));
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const errorIndexes = lines.flatMap((line, index) => (ERROR.test(line) ? [index] : []));
  const errors = errorIndexes.map((index) => lines[index]!.replace(ERROR, "").trim());
  const firstError = errors.find((text) => !GENERIC_ERROR.test(text)) ?? errors[0] ?? null;

  // The failing step's section: from the step start before the first error to the next step start.
  const anchor = errorIndexes[0] ?? lines.length - 1;
  let start = 0;
  for (let index = anchor; index >= 0; index -= 1) {
    if (STEP_START.test(lines[index]!)) {
      start = index;
      break;
    }
  }
  let end = lines.length;
  for (let index = anchor + 1; index < lines.length; index += 1) {
    if (STEP_START.test(lines[index]!) || JOB_CLEANUP.test(lines[index]!)) {
      end = index;
      break;
    }
  }
  let section = lines.slice(start, end);
  let truncated = start > 0 || end < lines.length;
  if (section.length > maxLines) {
    const cut = section.length - maxLines + 1;
    section = [section[0]!, `… ${cut} lines cut …`, ...section.slice(cut + 1)];
    truncated = true;
  }
  let text = section.join("\n");
  if (text.length > maxChars) {
    text = `…${text.slice(text.length - maxChars + 1)}`;
    truncated = true;
  }
  return { jobId, step: failingStep, firstError, text, truncated };
}
