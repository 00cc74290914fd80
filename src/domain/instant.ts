/**
 * Instants in config (`at`, `until`, named `dates`). Accepted forms:
 *   2026-11-29T09:00:00Z / …+01:00   an absolute instant
 *   2026-11-29T09:00                 wall-clock time in the routine's zone
 *   2026-11-29                       the start of that day in the routine's zone
 *   launch, launch - 1d, launch + 2h a named date from `dates:` plus or minus a duration
 * Wall-clock times that fall in a DST gap move forward, repeated ones take the earlier
 * occurrence (Temporal's "compatible" disambiguation, the same rule as cron).
 */
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
}

export function resolveInstant(text: string, context: InstantContext): InstantResult {
  const trimmed = text.trim();
  const named = NAMED.exec(trimmed);
  if (named && !DATE_ONLY.test(trimmed)) return resolveNamed(named, text, context);
  return resolveLiteral(trimmed, context.timeZone);
}

/** Syntax check without a zone or named dates (used by the schema, before cross-references). */
export function isInstantSyntax(text: string): boolean {
  const trimmed = text.trim();
  if (NAMED.test(trimmed) && !DATE_ONLY.test(trimmed)) return true;
  return resolveLiteral(trimmed, "UTC").ok;
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
    reason: `"${text}" is not a date/time; use 2026-11-29, 2026-11-29T09:00 (routine's zone) or 2026-11-29T09:00:00Z`,
  };
}
