/**
 * Time zones named in a `loopd remind` sentence (remind-zone.ts): the zone sets the plan's
 * zone and the instant's offset, on both sides of UTC and across DST changes; ambiguous
 * abbreviations and a disagreeing `--tz` are coded errors; words that only look like zones
 * are left alone.
 */
import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../test/helpers/prng.js";
import type { CheckConfig } from "./config-checks.js";
import { parseReminder, type RemindContext } from "./remind-parser.js";
import { remindPlanSchema } from "./remind-plan.js";

/** Friday 4 December 2026, 15:00 UTC; the machine's zone is UTC unless a row says otherwise. */
const NOW = Date.parse("2026-12-04T15:00:00Z");
const machine: RemindContext = { now: NOW, timeZone: "UTC" };
const PR = "https://github.com/acme/web/pull/8";
const ISSUE = "https://github.com/acme/web/issues/34";
const merged: CheckConfig = { github: { pr: PR, state: "merged" } };

interface Row {
  sentence: string;
  context?: RemindContext;
  at: string;
  /** "by …": a deadline, watched every 2h until then. */
  deadline?: boolean;
  timeZone: string;
  check?: CheckConfig;
  notifyOn?: "satisfied" | "unsatisfied";
}

const NAMED: Row[] = [
  {
    sentence: `tomorrow at 9am America/New_York check ${PR} and tell me if it isn't merged`,
    at: "2026-12-05T09:00:00-05:00",
    timeZone: "America/New_York",
    notifyOn: "unsatisfied",
  },
  {
    sentence: `on friday at 17:00 Europe/Berlin ping me if ${ISSUE} is still open`,
    at: "2026-12-04T17:00:00+01:00",
    timeZone: "Europe/Berlin",
    check: { github: { issue: ISSUE, state: "closed" } },
  },
  {
    // 15:00 UTC is already Saturday 00:00 in Tokyo: "tomorrow" there is Sunday.
    sentence: `tomorrow 10:30 JST check ${PR} is merged`,
    at: "2026-12-06T10:30:00+09:00",
    timeZone: "Asia/Tokyo",
  },
  {
    sentence: `monday 8am PT ping me if ${PR} isn't approved`,
    at: "2026-12-07T08:00:00-08:00",
    timeZone: "America/Los_Angeles",
    check: { github: { pr: PR, state: "approved" } },
  },
  {
    // Sydney keeps daylight time in December (+11).
    sentence: `tomorrow 6pm Sydney time, check ${PR} is merged`,
    at: "2026-12-06T18:00:00+11:00",
    timeZone: "Australia/Sydney",
  },
  {
    sentence: `tomorrow at 9am (Asia/Kolkata) check ${PR} is merged`,
    context: { now: NOW, timeZone: "America/Chicago" },
    at: "2026-12-05T09:00:00+05:30",
    timeZone: "Asia/Kolkata",
  },
  {
    sentence: `tomorrow 17:00Z check ${PR} is merged`,
    context: { now: NOW, timeZone: "Europe/Berlin" },
    at: "2026-12-05T17:00:00+00:00",
    timeZone: "UTC",
  },
  {
    sentence: `tomorrow at 5pm UTC-3 check ${PR} is merged`,
    at: "2026-12-05T17:00:00-03:00",
    timeZone: "Etc/GMT+3",
  },
  {
    sentence: `check ${PR} tomorrow at noon Eastern time, ping me if it isn't merged`,
    at: "2026-12-05T12:00:00-05:00",
    timeZone: "America/New_York",
    notifyOn: "unsatisfied",
  },
  {
    sentence: `by friday 5pm CET let me know if ${PR} isn't merged`,
    context: { now: Date.parse("2026-12-01T08:00:00Z"), timeZone: "Asia/Tokyo" },
    at: "2026-12-04T17:00:00+01:00",
    deadline: true,
    timeZone: "Europe/Berlin",
  },
  {
    sentence: `at 10 tomorrow night CET check ${PR} is merged`,
    at: "2026-12-05T22:00:00+01:00",
    timeZone: "Europe/Berlin",
  },
  {
    // Right after a clock time an abbreviation is read in any case.
    sentence: `tomorrow at 9am est check ${PR} is merged`,
    at: "2026-12-05T09:00:00-05:00",
    timeZone: "America/New_York",
  },
];

