/**
 * A time zone named in a `loopd remind` sentence ("tomorrow at 9am America/New_York",
 * "friday 17:00 CET", "5pm Berlin time"). The zone the sentence names sets the plan's zone;
 * the caller's zone (`--tz`, else the machine's) is only the default.
 *
 * What counts as a zone, and where:
 *   IANA names (Europe/Berlin, America/New_York, Etc/GMT+5)   anywhere; they cannot be anything else
 *   abbreviations (UTC, GMT, Z, ET, PST, CET, JST, …)         right after a clock time or day-part
 *                                                            ("9am ET", "17:00Z", "at 9 (CET)",
 *                                                            "tomorrow night PT"), as "in UTC" /
 *                                                            "UTC time", or in capitals on their own
 *                                                            (3+ letters: "CEST"; "ET", "PT" only
 *                                                            next to a time)
 *   UTC+2, GMT-5                                             whole-hour offsets (Etc/GMT∓N)
 *   Pacific / Eastern / Central / Mountain time              the US zones
 *   "<City> time" (Berlin time, New York time)               the one IANA zone with that city
 * So "ET" inside a word, "CT" as a name, "est" in prose are never zones.
 *
 * Abbreviations name a region's zone, not a fixed offset: "PST" in July is read as Los Angeles
 * time (PDT), which is what people mean. CET/CEST read as Europe/Berlin (Paris, Rome, Madrid
 * and the rest of central Europe keep the same clock). Abbreviations that name more than one
 * zone (IST, BST, AST) are an error that lists the choices, never a guess.
 */
import { isIanaTimeZone } from "./time-zone.js";

export interface NamedZone {
  /** Canonical IANA identifier. */
  id: string;
  /** The words as written. */
  text: string;
  /** An abbreviation or "Pacific time": the region's clock, so another zone keeping the same clock agrees with it. */
  loose: boolean;
}

export type ZoneFailureCode = "LOOPD_REMIND_AMBIGUOUS_ZONE" | "LOOPD_REMIND_ZONE_CONFLICT";

export type ZoneResult =
  | { ok: true; zone?: NamedZone; rest: string }
  | { ok: false; reason: string; code: ZoneFailureCode; hint?: string };

const ABBREVIATIONS: Record<string, string> = {
  UTC: "UTC",
  GMT: "UTC",
  Z: "UTC",
  PT: "America/Los_Angeles",
  PST: "America/Los_Angeles",
  PDT: "America/Los_Angeles",
  MT: "America/Denver",
  MST: "America/Denver",
  MDT: "America/Denver",
  CT: "America/Chicago",
  CST: "America/Chicago",
  CDT: "America/Chicago",
  ET: "America/New_York",
  EST: "America/New_York",
  EDT: "America/New_York",
  AKST: "America/Anchorage",
  AKDT: "America/Anchorage",
  HST: "Pacific/Honolulu",
  WET: "Europe/Lisbon",
  WEST: "Europe/Lisbon",
  CET: "Europe/Berlin",
  CEST: "Europe/Berlin",
  EET: "Europe/Athens",
  EEST: "Europe/Athens",
  MSK: "Europe/Moscow",
  JST: "Asia/Tokyo",
  KST: "Asia/Seoul",
  HKT: "Asia/Hong_Kong",
  SGT: "Asia/Singapore",
  AEST: "Australia/Sydney",
  AEDT: "Australia/Sydney",
  NZST: "Pacific/Auckland",
  NZDT: "Pacific/Auckland",
};

const AMBIGUOUS: Record<string, string[]> = {
  IST: ["Asia/Kolkata (India)", "Europe/Dublin (Ireland)", "Asia/Jerusalem (Israel)"],
  BST: ["Europe/London (British Summer Time)", "Asia/Dhaka (Bangladesh)"],
  AST: ["America/Halifax (Atlantic)", "Asia/Riyadh (Arabia)"],
};

const SPELLED: Record<string, string> = {
  pacific: "America/Los_Angeles",
  mountain: "America/Denver",
  central: "America/Chicago",
  eastern: "America/New_York",
  "central european": "Europe/Berlin",
};

const ABBREVIATION_WORDS = [...Object.keys(ABBREVIATIONS), ...Object.keys(AMBIGUOUS)]
  .sort((a, b) => b.length - a.length)
  .join("|");
/** A clock time a zone may follow: 17:00, 9am, 9 a.m., "at 9", noon, an ISO time. */
const CLOCK =
  "(?:\\d{1,2}:\\d{2}(?::\\d{2})?(?:\\s*[ap]\\.?m\\b\\.?)?|\\b\\d{1,2}\\s*[ap]\\.?m\\b\\.?|\\b(?:at|by|before|until|till|around|@)\\s+\\d{1,2}|\\b(?:noon|midnight|tonight|today|tomorrow|morning|afternoon|evening|night))";
const OFFSET = "(?:UTC|GMT)\\s*([+-])\\s*(\\d{1,2})(?::?00)?";
const AFTER_CLOCK = new RegExp(
  `(?<=${CLOCK})(\\s*(?:in\\s+)?)\\(?(?:${OFFSET}|(${ABBREVIATION_WORDS}))\\)?(?![\\w/+-])`,
  "gi",
);
/** Capitals only: "in UTC", "ET time", and a 3+ letter abbreviation on its own ("(CET)"). */
const IN_OR_TIME = new RegExp(
  `\\bin\\s+(${ABBREVIATION_WORDS})\\b|\\b(${ABBREVIATION_WORDS})\\s+time\\b|(?<![\\w/-])([A-Z]{3,4})(?![\\w/+-])`,
  "g",
);
const IANA = /(?<![\w/.-])([A-Za-z]+(?:_[A-Za-z]+)*(?:\/[A-Za-z0-9_+-]+){1,2})(?![\w/])/g;
const SPELLED_TIME =
  /\b(pacific|mountain|central european|central|eastern)\s+(?:(?:standard|daylight|summer)\s+)?time\b/gi;
