/**
 * Pull request conditions people ask about (remind-condition.ts): merge conflicts and
 * mergeability, behind the base, approvals and requested changes, new comments — each with
 * its negation, mapped to a `github` check state. Their evaluation against fake GitHub is in
 * src/checks/github-pull-states.test.ts.
 */
import { describe, expect, it } from "vitest";
import type { CheckConfig } from "./config-checks.js";
import { parseReminder, type RemindContext } from "./remind-parser.js";
import type { RemindPlan } from "./remind-plan.js";
import { remindPlanSchema } from "./remind-plan.js";

/** Friday 4 December 2026, 15:00 UTC. */
const NOW = Date.parse("2026-12-04T15:00:00Z");
const berlin: RemindContext = { now: NOW, timeZone: "Europe/Berlin" };
const newYork: RemindContext = { now: NOW, timeZone: "America/New_York" };
const PR = "https://github.com/acme/web/pull/8";
const ISSUE = "https://github.com/acme/web/issues/34";
const pr = (state: string, extra: Record<string, string> = {}): CheckConfig => ({
  github: { pr: PR, state, ...extra } as CheckConfig["github"],
});
const at = (iso: string): RemindPlan["when"] => ({ mode: "at", at: iso });
const until: RemindPlan["when"] = { mode: "until-satisfied", every: "2h" };

interface Row {
  sentence: string;
  context?: RemindContext;
  when: RemindPlan["when"];
  check: CheckConfig;
  notifyOn: RemindPlan["notifyOn"];
  timeZone?: string;
}

const MERGEABILITY: Row[] = [
  {
    sentence: `tomorrow at 9am ping me if ${PR} has merge conflicts`,
    when: at("2026-12-05T09:00:00+01:00"),
    check: pr("conflicting"),
    notifyOn: "satisfied",
  },
  {
    sentence: `tell me when ${PR} no longer has conflicts`,
    when: until,
    check: pr("mergeable"),
    notifyOn: "satisfied",
  },
  {
    sentence: `let me know as soon as ${PR} can be merged`,
    when: until,
    check: pr("mergeable"),
    notifyOn: "satisfied",
  },
  {
    sentence: `friday 5pm ET ping me if ${PR} can't be merged`,
    when: at("2026-12-04T17:00:00-05:00"),
    check: pr("mergeable"),
    notifyOn: "unsatisfied",
    timeZone: "America/New_York",
  },
  {
    sentence: `tonight at 10 ping me if acme/web#8 isn't mergeable`,
    when: at("2026-12-04T22:00:00+01:00"),
    check: { github: { pr: "acme/web#8", state: "mergeable" } },
    notifyOn: "unsatisfied",
  },
  {
    sentence: `tomorrow ping me if ${PR} has no merge conflicts`,
    when: at("2026-12-05T09:00:00+01:00"),
    check: pr("conflicting"),
    notifyOn: "unsatisfied",
  },
  {
    sentence: `tell me when ${PR} is conflicting`,
    when: until,
    check: pr("conflicting"),
    notifyOn: "satisfied",
  },
];

const BEHIND: Row[] = [
  {
    sentence: `tomorrow at noon ping me if ${PR} is behind main`,
    when: at("2026-12-05T12:00:00+01:00"),
    check: pr("behind", { base: "main" }),
    notifyOn: "satisfied",
  },
  {
    sentence: `tell me when ${PR} is no longer behind`,
    when: until,
    check: pr("up-to-date"),
    notifyOn: "satisfied",
  },
  {
    sentence: `tell me when ${PR} is up to date with release/2.0`,
    when: until,
    check: pr("up-to-date", { base: "release/2.0" }),
    notifyOn: "satisfied",
  },
  {
    sentence: `monday 8am PT ping me if ${PR} isn't behind its base`,
    when: at("2026-12-07T08:00:00-08:00"),
    check: pr("behind"),
    notifyOn: "unsatisfied",
    timeZone: "America/Los_Angeles",
  },
  {
    sentence: `tomorrow check that ${PR} is up to date`,
    context: newYork,
    when: at("2026-12-05T09:00:00-05:00"),
    check: pr("up-to-date"),
    notifyOn: "unsatisfied",
  },
  {
    sentence: `tell me when ${PR} falls behind develop`,
    when: until,
    check: pr("behind", { base: "develop" }),
    notifyOn: "satisfied",
  },
];

