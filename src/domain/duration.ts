/**
 * Durations in config are human strings with a unit: `10s`, `30m`, `2h`, `1d`, `1.5h`.
 * Parsing is `ms`'s; we add the rules a scheduler needs: a unit is required (a bare `30`
 * would silently mean 30 milliseconds) and the result must be positive.
 */
import ms from "ms";

const WITH_UNIT = /^\s*\d+(\.\d+)?\s*[a-z]+\s*$/i;

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
  return { ok: true, ms: Math.round(value) };
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