const CITY_TIME = /\b([A-Z][a-z]+(?:\s+[A-Z][a-z]+){0,2})\s+time\b/g;

interface Found extends NamedZone {
  index: number;
  length: number;
}

/** Finds the zone(s) named in `text`; returns the text with them blanked out. */
export function findZone(text: string): ZoneResult {
  const found: Found[] = [];
  const ambiguous: string[] = [];
  const add = (index: number, length: number, id: string, loose: boolean) => {
    if (found.some((zone) => index < zone.index + zone.length && zone.index < index + length)) return;
    found.push({ index, length, id: spelling(id), text: text.slice(index, index + length).trim(), loose });
  };
  const abbreviation = (word: string, index: number, length: number, afterClock: boolean) => {
    const upper = word.toUpperCase();
    // Away from a clock time, "et", "pt", "z" in lower case are words or letters, not zones.
    if (!afterClock && upper.length <= 2 && word !== upper) return;
    if (AMBIGUOUS[upper]) ambiguous.push(upper);
    else if (ABBREVIATIONS[upper]) add(index, length, ABBREVIATIONS[upper]!, true);
  };
  for (const match of text.matchAll(IANA)) {
    const name = match[1]!;
    if (isIanaTimeZone(name)) add(match.index, match[0].length, name, false);
  }
  for (const match of text.matchAll(AFTER_CLOCK)) {
    const [whole, lead = "", sign, hours, word] = match;
    const index = match.index + lead.length;
    const length = whole.length - lead.length;
    if (word !== undefined) abbreviation(word, index, length, true);
    else {
      // Etc/GMT signs are inverted: UTC+2 is Etc/GMT-2. UTC+15 or UTC-13 is no zone at all.
      const id = Number(hours) === 0 ? "UTC" : `Etc/GMT${sign === "+" ? "-" : "+"}${Number(hours)}`;
      if (isIanaTimeZone(id)) add(index, length, id, false);
    }
  }
  for (const match of text.matchAll(IN_OR_TIME)) {
    const word = match[1] ?? match[2] ?? match[3]!;
    abbreviation(word, match.index, match[0].length, false);
  }
  for (const match of text.matchAll(SPELLED_TIME)) {
    add(match.index, match[0].length, SPELLED[match[1]!.toLowerCase()]!, true);
  }
  for (const match of text.matchAll(CITY_TIME)) {
    const id = zoneOfCity(match[1]!);
    if (id) add(match.index, match[0].length, id, false);
  }
  if (ambiguous.length > 0) {
    const word = ambiguous[0]!;
    return {
      ok: false,
      code: "LOOPD_REMIND_AMBIGUOUS_ZONE",
      reason: `"${word}" names more than one time zone: ${AMBIGUOUS[word]!.join(", ")}`,
      hint: `Name the zone instead of "${word}": ${AMBIGUOUS[word]!.map((choice) => choice.split(" ")[0]).join(", ")} (in the sentence or with --tz).`,
    };
  }
  const ids = [...new Set(found.map((zone) => canonical(zone.id)))];
  if (ids.length > 1) {
    return {
      ok: false,
      code: "LOOPD_REMIND_ZONE_CONFLICT",
      reason: `the sentence names more than one time zone (${found.map((zone) => `"${zone.text}"`).join(", ")})`,
      hint: "Name one zone for the whole sentence.",
    };
  }
  if (found.length === 0) return { ok: true, rest: text };
  let rest = text;
  for (const zone of found)
    rest = rest.slice(0, zone.index) + " ".repeat(zone.length) + rest.slice(zone.index + zone.length);
  const first = found.sort((a, b) => a.index - b.index)[0]!;
  // Loose only when every mention was loose: one exact IANA name settles it.
  const loose = found.every((zone) => zone.loose);
  return { ok: true, zone: { id: first.id, text: first.text, loose }, rest };
}

/** The runtime's canonical spelling, so "europe/berlin" and "Europe/Berlin" are one zone. */
export function canonical(zone: string): string {
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return zone;
  }
}

/** The runtime's casing, but the name as written when the runtime knows it by an older alias (Asia/Kolkata, not Asia/Calcutta). */
function spelling(zone: string): string {
  const runtime = canonical(zone);
  return runtime.toLowerCase() === zone.toLowerCase() ? runtime : zone;
}

let cities: Map<string, string | null> | undefined;

/** "New York" → America/New_York; null for a city that names more than one zone. */
function zoneOfCity(words: string): string | undefined {
  if (!cities) {
    cities = new Map();
    for (const zone of Intl.supportedValuesOf("timeZone")) {
      const city = zone.split("/").pop()!.replace(/_/g, " ").toLowerCase();
      if (!zone.includes("/") || city.length < 3) continue;
      cities.set(city, cities.has(city) ? null : zone);
    }
    // ICU keeps some old spellings; these are the names people type.
    for (const [city, zone] of [
      ["kolkata", "Asia/Kolkata"],
      ["kyiv", "Europe/Kyiv"],
      ["ho chi minh", "Asia/Ho_Chi_Minh"],
    ] as const)
      if (isIanaTimeZone(zone)) cities.set(city, zone);
  }
  return cities.get(words.toLowerCase()) ?? undefined;
}
