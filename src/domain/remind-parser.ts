/**
 * The deterministic reader behind `loopd remind "<sentence>"` (loopd#7): a sentence in, a
 * RemindPlan or a short reason out. Pure and total — no I/O, never throws — so the CLI can
 * try it first and fall back to a model only when it says why it could not read a sentence.
 *
 * Steps: normalise → find the subject (remind-subject.ts) → lift out the routine to run, the
 * retries and the cadence → read the condition and its negation → find the time
 * (remind-when.ts) → assemble and validate against remindPlanSchema.
 */
import { Temporal } from "temporal-polyfill";
import { DEFAULT_TEST_RETRIES } from "./check.js";
import { type CheckConfig, defaultWatchBackoff, defaultWatchEvery } from "./config-checks.js";
import { parseDuration } from "./duration.js";
import { conditionCheck, type Intent, readCondition } from "./remind-condition.js";
import { type ParseResult, type RemindPlan, type RemindWhen, remindPlanSchema } from "./remind-plan.js";
import { findSubject, type TestRunner } from "./remind-subject.js";
import { type FoundTime, findTime, formatInstant } from "./remind-when.js";
import { canonical, findZone, type NamedZone } from "./remind-zone.js";
import { isIanaTimeZone } from "./time-zone.js";

export interface RemindContext {
  /** Epoch ms the sentence is read at. */
  now: number;
  /** IANA zone the user's words are read in, unless the sentence names one. */
  timeZone: string;
  /**
   * The zone was given by the user (`--tz`), not guessed from the machine: a sentence naming
   * another zone is then LOOPD_REMIND_ZONE_CONFLICT rather than a silent pick.
   */
  timeZoneGiven?: boolean;
  /** Named dates from config: "2026-12-10" or "2026-12-10T17:00". */
  dates?: Record<string, string>;
  /** Time of day for date-only phrases ("tomorrow", "the day before launch"); default 09:00. */
  defaultTime?: string;
  /** Cadence of `by` and until-satisfied watches; default 5m for CI status, else 2h. */
  every?: string;
  /** Detected by the caller from the repo; picks the command for JavaScript test files. */
  testRunner?: TestRunner | null;
  /** Test retries when the sentence gives no number; default 2. */
  retries?: number;
}

/** Longer than any reminder a person types; bounds the work on pasted junk. */
export const MAX_SENTENCE_LENGTH = 1000;

const ROUTINE_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** "and run fix-flaky", "then start routine fix-ci", "run fix-ci if not". */
const ACTION =
  /(?:\b(?:and\s+then|and|then)\s+)?(?<![\w-])(?:run|start|trigger|kick\s+off)\s+(?:the\s+)?(?:routine\s+)?(?!it\b|the\b|this\b|that\b|them\b|again\b|tests?\b|a\b)([A-Za-z0-9][\w-]*)(?:\s+routine)?(?:\s+(?:if\s+not|if\s+it\s+(?:isn't|is\s+not|doesn't|does\s+not|fails)|otherwise|if\s+so))?\b/i;
/** "after retry", "after a retry", "after 3 retries", "on retry", "after retrying". */
const RETRY =
  /\b(?:after|on|with)\s+(?:(a|one|two|three|four|five|\d{1,3})\s+)?(?:re-?tr(?:y|ies|ying)|re-?runs?|re-?running)\b/i;
const RETRY_COUNTS: Record<string, number> = { a: 1, one: 1, two: 2, three: 3, four: 4, five: 5 };
/** "every 30 minutes", "every hour", "hourly": the cadence of a watch. */
const EVERY =
  /\b(?:every\s+(?:(\d{1,4})\s*(minutes?|mins?|m|hours?|hrs?|h|days?|d)|(minute|hour|day))|(hourly|daily))\b/i;
const UNIT_LETTER: Record<string, string> = {
  minute: "m",
  min: "m",
  m: "m",
  hour: "h",
  hr: "h",
  h: "h",
  day: "d",
  d: "d",
};

