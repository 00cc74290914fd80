/**
 * The time phrase of a `loopd remind` sentence, resolved to one instant in the user's zone.
 * Named dates from config and ISO dates are read here; relative hours are added exactly;
 * everything else is chrono-node's, whose wall-clock parts Temporal then places in the zone
 * (so "tomorrow 9am" on the eve of a DST change is 9am in the new offset).
 *
 * Readings chosen for phrases people use loosely:
 *   phrase                         reading
 *   tomorrow, friday, next week    that day at `defaultTime` (09:00); "next week" = 7 days on
 *   next monday (said on a Sunday) the coming Monday (chrono's reading)
 *   friday 3pm, at 9               that time; a bare time that has passed today means tomorrow
 *   tomorrow morning / afternoon   09:00 / 14:00 (chrono's defaults, 06:00 / 15:00, are odd
 *   this evening, tomorrow night   18:00 / 20:00  hours to be pinged)
 *   tonight                        today 20:00
 *   tonight at 11pm, this evening  the clock time on that day, inside the part (remind-day-part.ts)
 *   at 7, tomorrow morning at 8:30
 *   end of day, EOD, COB           17:00, the next time it comes
 *   end of week, EOW               Friday 17:00
 *   in 3 hours, in 30m             exactly now + that duration (DST-proof)
 *   in 2 days                      that day at `defaultTime` (chrono's date-only reading)
 *   on 2026-12-24 [15:00]          that date at `defaultTime` or the given time
 *   launch, on launch day          the named date; a date-only one at `defaultTime`
 *   the day/week before launch     one calendar day/week earlier, same wall time
 *   2 days / 3 hours before launch calendar days; hours exactly
 *   at 5pm the day before launch   a time-of-day phrase joins a date-only phrase
 *   by/before/until <time>         the same instant, marked as a deadline
 * A time that has already passed is an error, not silently moved.
 */
import { createRequire } from "node:module";
import { Temporal } from "temporal-polyfill";
import { takeDayPartTimes } from "./remind-day-part.js";

export interface WhenContext {
  now: number;
  timeZone: string;
  dates: Readonly<Record<string, string>>;
  defaultTime: Temporal.PlainTime;
}

export interface FoundTime {
  epochMs: number;
  /** Introduced by "by", "before", "until": a deadline rather than a moment to look. */
  deadline: boolean;
  text: string;
}

export type TimeResult =
  | { ok: true; time?: FoundTime }
  | { ok: false; reason: string; code?: "LOOPD_REMIND_TIME_CONFLICT"; hint?: string };

/** A time phrase before it is placed: an exact instant, or a wall date with an optional time. */
interface Candidate {
  text: string;
  deadline: boolean;
  exactMs?: number;
  date?: Temporal.PlainDate;
  time?: Temporal.PlainTime;
  /** "at 5pm" with no day of its own: it may join a date-only phrase. */
  timeOnly?: boolean;
}

type Taken = { ok: true; candidates: Candidate[]; rest: string } | { ok: false; reason: string };

const DEADLINE_BEFORE = /\b(?:by|before|until|till|no later than|not later than|ahead of)\s+(?:the\s+)?$/i;
const NUMBER_WORD = "\\d{1,3}|an?|one|two|three|four|five|six|seven";
const NUMBER_WORDS: Record<string, number> = {
  a: 1,
  an: 1,
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
};
const DAY_PART_TIME: Record<string, string> = {
  morning: "9:00",
  afternoon: "14:00",
  evening: "18:00",
  night: "20:00",
};
const RELATIVE =
  /\b(?:in\s+(?:(half an?)|(\d{1,4}|an?|one|two|three)\s*(minutes?|mins?|m|hours?|hrs?|h))|(\d{1,4}|an?|one|two|three)\s*(minutes?|mins?|m|hours?|hrs?|h)\s+from\s+now)\b/gi;
const ISO_DATE = /(?<![\w-])(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?)?(?![\w-])/g;
const LEFTOVER_CLOCK_TIME = /(?<![\w:.-])\d{1,2}(?::\d{2}|\s*[ap]\.?m\b)(?![\w:.-])/i;
const UNKNOWN_NAMED = new RegExp(
  `(?<![\\w-])(?:the\\s+)?(?:day|week|(?:${NUMBER_WORD})\\s+(?:days?|weeks?))\\s+(?:before|after)\\s+(?!it\\b|the\\b|that\\b|this\\b|then\\b)([a-z][\\w-]*)`,
  "i",
);

