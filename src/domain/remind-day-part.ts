/**
 * A part of the day with a clock time: "tonight at 11pm", "this evening at 7", "tomorrow
 * morning at 8:30", "at 10 tomorrow night", "friday afternoon at 3pm". Together they are one
 * time: the clock time on the day the day-part names. A bare hour is read inside the part
 * ("this evening at 7" is 19:00); am/pm, a leading zero or an hour past 12 is taken as
 * written and must fall inside the part, else the sentence contradicts itself ("this morning
 * at 9pm") and says so with LOOPD_REMIND_TIME_CONFLICT rather than picking one.
 *
 *   part        hours it covers
 *   morning     05:00–12:00
 *   afternoon   12:00–18:00
 *   evening     17:00–24:00
 *   night       17:00–05:00 (after midnight is the next calendar day: "tonight at 1am")
 *
 * Day-parts without a clock time are remind-when.ts's (tomorrow morning = 09:00, …).
 */
import { Temporal } from "temporal-polyfill";

export interface DayPartTime {
  text: string;
  index: number;
  date: Temporal.PlainDate;
  time: Temporal.PlainTime;
  /** "at 7 in the evening": no day of its own, so a date-only phrase ("tomorrow") may give it one. */
  timeOnly: boolean;
}

export type DayPartResult =
  | { ok: true; found: DayPartTime[]; rest: string }
  | { ok: false; reason: string; code?: "LOOPD_REMIND_TIME_CONFLICT"; hint?: string };

type Part = "morning" | "afternoon" | "evening" | "night";

interface Groups {
  tonight?: string;
  day?: string;
  part?: string;
  barePart?: string;
  night?: string;
  at?: string;
  hour: string;
  minute?: string;
  ampm?: string;
}

const WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
/** "tonight", "tomorrow evening", "friday in the morning"; "in the evening", "at night" name no day. */
const DAY = `(?:(?<tonight>tonight)|(?:on\\s+)?(?<day>this|today|tomorrow|${WEEKDAYS.join("|")}|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)\\s+(?:in\\s+the\\s+)?(?<part>morning|afternoon|evening|night)|in\\s+the\\s+(?<barePart>morning|afternoon|evening)|at\\s+(?<night>night))`;
const CLOCK = "(?<hour>\\d{1,2})(?::(?<minute>\\d{2}))?(?:\\s*(?<ampm>[ap])\\.?m\\b\\.?)?";
const PART_THEN_TIME = new RegExp(
  `\\b${DAY}(?:\\s*,?\\s*(?<at>at|around|@)\\s*|\\s+)${CLOCK}(?![\\w:])`,
  "gi",
);
const TIME_THEN_PART = new RegExp(
  `(?:\\b(?<at>at|around|@)\\s*)?(?<![\\w:])${CLOCK}\\s*,?\\s+${DAY}\\b`,
  "gi",
);

const RANGES: Record<Part, { from: number; to: number; words: string }> = {
  morning: { from: 5 * 60, to: 12 * 60, words: "05:00–12:00" },
  afternoon: { from: 12 * 60, to: 18 * 60 - 1, words: "12:00–18:00" },
  evening: { from: 17 * 60, to: 24 * 60 - 1, words: "17:00–24:00" },
  night: { from: 17 * 60, to: 24 * 60 - 1, words: "17:00–05:00" },
};