interface Settings {
  now: number;
  timeZone: string;
  timeZoneGiven: boolean;
  dates: Record<string, string>;
  defaultTime: Temporal.PlainTime;
  /** Unset: the check's default (`defaultWatchEvery`). */
  every: string | undefined;
  testRunner: TestRunner | null;
  retries: number;
}

export function parseReminder(sentence: string, context: RemindContext): ParseResult {
  const settings = readSettings(context);
  if (!settings.ok) return settings;
  if (typeof sentence !== "string" || sentence.trim() === "") return { ok: false, reason: "empty sentence" };
  if (sentence.length > MAX_SENTENCE_LENGTH * 4) return { ok: false, reason: tooLong() };
  const text = normaliseSentence(sentence);
  if (text === "") return { ok: false, reason: "empty sentence" };
  if (text.length > MAX_SENTENCE_LENGTH) return { ok: false, reason: tooLong() };

  const found = findSubject(text);
  if (!found.ok) return found;
  const action = takeAction(found.masked);
  if (!action.ok) return action;
  const retry = takeRetry(action.rest, settings.retries);
  if (!retry.ok) return retry;
  const every = takeEvery(retry.rest, settings.every);
  if (!every.ok) return every;

  const zone = takeZone(every.rest, settings);
  if (!zone.ok) return zone;
  const read: Settings = { ...settings, timeZone: zone.timeZone };

  const condition = readCondition(zone.rest);
  if (!condition.ok) return condition;
  const check = conditionCheck(condition.condition, found.subject, {
    runner: settings.testRunner,
    retries: retry.retries ?? settings.retries,
    afterRetry: retry.afterRetry,
    since: formatInstant(settings.now, zone.timeZone),
  });
  if (!check.ok) return check;

  const time = findTime(withoutQuotes(zone.rest), read);
  if (!time.ok) return time;
  const agreed = agreeWithGivenZone(zone, time.time?.epochMs ?? settings.now, settings);
  if (!agreed.ok) return agreed;
  read.timeZone = agreed.timeZone;
  const when = chooseWhen(
    condition.condition.intent,
    check.positive,
    time.time,
    retry.afterRetry,
    every.every !== undefined ? { every: every.every } : defaultCadence(check.check),
    read,
  );
  if (!when.ok) return when;

  const plan: RemindPlan = {
    when: when.when,
    subject: found.subject.text,
    check: check.check,
    notifyOn: when.notifyOn,
    ...(action.run !== undefined ? { run: action.run } : {}),
    timeZone: read.timeZone,
  };
  // The schema is the contract with planToRoutine and the model fallback: a plan that fails it
  // is a bug here, reported as a reason rather than handed on.
  const valid = remindPlanSchema.safeParse(plan);
  if (!valid.success)
    return { ok: false, reason: `could not build a valid plan: ${valid.error.issues[0]?.message}` };
  return { ok: true, plan: valid.data };
}

function readSettings(context: RemindContext): ({ ok: true } & Settings) | { ok: false; reason: string } {
  if (!Number.isFinite(context.now)) return { ok: false, reason: "no valid reference time" };
  if (!isIanaTimeZone(context.timeZone))
    return { ok: false, reason: `"${context.timeZone}" is not a time zone` };
  const time = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(context.defaultTime ?? "09:00");
  if (!time) return { ok: false, reason: `default time "${context.defaultTime}" is not HH:MM` };
  const every = context.every;
  if (every !== undefined && !parseDuration(every).ok)
    return { ok: false, reason: `"${every}" is not a duration` };
  const retries = context.retries ?? DEFAULT_TEST_RETRIES;
  if (!Number.isInteger(retries) || retries < 1 || retries > 10) {
    return { ok: false, reason: "retries must be between 1 and 10" };
  }
  return {
    ok: true,
    now: context.now,
    timeZone: context.timeZone,
    timeZoneGiven: context.timeZoneGiven === true,
    dates: context.dates ?? {},
    defaultTime: Temporal.PlainTime.from({ hour: Number(time[1]), minute: Number(time[2]) }),
    every,
    testRunner: context.testRunner ?? null,
    retries,
  };
}