export function findTime(text: string, context: WhenContext): TimeResult {
  try {
    return findTimeUnchecked(text, context);
  } catch (error) {
    // chrono can hand back dates Temporal rejects (years beyond its range): say so, never throw.
    if (error instanceof RangeError) return { ok: false, reason: "that date is out of range" };
    throw error;
  }
}

function findTimeUnchecked(text: string, context: WhenContext): TimeResult {
  const dayParts = takeDayPartTimes(text, context.now, context.timeZone);
  if (!dayParts.ok) return dayParts;
  const candidates: Candidate[] = dayParts.found.map((found) => ({
    text: found.text,
    deadline: DEADLINE_BEFORE.test(text.slice(0, found.index)),
    date: found.date,
    time: found.time,
    ...(found.timeOnly ? { timeOnly: true } : {}),
  }));
  let rest = rewriteDayParts(dayParts.rest);
  for (const take of [takeNamedDates, takeIsoDates, takeRelative]) {
    const taken = take(rest, context);
    if (!taken.ok) return taken;
    candidates.push(...taken.candidates);
    rest = taken.rest;
  }
  const unknown = UNKNOWN_NAMED.exec(rest);
  if (unknown) return { ok: false, reason: unknownNamedDate(unknown[1] ?? "", context.dates) };
  const phrases = takeChronoPhrases(rest, context);
  if (!phrases.ok) return phrases;
  candidates.push(...phrases.candidates);
  const merged = mergeCandidates(candidates, context);
  if (!merged.ok || merged.time === undefined) return merged;
  if (merged.time.epochMs < context.now) {
    return {
      ok: false,
      reason: `"${merged.time.text}" is ${formatInstant(merged.time.epochMs, context.timeZone)}, which has passed`,
    };
  }
  return merged;
}

/** ISO 8601 with the offset of the user's zone at that instant, to the second. */
export function formatInstant(epochMs: number, timeZone: string): string {
  return Temporal.Instant.fromEpochMilliseconds(epochMs)
    .toZonedDateTimeISO(timeZone)
    .toString({ timeZoneName: "never", smallestUnit: "second" });
}

function rewriteDayParts(text: string): string {
  return text
    .replace(/\btonight\b/gi, "today at 20:00")
    .replace(/\bthis\s+(morning|afternoon|evening)\b/gi, (_, part: string) => `today at ${dayPart(part)}`)
    .replace(
      /\b(?:in\s+the\s+)?(morning|afternoon|evening|night)\b/gi,
      (_, part: string) => `at ${dayPart(part)}`,
    )
    .replace(
      /\b(?:the\s+)?(?:end\s+of\s+(?:the\s+)?(?:business\s+)?day|eod|close\s+of\s+business|cob)\b/gi,
      "at 17:00",
    )
    .replace(/\b(?:the\s+)?(?:end\s+of\s+(?:the\s+)?week|eow)\b/gi, "friday at 17:00");
}

function dayPart(part: string): string {
  return DAY_PART_TIME[part.toLowerCase()] ?? "9:00";
}

function takeNamedDates(text: string, context: WhenContext): Taken {
  const names = Object.keys(context.dates)
    .filter((name) => /^[\w-]+$/.test(name))
    .sort((a, b) => b.length - a.length);
  if (names.length === 0) return { ok: true, candidates: [], rest: text };
  const pattern = new RegExp(
    `(?<![\\w-])(?:(by|before|until|till|on|at)\\s+)?(?:the\\s+)?(?:(?:(day|week)|(${NUMBER_WORD})\\s+(days?|weeks?|hours?))\\s+(before|after)\\s+)?(${names.join("|")})(?:\\s+day)?(?![\\w-])`,
    "gi",
  );
  const candidates: Candidate[] = [];
  for (const match of text.matchAll(pattern)) {
    const [phrase, prefix, dayOrWeek, count, unit, direction, name = ""] = match;
    const base = namedBase(name, context);
    if (!base.ok) return base;
    const sign = direction?.toLowerCase() === "before" ? -1 : 1;
    const amount = dayOrWeek ? 1 : count ? (NUMBER_WORDS[count.toLowerCase()] ?? Number(count)) : 0;
    const unitName = (dayOrWeek ?? unit ?? "day").toLowerCase();
    const deadline = prefix !== undefined && !/^(?:on|at)$/i.test(prefix);
    if (unitName.startsWith("hour")) {
      const exactMs =
        placeWall(base.date, base.time ?? context.defaultTime, context.timeZone) + sign * amount * 3_600_000;
      candidates.push({ text: phrase.trim(), deadline, exactMs });
    } else {
      const days = amount * (unitName.startsWith("week") ? 7 : 1) * sign;
      candidates.push({
        text: phrase.trim(),
        deadline,
        date: base.date.add({ days }),
        ...(base.time ? { time: base.time } : {}),
      });
    }
  }
  return { ok: true, candidates, rest: text.replace(pattern, blank) };
}

