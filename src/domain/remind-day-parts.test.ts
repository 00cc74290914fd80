/**
 * A part of the day with a clock time is one time (remind-day-part.ts): "tonight at 11pm",
 * "this evening at 7", "tomorrow morning at 8:30" — on both sides of UTC and across DST —
 * and a part that contradicts its time is LOOPD_REMIND_TIME_CONFLICT.
 */
import { describe, expect, it } from "vitest";
import { parseReminder, type RemindContext } from "./remind-parser.js";

/** Friday 4 December 2026, 15:00 UTC: 16:00 in Berlin, 10:00 in New York, Saturday 00:00 in Tokyo. */
const NOW = Date.parse("2026-12-04T15:00:00Z");
const berlin: RemindContext = { now: NOW, timeZone: "Europe/Berlin" };
const newYork: RemindContext = { now: NOW, timeZone: "America/New_York" };
const tokyo: RemindContext = { now: NOW, timeZone: "Asia/Tokyo" };
const PR = "https://github.com/acme/web/pull/8";

const ROWS: Array<{ sentence: string; context: RemindContext; at: string; deadline?: boolean }> = [
  { sentence: `tonight at 11pm check ${PR} is merged`, context: berlin, at: "2026-12-04T23:00:00+01:00" },
  { sentence: `this evening at 7 check ${PR} is merged`, context: newYork, at: "2026-12-04T19:00:00-05:00" },
  {
    sentence: `this afternoon at 3pm ping me if ${PR} isn't merged`,
    context: newYork,
    at: "2026-12-04T15:00:00-05:00",
  },
  // In Tokyo it is already Saturday: tomorrow is Sunday.
  {
    sentence: `tomorrow morning at 8:30 check ${PR} is merged`,
    context: tokyo,
    at: "2026-12-06T08:30:00+09:00",
  },
  {
    sentence: `tomorrow night at 10 check ${PR} is merged`,
    context: berlin,
    at: "2026-12-05T22:00:00+01:00",
  },
  { sentence: `at 11pm tonight, check ${PR} is merged`, context: berlin, at: "2026-12-04T23:00:00+01:00" },
  // After midnight, "tonight" is the next calendar day.
  { sentence: `tonight at 1am check ${PR} is merged`, context: newYork, at: "2026-12-05T01:00:00-05:00" },
  {
    sentence: `monday morning at 7:45 check ${PR} is merged`,
    context: berlin,
    at: "2026-12-07T07:45:00+01:00",
  },
  {
    sentence: `tomorrow at 7 in the evening check ${PR} is merged`,
    context: berlin,
    at: "2026-12-05T19:00:00+01:00",
  },
  {
    sentence: `this evening at 20:30 check ${PR} is merged`,
    context: tokyo,
    at: "2026-12-05T20:30:00+09:00",
  },
  {
    sentence: `let me know if ${PR} isn't merged by tomorrow evening at 6`,
    context: berlin,
    at: "2026-12-05T18:00:00+01:00",
    deadline: true,
  },
  {
    // Berlin springs forward in the night of 2027-03-28.
    sentence: `tomorrow morning at 8:30 check ${PR} is merged`,
    context: { now: Date.parse("2027-03-27T10:00:00Z"), timeZone: "Europe/Berlin" },
    at: "2027-03-28T08:30:00+02:00",
  },
  {
    // New York springs forward on 2027-03-14 at 02:00; 01:00 that night is still -05:00.
    sentence: `tonight at 1am check ${PR} is merged`,
    context: { now: Date.parse("2027-03-13T20:00:00Z"), timeZone: "America/New_York" },
    at: "2027-03-14T01:00:00-05:00",
  },
  {
    // 02:30 does not exist that night: a time in the gap moves forward, as cron does.
    sentence: `tonight at 2:30am check ${PR} is merged`,
    context: { now: Date.parse("2027-03-13T20:00:00Z"), timeZone: "America/New_York" },
    at: "2027-03-14T03:30:00-04:00",
  },
  {
    sentence: `tomorrow evening at 6pm ET check ${PR} is merged`,
    context: { now: Date.parse("2027-03-13T20:00:00Z"), timeZone: "UTC" },
    at: "2027-03-14T18:00:00-04:00",
  },
];

describe("remind: a day-part with a clock time is one time", () => {
  it.each(ROWS)("reads $sentence", ({ sentence, context, at, deadline }) => {
    const result = parseReminder(sentence, context);
    if (!result.ok) throw new Error(`${sentence}: ${result.reason}`);
    expect(result.plan.when).toEqual(
      deadline ? { mode: "by", deadline: at, every: "2h" } : { mode: "at", at },
    );
    expect(result.plan.check).toEqual({ github: { pr: PR, state: "merged" } });
    expect(result.plan.timeZone).toBe(sentence.includes(" ET ") ? "America/New_York" : context.timeZone);
  });

  it("keeps the day-part defaults when no clock time is given", () => {
    const result = parseReminder(`tonight check ${PR} is merged`, berlin);
    expect(result).toMatchObject({
      ok: true,
      plan: { when: { mode: "at", at: "2026-12-04T20:00:00+01:00" } },
    });
  });
});

describe("remind: a day-part that contradicts its time", () => {
  it.each([
    ["this morning at 9pm", "21:00", "morning", "tonight at 21:00"],
    ["tonight at 9am", "09:00", "night", "this morning at 09:00"],
    ["this afternoon at 8am", "08:00", "afternoon", "this morning at 08:00"],
    ["tomorrow morning at 14:00", "14:00", "morning", "tomorrow afternoon at 14:00"],
    ["tomorrow evening at 06:00", "06:00", "evening", "tomorrow morning at 06:00"],
    ["at 10am in the evening", "10:00", "evening", "in the morning at 10:00"],
  ])("refuses %s", (phrase, time, part, suggestion) => {
    const result = parseReminder(`${phrase} check ${PR} is merged`, newYork);
    if (result.ok) throw new Error(`${phrase}: read as ${JSON.stringify(result.plan.when)}`);
    expect(result.code).toBe("LOOPD_REMIND_TIME_CONFLICT");
    expect(result.reason).toBe(
      `"${phrase}" contradicts itself: ${time} is not in the ${part} (${
        { morning: "05:00–12:00", afternoon: "12:00–18:00", evening: "17:00–24:00", night: "17:00–05:00" }[
          part
        ]
      })`,
    );
    expect(result.hint).toContain(suggestion);
  });
});