export function takeDayPartTimes(text: string, now: number, timeZone: string): DayPartResult {
  const found: DayPartTime[] = [];
  let rest = text;
  const today = Temporal.Instant.fromEpochMilliseconds(now).toZonedDateTimeISO(timeZone).toPlainDate();
  const read = (match: RegExpExecArray): DayPartResult | undefined => {
    const parts = match.groups as unknown as Groups;
    const phrase = match[0].trim();
    // "tonight 11" is not a time; "tonight at 11", "tonight 11pm", "tonight 23:00" are.
    if (parts.at === undefined && parts.minute === undefined && parts.ampm === undefined) return undefined;
    const part = (
      parts.tonight || parts.night ? "night" : (parts.part ?? parts.barePart)!.toLowerCase()
    ) as Part;
    const clock = wallClock(parts, part);
    if (!clock) return { ok: false, reason: `"${phrase}" is not a time` };
    const minutes = clock.hour * 60 + clock.minute;
    const range = RANGES[part];
    const afterMidnight = part === "night" && minutes < 5 * 60;
    if (!afterMidnight && (minutes < range.from || minutes > range.to)) {
      const time = Temporal.PlainTime.from(clock).toString({ smallestUnit: "minute" });
      return {
        ok: false,
        code: "LOOPD_REMIND_TIME_CONFLICT",
        reason: `"${phrase}" contradicts itself: ${time} is not in the ${part} (${range.words})`,
        hint: `Say "${suggestion(parts, minutes)} at ${time}" or just "at ${time}".`,
      };
    }
    const word = parts.tonight ? "today" : (parts.day?.toLowerCase() ?? "today");
    const time = Temporal.PlainTime.from(clock);
    let date = dayOf(word, today).add({ days: afterMidnight ? 1 : 0 });
    const passed = () => date.toPlainDateTime(time).toZonedDateTime(timeZone).epochMilliseconds < now;
    // "friday evening at 7" said on Friday at 20:00 means next Friday, as chrono reads "friday 7pm".
    if (!["this", "today", "tomorrow"].includes(word) && passed()) date = date.add({ days: 7 });
    // "at 7 in the evening" names no day: the next 19:00, and "tomorrow" may still give the day.
    const timeOnly = parts.day === undefined && parts.tonight === undefined;
    if (timeOnly && passed()) date = date.add({ days: 1 });
    found.push({ text: phrase, index: match.index ?? 0, date, time, timeOnly });
    const start = (match.index ?? 0) + match[0].indexOf(phrase);
    rest = rest.slice(0, start) + " ".repeat(phrase.length) + rest.slice(start + phrase.length);
    return undefined;
  };
  for (const match of text.matchAll(PART_THEN_TIME)) {
    const failed = read(match);
    if (failed) return failed;
  }
  for (const match of rest.matchAll(TIME_THEN_PART)) {
    const failed = read(match);
    if (failed) return failed;
  }
  return { ok: true, found, rest };
}

/** The 24-hour clock a phrase means: am/pm and 24-hour times as written, bare hours inside the part. */
function wallClock(
  parts: { hour: string; minute?: string; ampm?: string },
  part: Part,
): { hour: number; minute: number } | undefined {
  let hour = Number(parts.hour);
  const minute = Number(parts.minute ?? 0);
  if (minute > 59) return undefined;
  if (parts.ampm !== undefined) {
    if (hour < 1 || hour > 12) return undefined;
    hour = (hour % 12) + (parts.ampm.toLowerCase() === "p" ? 12 : 0);
    return { hour, minute };
  }
  if (hour > 23) return undefined;
  // "07:00" and "19:00" say which half of the day; "7" leaves it to the part.
  const explicit = hour === 0 || hour > 12 || parts.hour.startsWith("0");
  if (!explicit && part !== "morning") {
    if (hour < 12) hour += 12;
    else if (part !== "afternoon") hour = 0;
  }
  return { hour, minute };
}

function dayOf(word: string, today: Temporal.PlainDate): Temporal.PlainDate {
  if (word === "this" || word === "today") return today;
  if (word === "tomorrow") return today.add({ days: 1 });
  const weekday = WEEKDAYS.findIndex((name) => name.startsWith(word.slice(0, 3))) + 1;
  return today.add({ days: (weekday - today.dayOfWeek + 7) % 7 });
}

/** "tonight", "tomorrow morning", "in the afternoon": the part the time belongs to, on the same day. */
function suggestion(parts: Groups, minutes: number): string {
  const part =
    minutes >= 5 * 60 && minutes < 12 * 60
      ? "morning"
      : minutes >= 12 * 60 && minutes < 17 * 60
        ? "afternoon"
        : minutes >= 17 * 60 && minutes < 21 * 60
          ? "evening"
          : "night";
  const day = parts.tonight ? "this" : parts.day;
  if (day === undefined) return part === "night" ? "at night" : `in the ${part}`;
  if (part === "night" && /^(?:this|today)$/i.test(day)) return "tonight";
  return `${day} ${part}`;
}