function namedBase(
  name: string,
  context: WhenContext,
): { ok: true; date: Temporal.PlainDate; time?: Temporal.PlainTime } | { ok: false; reason: string } {
  const key = Object.keys(context.dates).find((known) => known.toLowerCase() === name.toLowerCase()) ?? name;
  const value = (context.dates[key] ?? "").trim();
  try {
    if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return { ok: true, date: Temporal.PlainDate.from(value) };
    if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?$/.test(value)) {
      const wall = Temporal.PlainDateTime.from(value.replace(" ", "T"));
      return { ok: true, date: wall.toPlainDate(), time: wall.toPlainTime() };
    }
    const zoned = Temporal.Instant.from(value).toZonedDateTimeISO(context.timeZone);
    return { ok: true, date: zoned.toPlainDate(), time: zoned.toPlainTime() };
  } catch {
    return { ok: false, reason: `the named date "${key}" is "${value}", not a date like 2026-12-10` };
  }
}

function unknownNamedDate(word: string, dates: Readonly<Record<string, string>>): string {
  const known = Object.keys(dates);
  const list = known.length > 0 ? `; named dates are: ${known.join(", ")}` : "";
  return `"${word}" is not a named date (declare it under \`dates:\` in loopd.yaml${list})`;
}

function takeIsoDates(text: string, _context: WhenContext): Taken {
  const candidates: Candidate[] = [];
  for (const match of text.matchAll(ISO_DATE)) {
    const [phrase, year, month, day, hour, minute, second] = match;
    const deadline = DEADLINE_BEFORE.test(text.slice(0, match.index));
    try {
      const date = Temporal.PlainDate.from(
        { year: Number(year), month: Number(month), day: Number(day) },
        { overflow: "reject" },
      );
      const time =
        hour === undefined
          ? undefined
          : Temporal.PlainTime.from(
              { hour: Number(hour), minute: Number(minute), second: Number(second ?? 0) },
              { overflow: "reject" },
            );
      candidates.push({ text: phrase, deadline, date, ...(time ? { time } : {}) });
    } catch {
      return { ok: false, reason: `"${phrase}" is not a date` };
    }
  }
  return { ok: true, candidates, rest: text.replace(ISO_DATE, blank) };
}

/** "in 3 hours" is elapsed time: added to now exactly, so a DST change in between cannot shift it. */
function takeRelative(text: string, context: WhenContext): Taken {
  const candidates: Candidate[] = [];
  for (const match of text.matchAll(RELATIVE)) {
    const [phrase, half, count, unit, fromNowCount, fromNowUnit] = match;
    const number = half ? 0.5 : countOf(count ?? fromNowCount ?? "1");
    const perUnit = /^h/i.test(unit ?? fromNowUnit ?? "hour") ? 3_600_000 : 60_000;
    const deadline = DEADLINE_BEFORE.test(text.slice(0, match.index));
    candidates.push({ text: phrase, deadline, exactMs: context.now + number * (half ? 3_600_000 : perUnit) });
  }
  return { ok: true, candidates, rest: text.replace(RELATIVE, blank) };
}

function countOf(word: string): number {
  return NUMBER_WORDS[word.toLowerCase()] ?? Number(word);
}

/** chrono-node takes ~200 ms to load; only sentences with a time phrase need it. */
let chronoModule: typeof import("chrono-node") | undefined;
function chrono(): typeof import("chrono-node") {
  chronoModule ??= createRequire(import.meta.url)("chrono-node") as typeof import("chrono-node");
  return chronoModule;
}