type ZoneTaken =
  | { ok: true; timeZone: string; named?: NamedZone; rest: string }
  | Extract<ParseResult, { ok: false }>;

/** The zone the sentence names (remind-zone.ts), blanked out of the text; else the caller's. */
function takeZone(text: string, settings: Settings): ZoneTaken {
  const unquoted = withoutQuotes(text);
  const found = findZone(unquoted);
  if (!found.ok) return found;
  if (!found.zone) return { ok: true, timeZone: settings.timeZone, rest: text };
  // Blank the zone's words in the text as written (quotes kept for the condition reader).
  const rest = text
    .split("")
    .map((char, index) => (found.rest[index] === " " && unquoted[index] !== " " ? " " : char))
    .join("");
  return { ok: true, timeZone: found.zone.id, named: found.zone, rest };
}

/**
 * `--tz` and the sentence must name the same zone. An abbreviation names a region's clock, so
 * "5pm CET" with `--tz Europe/Paris` agrees (same offset at that time) and keeps Paris.
 */
function agreeWithGivenZone(
  zone: Extract<ZoneTaken, { ok: true }>,
  epochMs: number,
  settings: Settings,
): { ok: true; timeZone: string } | Extract<ParseResult, { ok: false }> {
  const named = zone.named;
  if (!named || !settings.timeZoneGiven || canonical(named.id) === canonical(settings.timeZone))
    return { ok: true, timeZone: zone.timeZone };
  const offset = (timeZone: string) =>
    Temporal.Instant.fromEpochMilliseconds(epochMs).toZonedDateTimeISO(timeZone).offset;
  if (named.loose && offset(named.id) === offset(settings.timeZone))
    return { ok: true, timeZone: settings.timeZone };
  return {
    ok: false,
    code: "LOOPD_REMIND_ZONE_CONFLICT",
    reason: `the sentence says "${named.text}" (${named.id}, ${offset(named.id)}) but --tz is ${settings.timeZone} (${offset(settings.timeZone)})`,
    hint: `Drop --tz to read it in ${named.id}, or drop "${named.text}" from the sentence to read it in ${settings.timeZone}.`,
  };
}

function tooLong(): string {
  return `too long for a reminder (at most ${MAX_SENTENCE_LENGTH} characters)`;
}

/** Control characters become spaces and typographic quotes plain ones, so "isn’t" reads as "isn't". */
export function normaliseSentence(sentence: string): string {
  return sentence
    .replace(/[\p{Cc}\u00a0\u2028\u2029]/gu, " ")
    .replace(/[\u2018\u2019\u02bc]/g, "'")
    .replace(/[\u201c\u201d]/g, '"')
    .replace(/\s+/g, " ")
    .trim();
}

type ActionResult = { ok: true; run?: string; rest: string } | { ok: false; reason: string };

function takeAction(text: string): ActionResult {
  const match = ACTION.exec(text);
  if (!match) return { ok: true, rest: text };
  const name = match[1] ?? "";
  if (!ROUTINE_NAME.test(name)) {
    return { ok: false, reason: `"${name}" is not a routine name (lowercase letters, digits and dashes)` };
  }
  return { ok: true, run: name, rest: blankSpan(text, match.index, match[0].length) };
}

type RetryResult =
  | { ok: true; afterRetry: boolean; retries?: number; rest: string }
  | { ok: false; reason: string };