const ACROSS_DST: Row[] = [
  {
    // Berlin springs forward in the night of 2027-03-28: 09:00 that day is +02:00.
    sentence: `tomorrow at 9am Europe/Berlin check ${PR} is merged`,
    context: { now: Date.parse("2027-03-27T10:00:00Z"), timeZone: "UTC" },
    at: "2027-03-28T09:00:00+02:00",
    timeZone: "Europe/Berlin",
  },
  {
    // New York springs forward on 2027-03-14 at 02:00.
    sentence: `tomorrow at 9am ET ping me if ${PR} isn't merged`,
    context: { now: Date.parse("2027-03-13T15:00:00Z"), timeZone: "Asia/Tokyo" },
    at: "2027-03-14T09:00:00-04:00",
    timeZone: "America/New_York",
  },
  {
    // "EST" read loosely as New York's clock: in summer that is EDT, -04:00.
    sentence: `tomorrow 8:30am EST check ${PR} is merged`,
    context: { now: Date.parse("2027-07-01T12:00:00Z"), timeZone: "UTC" },
    at: "2027-07-02T08:30:00-04:00",
    timeZone: "America/New_York",
  },
  {
    // Berlin falls back on 2027-10-31: the same 09:00 is +01:00 again.
    sentence: `on 2027-10-31 at 09:00 CET check ${PR} is merged`,
    context: { now: Date.parse("2027-10-30T10:00:00Z"), timeZone: "America/Los_Angeles" },
    at: "2027-10-31T09:00:00+01:00",
    timeZone: "Europe/Berlin",
  },
  {
    // Sydney falls back on 2027-04-04 (03:00 → 02:00): +10:00 after it.
    sentence: `tomorrow at 9am Australia/Sydney check ${PR} is merged`,
    context: { now: Date.parse("2027-04-03T00:00:00Z"), timeZone: "UTC" },
    at: "2027-04-04T09:00:00+10:00",
    timeZone: "Australia/Sydney",
  },
];

const GIVEN: Row[] = [
  {
    // --tz and the sentence name the same zone.
    sentence: `tomorrow at 9am ET check ${PR} is merged`,
    context: { now: NOW, timeZone: "America/New_York", timeZoneGiven: true },
    at: "2026-12-05T09:00:00-05:00",
    timeZone: "America/New_York",
  },
  {
    // An abbreviation names a clock: CET agrees with --tz Europe/Paris, and Paris is kept.
    sentence: `tomorrow 5pm CET check ${PR} is merged`,
    context: { now: NOW, timeZone: "Europe/Paris", timeZoneGiven: true },
    at: "2026-12-05T17:00:00+01:00",
    timeZone: "Europe/Paris",
  },
  {
    sentence: `tomorrow at 9am check ${PR} is merged`,
    context: { now: NOW, timeZone: "Asia/Tokyo", timeZoneGiven: true },
    at: "2026-12-06T09:00:00+09:00",
    timeZone: "Asia/Tokyo",
  },
];

/** Words that look like zones but are not: the machine's zone stays. */
const NOT_ZONES: Row[] = [
  {
    sentence: `tomorrow at 9am, ask CT whether ${PR} is merged`,
    at: "2026-12-05T09:00:00+00:00",
    timeZone: "UTC",
  },
  {
    sentence: `tomorrow at 9am check that the ETL fix in ${PR} is merged`,
    at: "2026-12-05T09:00:00+00:00",
    timeZone: "UTC",
  },
  {
    sentence: `tomorrow at 5pm, ask MT whether ${PR} is merged`,
    at: "2026-12-05T17:00:00+00:00",
    timeZone: "UTC",
  },
  {
    sentence: `tomorrow 9am check ${PR} is merged, then BETTER ping me`,
    at: "2026-12-05T09:00:00+00:00",
    timeZone: "UTC",
  },
  {
    sentence: `friday at 18:00 check ${PR} is merged and/or closed`,
    context: { now: NOW, timeZone: "Europe/Berlin" },
    at: "2026-12-04T18:00:00+01:00",
    timeZone: "Europe/Berlin",
  },
];

function expectPlan(row: Row): void {
  const result = parseReminder(row.sentence, row.context ?? machine);
  if (!result.ok) throw new Error(`${row.sentence}: ${result.reason}`);
  expect(remindPlanSchema.safeParse(result.plan).success).toBe(true);
  expect(result.plan.when).toEqual(
    row.deadline ? { mode: "by", deadline: row.at, every: "2h" } : { mode: "at", at: row.at },
  );
  expect(result.plan.timeZone).toBe(row.timeZone);
  expect(result.plan.check).toEqual(row.check ?? merged);
  if (row.notifyOn) expect(result.plan.notifyOn).toBe(row.notifyOn);
}

describe("remind: a zone named in the sentence", () => {
  it.each(NAMED)("reads $sentence", expectPlan);
  it.each(ACROSS_DST)("reads $sentence across a DST change", expectPlan);
  it.each(GIVEN)("agrees with --tz: $sentence", expectPlan);
  it.each(NOT_ZONES)("reads no zone in $sentence", expectPlan);
});

