/**
 * Durations in config are human strings with a unit: `10s`, `30m`, `2h`, `1d`, `1.5h`.
 * Parsing is `ms`'s; we add the rules a scheduler needs: a unit is required (a bare `30`
 * would silently mean 30 milliseconds), the result must be positive, and no longer than
 * MAX_DURATION_MS (so `now + duration` stays a valid Date and fits PostgreSQL's BIGINT).
 * Fields add their own bounds (`durationBoundsError`): `every` at least a second, a
 * `timeout` at most a week (Node's timers overflow past 24.8 days and fire at once).
 */
import ms from "ms";

const WITH_UNIT = /^\s*\d+(\.\d+)?\s*[a-z]+\s*$/i;

export const SECOND_MS = 1000;
export const DAY_MS = 86_400_000;
/** 100 years: far inside what a Date (±8.64e15 ms) and a BIGINT column can hold. */
export const MAX_DURATION_MS = 36_500 * DAY_MS;

export interface DurationBounds {
  /** Inclusive, in ms. */
  min?: number;
  /** Inclusive, in ms. */
  max?: number;
}

/** Returns milliseconds, or an explanation of why the text is not a duration. */
export function parseDuration(text: string): { ok: true; ms: number } | { ok: false; reason: string } {
  const trimmed = text.trim();
  if (trimmed.startsWith("-"))
    return { ok: false, reason: `"${text}" is negative; durations must be positive` };
  if (!WITH_UNIT.test(trimmed)) {
    return {
      ok: false,
      reason: `"${text}" is not a duration; use a number and a unit like 30s, 10m, 2h, 1d`,
    };
  }
  const value = ms(trimmed as ms.StringValue);
  if (!Number.isFinite(value)) {
    return { ok: false, reason: `"${text}" has an unknown unit; use s, m, h, d or w (e.g. 30m)` };
  }
  if (value <= 0) return { ok: false, reason: `"${text}" is zero; durations must be positive` };
  if (value > MAX_DURATION_MS) {
    return { ok: false, reason: `"${text}" is longer than the ${formatLimit(MAX_DURATION_MS)} limit` };
  }
  return { ok: true, ms: Math.round(value) };
}

/** Why `value` (already parsed from `text`) is out of a field's bounds, or null when it is within. */
export function durationBoundsError(text: string, value: number, bounds: DurationBounds): string | null {
  if (bounds.min !== undefined && value < bounds.min) {
    return `"${text}" is shorter than the ${formatLimit(bounds.min)} minimum`;
  }
  if (bounds.max !== undefined && value > bounds.max) {
    return `"${text}" is longer than the ${formatLimit(bounds.max)} maximum`;
  }
  return null;
}

/** A limit as people write it: 1s, 7d, 36500d. */
export function formatLimit(limitMs: number): string {
  if (limitMs % DAY_MS === 0) return `${limitMs / DAY_MS}d`;
  if (limitMs % SECOND_MS === 0 && limitMs < 60_000) return `${limitMs / SECOND_MS}s`;
  return formatDuration(limitMs);
}

/** Short form for tables, at most two units: 90_000 → "1m30s", 93_784_000 → "1d2h". */
export function formatDuration(totalMs: number): string {
  if (totalMs < 1000) return `${Math.round(totalMs)}ms`;
  const units: Array<[string, number]> = [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
  ];
  let rest = Math.round(totalMs / 1000) * 1000;
  const parts: string[] = [];
  for (const [unit, size] of units) {
    const count = Math.floor(rest / size);
    if (count > 0) {
      parts.push(`${count}${unit}`);
      rest -= count * size;
    }
    if (parts.length === 2) break;
  }
  return parts.join("");
}
