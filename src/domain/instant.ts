/**
 * Instants in config (`at`, `until`, named `dates`). Accepted forms:
 *   2026-11-29T09:00:00Z / …+01:00   an absolute instant
 *   2026-11-29T09:00                 wall-clock time in the routine's zone
 *   2026-11-29                       the start of that day in the routine's zone
 *   launch, launch - 1d, launch + 2h a named date from `dates:` plus or minus a duration
 *   tomorrow 9am, next monday 10:30 a phrase (chrono-node), read in the routine's zone
 *                                    relative to when the config is applied
 * Wall-clock times that fall in a DST gap move forward, repeated ones take the earlier
 * occurrence (Temporal's "compatible" disambiguation, the same rule as cron).
 */
import { createRequire } from "node:module";
import { Temporal } from "temporal-polyfill";
import { parseDuration } from "./duration.js";

export type InstantResult = { ok: true; epochMs: number } | { ok: false; reason: string };

const NAMED = /^([a-z][a-z0-9_-]*)\s*(?:([+-])\s*(.+))?$/i;
const HAS_OFFSET = /(Z|[+-]\d{2}:?\d{2})$/i;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const LOCAL_DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

export interface InstantContext {
  timeZone: string;
  dates?: Readonly<Record<string, string>>;
  /** Reference time for phrases like "tomorrow 9am"; default now. */
  now?: number;
}

export function resolveInstant(text: string, context: InstantContext): InstantResult {
  const trimmed = text.trim();
  const named = NAMED.exec(trimmed);
  if (named && context.dates?.[named[1] ?? ""] !== undefined) return resolveNamed(named, text, context);
  const literal = resolveLiteral(trimmed, context.timeZone);
  if (literal.ok) return literal;
  const phrase = resolvePhrase(trimmed, context.timeZone, context.now ?? Date.now());
  if (phrase.ok) return phrase;
  return named && !DATE_ONLY.test(trimmed) ? resolveNamed(named, text, context) : literal;
}

/** Syntax check without a zone or named dates (used by the schema, before cross-references). */
export function isInstantSyntax(text: string): boolean {
  const trimmed = text.trim();
  if (NAMED.test(trimmed) && !DATE_ONLY.test(trimmed)) return true;
  return resolveLiteral(trimmed, "UTC").ok || resolvePhrase(trimmed, "UTC", Date.now()).ok;
}

/** chrono-node takes ~200 ms to load; only phrases need it, so it loads on first use. */
let chronoModule: typeof import("chrono-node") | undefined;
function chrono(): typeof import("chrono-node") {
  chronoModule ??= createRequire(import.meta.url)("chrono-node") as typeof import("chrono-node");
  return chronoModule;
}

/** "tomorrow 9am": chrono reads the wall-clock parts in the zone; Temporal places them (DST-aware). */
function resolvePhrase(text: string, timeZone: string, now: number): InstantResult {
  // ISO-shaped input is never a phrase: chrono would read 2026-13-01 as 13 January.
  if (/^\d{4}-/.test(text)) return { ok: false, reason: `"${text}" is not a date/time` };
  const offsetMinutes =
    Temporal.Instant.fromEpochMilliseconds(now).toZonedDateTimeISO(timeZone).offsetNanoseconds /
    60_000_000_000;
  const [result] = chrono().parse(
    text,
    { instant: new Date(now), timezone: offsetMinutes },
    { forwardDate: true },
  );
  // The whole text must be the phrase: "9am blah" is a typo, not 9am.
  if (!result || result.text.trim().toLowerCase() !== text.toLowerCase()) {
    return { ok: false, reason: `"${text}" is not a date/time` };
  }
  const part = (name: "year" | "month" | "day" | "hour" | "minute" | "second") => result.start.get(name) ?? 0;
  const wall = Temporal.PlainDateTime.from({
    year: part("year"),
    month: part("month"),
    day: part("day"),
    hour: part("hour"),
    minute: part("minute"),
    second: part("second"),
  });
  return {
    ok: true,
    epochMs: wall.toZonedDateTime(timeZone, { disambiguation: "compatible" }).epochMilliseconds,
  };
}

function resolveNamed(match: RegExpExecArray, text: string, context: InstantContext): InstantResult {
  const [, name = "", sign, offsetText] = match;
  const base = context.dates?.[name];
  if (base === undefined) {
    const known = Object.keys(context.dates ?? {});
    const list = known.length > 0 ? `; named dates are: ${known.join(", ")}` : "; no `dates:` are declared";
    return { ok: false, reason: `"${text}" is neither an ISO date/time nor a named date${list}` };
  }
  const resolved = resolveLiteral(base.trim(), context.timeZone);
  if (!resolved.ok || sign === undefined || offsetText === undefined) return resolved;
  const offset = parseDuration(offsetText);
  if (!offset.ok) return { ok: false, reason: `in "${text}": ${offset.reason}` };
  return { ok: true, epochMs: resolved.epochMs + (sign === "-" ? -offset.ms : offset.ms) };
}

function resolveLiteral(text: string, timeZone: string): InstantResult {
  try {
    if (DATE_ONLY.test(text)) {
      const day = Temporal.PlainDate.from(text);
      return { ok: true, epochMs: day.toZonedDateTime({ timeZone }).epochMilliseconds };
    }
    if (LOCAL_DATE_TIME.test(text)) {
      const wall = Temporal.PlainDateTime.from(text.replace(" ", "T"));
      return {
        ok: true,
        epochMs: wall.toZonedDateTime(timeZone, { disambiguation: "compatible" }).epochMilliseconds,
      };
    }
    if (HAS_OFFSET.test(text)) return { ok: true, epochMs: Temporal.Instant.from(text).epochMilliseconds };
  } catch {
    // fall through to the uniform message: the shape matched but the values did not (month 13, …)
  }
  return {
    ok: false,
    reason: `"${text}" is not a date/time; use 2026-11-29, 2026-11-29T09:00 (routine's zone), 2026-11-29T09:00:00Z or a phrase like "tomorrow 9am"`,
  };
}