const REVIEWS: Row[] = [
  {
    sentence: `tonight at 8pm ping me if ${PR} wasn't approved`,
    when: at("2026-12-04T20:00:00+01:00"),
    check: pr("approved"),
    notifyOn: "unsatisfied",
  },
  {
    sentence: `tell me when ${PR} was approved`,
    when: until,
    check: pr("approved"),
    notifyOn: "satisfied",
  },
  {
    sentence: `tell me when ${PR} has changes requested`,
    when: until,
    check: pr("changes-requested"),
    notifyOn: "satisfied",
  },
  {
    sentence: `monday morning ping me if ${PR} still has changes requested`,
    when: at("2026-12-07T09:00:00+01:00"),
    check: pr("changes-requested"),
    notifyOn: "satisfied",
  },
  {
    sentence: `tomorrow 10:00 JST ping me if someone requested changes on acme/web#8`,
    when: at("2026-12-06T10:00:00+09:00"),
    check: { github: { pr: "acme/web#8", state: "changes-requested" } },
    notifyOn: "satisfied",
    timeZone: "Asia/Tokyo",
  },
  {
    sentence: `tomorrow ping me if ${PR} has no changes requested`,
    when: at("2026-12-05T09:00:00+01:00"),
    check: pr("changes-requested"),
    notifyOn: "unsatisfied",
  },
  {
    sentence: `tomorrow, if ${PR} isn't approved yet, ping me`,
    context: newYork,
    when: at("2026-12-05T09:00:00-05:00"),
    check: pr("approved"),
    notifyOn: "unsatisfied",
  },
];

const SINCE_BERLIN = "2026-12-04T16:00:00+01:00";
const COMMENTS: Row[] = [
  {
    sentence: `tell me when ${PR} has new comments`,
    when: until,
    check: pr("new-comments", { since: SINCE_BERLIN }),
    notifyOn: "satisfied",
  },
  {
    sentence: `tell me when someone comments on ${PR}`,
    when: until,
    check: pr("new-comments", { since: SINCE_BERLIN }),
    notifyOn: "satisfied",
  },
  {
    sentence: `tomorrow ping me if ${ISSUE} has no new comments`,
    when: at("2026-12-05T09:00:00+01:00"),
    check: { github: { issue: ISSUE, state: "new-comments", since: SINCE_BERLIN } },
    notifyOn: "unsatisfied",
  },
  {
    sentence: `friday 6pm ping me if ${ISSUE} gets a reply`,
    context: newYork,
    when: at("2026-12-04T18:00:00-05:00"),
    check: { github: { issue: ISSUE, state: "new-comments", since: "2026-12-04T10:00:00-05:00" } },
    notifyOn: "satisfied",
  },
  {
    sentence: `by tomorrow evening at 6 let me know if ${PR} has any new review comments`,
    when: { mode: "by", deadline: "2026-12-05T18:00:00+01:00", every: "2h" },
    check: pr("new-comments", { since: SINCE_BERLIN }),
    notifyOn: "satisfied",
  },
  {
    // The watch was made before the DST change; `since` keeps the offset of that moment.
    sentence: `tomorrow at 9am Europe/Berlin ping me if ${PR} got new comments`,
    context: { now: Date.parse("2027-03-27T10:00:00Z"), timeZone: "UTC" },
    when: at("2027-03-28T09:00:00+02:00"),
    check: pr("new-comments", { since: "2027-03-27T11:00:00+01:00" }),
    notifyOn: "satisfied",
    timeZone: "Europe/Berlin",
  },
];

function expectRow(row: Row): void {
  const context = row.context ?? berlin;
  const result = parseReminder(row.sentence, context);
  if (!result.ok) throw new Error(`${row.sentence}: ${result.reason}`);
  expect(remindPlanSchema.safeParse(result.plan).success).toBe(true);
  expect(result.plan).toMatchObject({
    when: row.when,
    check: row.check,
    notifyOn: row.notifyOn,
    timeZone: row.timeZone ?? context.timeZone,
  });
  expect(result.plan.check).toEqual(row.check);
}

describe("remind: pull request conditions", () => {
  it.each(MERGEABILITY)("mergeability: $sentence", expectRow);
  it.each(BEHIND)("behind the base: $sentence", expectRow);
  it.each(REVIEWS)("reviews: $sentence", expectRow);
  it.each(COMMENTS)("new comments: $sentence", expectRow);

  it("says these states are for pull requests", () => {
    const result = parseReminder(`tomorrow ping me if ${ISSUE} has merge conflicts`, berlin);
    expect(result).toMatchObject({ ok: false });
    if (!result.ok) expect(result.reason).toMatch(/an issue can be open, closed, fixed, new-comments/);
  });

  it("does not wait for a review state to stop holding", () => {
    const result = parseReminder(`tell me when ${PR} is no longer approved`, berlin);
    expect(result).toMatchObject({ ok: false });
    if (!result.ok) expect(result.reason).toMatch(/waits for a check to pass/);
  });
});
