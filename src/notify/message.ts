/**
 * What a notification says, decided once for every human-facing channel (Slack, Discord,
 * email, desktop) so they all tell the same story: "<routine> <outcome>", the agent's
 * summary, then the facts someone deciding whether to look needs (error and its hint — the
 * specific fix — check, deadline, reason, run, duration, cost) and a link to the run when
 * there is one. A success nobody verified whose last tool call failed (`unverified`) says so
 * in its title, as a warning.
 *
 * A digest (type "digest", `store/sql/seal-digests.ts`) is one message for many events:
 * "loopd digest: 5 events, 2 failed, $0.42", one line per event as its summary ("babysit-prs
 * failed: <error>"), and the totals as fields.
 */
import { formatDuration } from "../domain/duration.js";
import { formatUsd } from "../domain/money.js";
import { isRecord, type NotificationEvent } from "./event.js";

export type Severity = "error" | "warning" | "success" | "info";

export interface EventField {
  label: string;
  value: string;
}

export interface EventDescription {
  /** "babysit-prs failed" */
  title: string;
  /** "failed", "timed out", … */
  outcome: string;
  severity: Severity;
  emoji: string;
  /** 0xRRGGBB, for channels that colour the message (Discord embeds). */
  color: number;
  summary: string | null;
  fields: EventField[];
  url: string | null;
  /** Plain-text body: summary, "Label: value" per field, then the link. */
  lines: string[];
}

interface Outcome {
  outcome: string;
  severity: Severity;
  emoji: string;
}

const OUTCOMES: Record<string, Outcome> = {
  "run.failed": { outcome: "failed", severity: "error", emoji: "❌" },
  "run.timed_out": { outcome: "timed out", severity: "error", emoji: "⏱️" },
  "run.succeeded": { outcome: "succeeded", severity: "success", emoji: "✅" },
  "run.started": { outcome: "started", severity: "info", emoji: "▶️" },
  "run.skipped": { outcome: "skipped", severity: "info", emoji: "⏭️" },
  "run.cancelled": { outcome: "cancelled", severity: "warning", emoji: "⏹️" },
  "routine.paused": { outcome: "paused", severity: "warning", emoji: "⏸️" },
  "routine.misfired": { outcome: "missed its schedule", severity: "error", emoji: "⚠️" },
  "budget.exceeded": { outcome: "over budget", severity: "warning", emoji: "💸" },
  "check.satisfied": { outcome: "is satisfied", severity: "success", emoji: "✅" },
  "check.unsatisfied": { outcome: "is not satisfied", severity: "error", emoji: "🔔" },
  "check.deadline_missed": { outcome: "missed its deadline", severity: "error", emoji: "⏰" },
  "loop.report": { outcome: "report", severity: "info", emoji: "📋" },
};

const COLORS: Record<Severity, number> = {
  error: 0xd73a49,
  warning: 0xdbab09,
  success: 0x28a745,
  info: 0x0366d6,
};

/** An agent's summary can be pages long; a notification is a pointer, not the report. */
const SUMMARY_MAX = 1000;

export function describeEvent(event: NotificationEvent): EventDescription {
  if (event.type === "digest") return describeDigest(event);
  const { outcome, severity, emoji } = outcomeOfEvent(event.type, event.payload);
  const payload = event.payload;
  const summary = text(payload.summary);
  const url = text(payload.url);
  const fields = eventFields(event);
  const lines = [
    ...(summary ? [truncate(summary, SUMMARY_MAX)] : []),
    ...fields.map((field) => `${field.label}: ${field.value}`),
    ...(url ? [`Link: ${url}`] : []),
  ];
  return {
    title: `${event.routine ?? text(payload.routine) ?? "loopd"} ${outcome}`,
    outcome,
    severity,
    emoji,
    color: COLORS[severity],
    summary: summary ? truncate(summary, SUMMARY_MAX) : null,
    fields,
    url,
    lines,
  };
}

/** A digest lists at most this many events; the rest are counted. */
const DIGEST_LINES_MAX = 25;
const DIGEST_LINE_MAX = 200;

function describeDigest(event: NotificationEvent): EventDescription {
  const payload = event.payload;
  const entries = Array.isArray(payload.events) ? payload.events.filter(isRecord) : [];
  const count = typeof payload.count === "number" ? payload.count : entries.length;
  const failures =
    typeof payload.failures === "number"
      ? payload.failures
      : entries.filter((entry) => outcomeOf(String(entry.type)).severity === "error").length;
  const costUsd =
    typeof payload.costUsd === "number"
      ? payload.costUsd
      : entries.reduce((sum, entry) => sum + (typeof entry.costUsd === "number" ? entry.costUsd : 0), 0);

  const allSucceeded = entries.length > 0 && entries.every((entry) => entry.type === "run.succeeded");
  const severity: Severity = failures > 0 ? "error" : allSucceeded ? "success" : "info";
  const headline = [
    `${count} event${count === 1 ? "" : "s"}`,
    ...(failures > 0 ? [`${failures} failed`] : []),
    ...(costUsd > 0 ? [formatUsd(costUsd)] : []),
  ].join(", ");

  const eventLines = entries.slice(0, DIGEST_LINES_MAX).map(digestLine);
  if (count > eventLines.length) eventLines.push(`… and ${count - eventLines.length} more`);
  const summary = eventLines.length > 0 ? eventLines.join("\n") : null;

  const fields: EventField[] = [{ label: "Events", value: String(count) }];
  if (failures > 0) fields.push({ label: "Failed", value: String(failures) });
  if (costUsd > 0) fields.push({ label: "Cost", value: formatUsd(costUsd) });
  const window = digestWindow(text(payload.from), text(payload.to));
  if (window) fields.push({ label: "Window", value: window });

  return {
    title: `loopd digest: ${headline}`,
    outcome: "digest",
    severity,
    emoji: failures > 0 ? "❌" : "📬",
    color: COLORS[severity],
    summary,
    fields,
    url: null,
    lines: [...eventLines, ...fields.map((field) => `${field.label}: ${field.value}`)],
  };
}

