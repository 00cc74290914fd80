/** Words and numbers for people: relative times, money, durations, token counts. */

import { formatUsd } from "../../src/domain/money.js";

const UNITS: Array<[limitMs: number, unitMs: number, unit: string]> = [
  [60_000, 1_000, "s"],
  [3_600_000, 60_000, "min"],
  [86_400_000, 3_600_000, "h"],
  [Number.POSITIVE_INFINITY, 86_400_000, "d"],
];

/** "in 5 min", "3 h ago", "now"; `null` → "—". */
export function relativeTime(iso: string | null, now: number): string {
  if (iso === null) return "—";
  const delta = Date.parse(iso) - now;
  const abs = Math.abs(delta);
  if (abs < 5_000) return "now";
  for (const [limit, unitMs, unit] of UNITS) {
    if (abs < limit) {
      const count = Math.round(abs / unitMs);
      return delta > 0 ? `in ${count} ${unit}` : `${count} ${unit} ago`;
    }
  }
  return iso;
}

/** A local date and time, short: "Mar 4, 09:00" (24-hour). */
export function dateTime(iso: string | null): string {
  if (iso === null) return "—";
  return new Date(iso).toLocaleString(undefined, {
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    // 24-hour, as the CLI and the trigger words ("at 09:00"), whatever the locale's habit.
    hourCycle: "h23",
  });
}

/** "$0", "$0.0042", "$12.30": the CLI's and the notifications' rule (src/domain/money.ts). */
export const money = formatUsd;

/** "850 ms", "42 s", "3 min 5 s", "1 h 2 min". */
export function duration(ms: number | null): string {
  if (ms === null) return "—";
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  const seconds = Math.round(ms / 1_000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return seconds % 60 === 0 ? `${minutes} min` : `${minutes} min ${seconds % 60} s`;
  const hours = Math.floor(minutes / 60);
  return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
}

/** "950", "12.3k", "1.2M". */
export function tokens(count: number): string {
  if (count < 1_000) return String(count);
  if (count < 1_000_000) return `${(count / 1_000).toFixed(count < 10_000 ? 1 : 0)}k`;
  return `${(count / 1_000_000).toFixed(1)}M`;
}

export function shortSha(sha: string | null): string {
  return sha === null ? "—" : sha.slice(0, 10);
}