function takeChronoPhrases(text: string, context: WhenContext): Taken {
  if (!/[a-z0-9]/i.test(text)) return { ok: true, candidates: [], rest: text };
  const offsetMinutes =
    Temporal.Instant.fromEpochMilliseconds(context.now).toZonedDateTimeISO(context.timeZone)
      .offsetNanoseconds / 60_000_000_000;
  const results = chrono().parse(
    text,
    { instant: new Date(context.now), timezone: offsetMinutes },
    { forwardDate: true },
  );
  // A zone abbreviation remind-zone.ts does not know ("9am CAT"): chrono read an offset loopd would drop.
  let zoneWord: string | undefined;
  const candidates = results.map((result): Candidate => {
    const start = result.start;
    const part = (name: "year" | "month" | "day" | "hour" | "minute" | "second") => start.get(name) ?? 0;
    const date = Temporal.PlainDate.from({ year: part("year"), month: part("month"), day: part("day") });
    if (start.isCertain("timezoneOffset")) zoneWord ??= result.text;
    const hasTime = start.isCertain("hour");
    const hasDay = start.isCertain("day") || start.isCertain("weekday");
    return {
      text: result.text,
      deadline: DEADLINE_BEFORE.test(text.slice(0, result.index)),
      date,
      ...(hasTime
        ? {
            time: Temporal.PlainTime.from({
              hour: part("hour"),
              minute: part("minute"),
              second: part("second"),
            }),
          }
        : {}),
      ...(hasTime && !hasDay ? { timeOnly: true } : {}),
    };
  });
  if (zoneWord !== undefined) {
    return {
      ok: false,
      reason: `"${zoneWord}" names a time zone loopd does not read; name it like Asia/Tokyo or America/New_York`,
    };
  }
  let rest = text;
  for (const result of results)
    rest = rest.slice(0, result.index) + blank(result.text) + rest.slice(result.index + result.text.length);
  // chrono skips what it cannot read ("at 25:00"); a clock time left over must not be dropped silently.
  const unread = LEFTOVER_CLOCK_TIME.exec(rest);
  if (unread) return { ok: false, reason: `"${unread[0]}" is not a time` };
  return { ok: true, candidates, rest };
}

/** One time per sentence; "at 5pm" may complete a date-only phrase ("the day before launch"). */
function mergeCandidates(candidates: Candidate[], context: WhenContext): TimeResult {
  if (candidates.length === 0) return { ok: true };
  let phrases = candidates;
  const timeOnly = candidates.filter((candidate) => candidate.timeOnly);
  const dateOnly = candidates.filter(
    (candidate) => candidate.exactMs === undefined && candidate.time === undefined,
  );
  if (candidates.length === 2 && timeOnly.length === 1 && dateOnly.length === 1) {
    const [date, time] = [dateOnly[0]!, timeOnly[0]!];
    phrases = [
      {
        ...date,
        text: `${time.text} ${date.text}`,
        deadline: date.deadline || time.deadline,
        ...(time.time ? { time: time.time } : {}),
      },
    ];
  }
  const placed = phrases.map((candidate) => ({
    epochMs:
      candidate.exactMs ??
      placeWall(candidate.date!, candidate.time ?? context.defaultTime, context.timeZone),
    deadline: candidate.deadline,
    text: candidate.text,
  }));
  const first = placed[0]!;
  if (placed.some((time) => time.epochMs !== first.epochMs)) {
    const texts = placed.slice(0, 3).map((time) => `"${time.text}"`);
    return { ok: false, reason: `more than one time (${texts.join(", ")}); give one` };
  }
  return { ok: true, time: { ...first, deadline: placed.some((time) => time.deadline) } };
}

/** Wall-clock times in a DST gap move forward; repeated ones take the earlier (as instant.ts). */
function placeWall(date: Temporal.PlainDate, time: Temporal.PlainTime, timeZone: string): number {
  return date.toPlainDateTime(time).toZonedDateTime(timeZone, { disambiguation: "compatible" })
    .epochMilliseconds;
}

/** Replaces a matched phrase with spaces, so later steps keep their positions and cannot reread it. */
function blank(phrase: string): string {
  return " ".repeat(phrase.length);
}