/** "babysit-prs failed: <error>", "nightly succeeded: <summary>" — one line, kept short. */
function digestLine(entry: Record<string, unknown>): string {
  const type = typeof entry.type === "string" ? entry.type : "event";
  const { outcome, severity } = outcomeOfEvent(type, entry);
  const error = describeError(entry.error);
  const summary = text(entry.summary);
  const detail = severity === "error" ? (error ?? summary) : (summary ?? error);
  const head = `${text(entry.routine) ?? "loopd"} ${outcome}`;
  const firstLine = detail?.split("\n")[0]?.trim();
  return truncate(firstLine ? `${head}: ${firstLine}` : head, DIGEST_LINE_MAX);
}

/** "2026-11-28 12:00 – 12:30 UTC", with the date on both ends when the window spans days. */
function digestWindow(from: string | null, to: string | null): string | null {
  const start = from === null ? Number.NaN : Date.parse(from);
  const end = to === null ? Number.NaN : Date.parse(to);
  if (!Number.isFinite(start) || !Number.isFinite(end)) return null;
  const [startDay, startTime] = new Date(start).toISOString().slice(0, 16).split("T");
  const [endDay, endTime] = new Date(end).toISOString().slice(0, 16).split("T");
  return startDay === endDay
    ? `${startDay} ${startTime} – ${endTime} UTC`
    : `${startDay} ${startTime} – ${endDay} ${endTime} UTC`;
}

function outcomeOf(type: string): Outcome {
  return OUTCOMES[type] ?? unknownOutcome(type);
}

const UNVERIFIED: Outcome = { outcome: "succeeded, unverified", severity: "warning", emoji: "⚠️" };

/** The outcome, with a success flagged `unverified` told apart from a checked one. */
/**
 * A watch's evaluation is a run that "succeeded" with a verdict: its notification says the
 * verdict, the word every face uses for that run (domain/run-outcome.ts).
 */
function outcomeOfEvent(type: string, payload: Record<string, unknown>): Outcome {
  if (type === "run.succeeded" && payload.verdict === "unsatisfied") return UNSATISFIED;
  if (type === "run.succeeded" && payload.verdict === "satisfied")
    return { ...outcomeOf(type), outcome: "satisfied" };
  return type === "run.succeeded" && payload.unverified === true ? UNVERIFIED : outcomeOf(type);
}

const UNSATISFIED: Outcome = { outcome: "unsatisfied", severity: "warning", emoji: "🔔" };

/** Event types added later still read sensibly: "deadline.missed" → "deadline missed". */
function unknownOutcome(type: string): Outcome {
  const failed = /fail|error|exceeded|missed/.test(type);
  return { outcome: type.replace(/[._]/g, " "), severity: failed ? "error" : "info", emoji: "🔔" };
}

function eventFields(event: NotificationEvent): EventField[] {
  const payload = event.payload;
  const fields: EventField[] = [];
  const error = describeError(payload.error);
  if (error) fields.push({ label: "Error", value: error });
  if (event.type === "run.succeeded" && payload.unverified === true)
    fields.push({ label: "Unverified", value: "its last tool call failed and no `verify` checked the work" });
  const check = text(payload.check);
  if (check) fields.push({ label: "Check", value: check });
  const deadline = text(payload.deadline);
  if (deadline) fields.push({ label: "Deadline", value: deadline });
  if (isRecord(payload.started) && typeof payload.started.routine === "string") {
    const started = payload.started;
    fields.push({
      label: "Started",
      value:
        typeof started.runId === "number"
          ? `${started.routine} (run #${started.runId})`
          : `${started.routine} — not started: ${text(started.error) ?? "unknown error"}`,
    });
  }
  const reason = text(payload.reason);
  if (reason) {
    const failures = typeof payload.failures === "number" ? ` (${payload.failures} failures in a row)` : "";
    fields.push({ label: "Reason", value: `${reason}${failures}` });
  }
  // A pause or misfire says what to do itself; a run's error carries its own hint.
  const hint = text(payload.hint) ?? (isRecord(payload.error) ? text(payload.error.hint) : null);
  if (hint) fields.push({ label: "Hint", value: hint });
  const runId = event.runId ?? (typeof payload.runId === "number" ? payload.runId : null);
  if (runId !== null) {
    const attempt =
      typeof payload.attempt === "number" && payload.attempt > 1 ? `, attempt ${payload.attempt}` : "";
    fields.push({ label: "Run", value: `#${runId}${attempt}` });
  }
  if (typeof payload.durationMs === "number") {
    fields.push({ label: "Duration", value: formatDuration(payload.durationMs) });
  }
  if (typeof payload.costUsd === "number") fields.push({ label: "Cost", value: formatUsd(payload.costUsd) });
  return fields;
}

function describeError(error: unknown): string | null {
  if (typeof error === "string") return error;
  if (!isRecord(error)) return null;
  const code = text(error.code);
  const message = text(error.message);
  if (code && message) return `${code}: ${message}`;
  return code ?? message;
}

export function truncate(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max - 1)}…`;
}

function text(value: unknown): string | null {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : null;
}