describe("remind: zones it refuses", () => {
  const failure = (sentence: string, context: RemindContext = machine) => {
    const result = parseReminder(sentence, context);
    if (result.ok) throw new Error(`${sentence}: read as ${JSON.stringify(result.plan)}`);
    return result;
  };

  it.each([
    ["IST", ["Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem"]],
    ["BST", ["Europe/London", "Asia/Dhaka"]],
    ["AST", ["America/Halifax", "Asia/Riyadh"]],
  ])("names the choices for the ambiguous %s", (word, choices) => {
    const result = failure(`tomorrow at 9am ${word} check ${PR} is merged`);
    expect(result.code).toBe("LOOPD_REMIND_AMBIGUOUS_ZONE");
    for (const choice of choices) {
      expect(result.reason).toContain(choice);
      expect(result.hint).toContain(choice);
    }
  });

  it("refuses a sentence zone that disagrees with --tz", () => {
    const result = failure(`tomorrow at 9am America/New_York check ${PR} is merged`, {
      now: NOW,
      timeZone: "Asia/Tokyo",
      timeZoneGiven: true,
    });
    expect(result).toMatchObject({ code: "LOOPD_REMIND_ZONE_CONFLICT" });
    expect(result.reason).toContain("America/New_York");
    expect(result.reason).toContain("Asia/Tokyo");
  });

  it("refuses an abbreviation whose clock differs from --tz at that time", () => {
    // London is +00:00 in December, CET +01:00.
    const result = failure(`tomorrow 5pm CET check ${PR} is merged`, {
      now: NOW,
      timeZone: "Europe/London",
      timeZoneGiven: true,
    });
    expect(result.code).toBe("LOOPD_REMIND_ZONE_CONFLICT");
  });

  it("lets the sentence's zone win over the machine's when --tz was not given", () => {
    const result = parseReminder(`tomorrow at 9am America/New_York check ${PR} is merged`, {
      now: NOW,
      timeZone: "Asia/Tokyo",
    });
    expect(result).toMatchObject({ ok: true, plan: { timeZone: "America/New_York" } });
  });

  it("refuses two different zones in one sentence", () => {
    const result = failure(`tomorrow 9am ET or 5pm PT check ${PR} is merged`);
    expect(result.code).toBe("LOOPD_REMIND_ZONE_CONFLICT");
    expect(result.reason).toMatch(/"ET".*"PT"/);
  });

  it("does not drop an abbreviation it does not know", () => {
    const result = failure(`tomorrow at 5pm CAT check ${PR} is merged`);
    expect(result.code).toBeUndefined();
    expect(result.reason).toMatch(/names a time zone loopd does not read/);
  });
});

describe("remind: zones under fuzz", () => {
  it("answers a valid plan or a reason for 1,000 sentences with zone-like words spliced in, never throwing", () => {
    const random = mulberry32(0x24_2e_0e);
    const corpus = [...NAMED, ...ACROSS_DST, ...GIVEN, ...NOT_ZONES].map((row) => row.sentence);
    const words = [
      "IST",
      "ET",
      "et",
      "Z",
      "CEST",
      "PT",
      "UTC-14",
      "UTC+14",
      "UTC-12",
      "UTC+99",
      "GMT-0",
      "Etc/GMT+14",
      "Etc/GMT-14",
      "europe/berlin",
      "asia/kolkata",
      "US/Eastern",
      "New York time",
      "Pacific time",
      "in UTC",
      "(JST)",
      "tonight at 25pm",
      "this morning at 0am",
      "at 99",
      "tomorrow night at 1am",
      "9am ET 5pm PT",
      "and/or",
      "a/b/c/d",
    ];
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const failures: string[] = [];
    for (let round = 0; round < 1000; round++) {
      const parts = pick(corpus).split(" ");
      for (let step = 0; step < 1 + Math.floor(random() * 3); step++)
        parts.splice(Math.floor(random() * (parts.length + 1)), 0, pick(words));
      let sentence = parts.join(" ");
      if (random() < 0.2) sentence = random() < 0.5 ? sentence.toUpperCase() : sentence.toLowerCase();
      const context: RemindContext = {
        now: NOW + Math.floor(random() * 400) * 86_400_000,
        timeZone: pick(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"]),
        timeZoneGiven: random() < 0.5,
      };
      try {
        const result = parseReminder(sentence, context);
        if (result.ok && !remindPlanSchema.safeParse(result.plan).success)
          failures.push(`invalid: ${sentence}`);
        if (!result.ok && result.reason.trim() === "") failures.push(`empty reason: ${sentence}`);
      } catch (error) {
        failures.push(`threw ${String(error)}: ${sentence}`);
      }
    }
    expect(failures).toEqual([]);
  });
});