/** "after retry" keeps the configured retries; "after a retry" means one; "after 3 retries" three. */
function takeRetry(text: string, configured: number): RetryResult {
  const match = RETRY.exec(text);
  if (!match) return { ok: true, afterRetry: false, rest: text };
  const count = match[1]?.toLowerCase();
  const retries = count === undefined ? configured : (RETRY_COUNTS[count] ?? Number(count));
  if (retries < 1 || retries > 10) return { ok: false, reason: "retries must be between 1 and 10" };
  return { ok: true, afterRetry: true, retries, rest: blankSpan(text, match.index, match[0].length) };
}

type EveryResult = { ok: true; every: string | undefined; rest: string } | { ok: false; reason: string };

function takeEvery(text: string, configured: string | undefined): EveryResult {
  const match = EVERY.exec(text);
  if (!match) return { ok: true, every: configured, rest: text };
  const [, count, unit, single, adverb] = match;
  const unitWord = (unit ?? single ?? (adverb?.toLowerCase() === "daily" ? "day" : "hour")).toLowerCase();
  const letter = UNIT_LETTER[unitWord.replace(/s$/, "")] ?? "h";
  const every = `${count ?? "1"}${letter}`;
  if (!parseDuration(every).ok) return { ok: false, reason: `"${match[0]}" is not a cadence loopd can keep` };
  return { ok: true, every, rest: blankSpan(text, match.index, match[0].length) };
}

/**
 * Quoted text ("contains 'Friday'") is content, not a time. A quote opens after a non-word
 * character and closes before one, so the apostrophes of "isn't … it's" never pair up.
 */
function withoutQuotes(text: string): string {
  return text.replace(/(?<!\w)(["'])(?:(?!\1).){1,200}?\1(?!\w)/g, blankText);
}

type WhenChoice =
  | { ok: true; when: RemindWhen; notifyOn: RemindPlan["notifyOn"] }
  | { ok: false; reason: string };

/**
 * How the intent word and the time combine:
 *   "tell me when X is merged"            until-satisfied, notify when satisfied
 *   "… by/before <time>"                  by (watch until the deadline)
 *   "… after retry" (tests, commands)     after-retry at the time given, or now
 *   "<time> … ping me if X isn't …"       at, notify when the stated condition holds
 *   "<time> check X" (no if/when)         at, notify when X is not done
 */
function chooseWhen(
  intent: Intent,
  positive: boolean,
  time: FoundTime | undefined,
  afterRetry: boolean,
  cadence: Cadence,
  settings: Settings,
): WhenChoice {
  const iso = (epochMs: number) => formatInstant(epochMs, settings.timeZone);
  const notifyOn =
    intent === "when"
      ? "satisfied"
      : intent === "if"
        ? positive
          ? "satisfied"
          : "unsatisfied"
        : positive
          ? "unsatisfied"
          : "satisfied";
  if (time?.deadline)
    return { ok: true, when: { mode: "by", deadline: iso(time.epochMs), ...cadence }, notifyOn };
  if (afterRetry)
    return { ok: true, when: { mode: "after-retry", at: iso(time?.epochMs ?? settings.now) }, notifyOn };
  if (time) return { ok: true, when: { mode: "at", at: iso(time.epochMs) }, notifyOn };
  if (intent === "when") return { ok: true, when: { mode: "until-satisfied", ...cadence }, notifyOn };
  return { ok: false, reason: 'no time (say when: "tomorrow", "friday 3pm", "by launch", "in 3 hours")' };
}

/** How often a watch looks: as the sentence (or `remind.every`) says, else the check's default. */
interface Cadence {
  every: string;
  backoff?: string;
}

function defaultCadence(check: CheckConfig): Cadence {
  const backoff = defaultWatchBackoff(check);
  return { every: defaultWatchEvery(check), ...(backoff !== undefined ? { backoff } : {}) };
}

function blankSpan(text: string, start: number, length: number): string {
  return `${text.slice(0, start)}${" ".repeat(length)}${text.slice(start + length)}`;
}

function blankText(text: string): string {
  return " ".repeat(text.length);
}
