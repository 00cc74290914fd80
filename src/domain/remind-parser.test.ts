import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../test/helpers/prng.js";
import type { CheckConfig } from "./config-checks.js";
import { parseReminder, type RemindContext } from "./remind-parser.js";
import { planToRoutine, REMIND_EXAMPLES, type RemindPlan, remindPlanSchema } from "./remind-plan.js";

const NOW = Date.parse("2026-11-29T10:00:00Z"); // Sunday, 11:00 in Berlin
const berlin: RemindContext = {
  now: NOW,
  timeZone: "Europe/Berlin",
  dates: { launch: "2026-12-10", demo: "2026-12-03T17:00" },
  testRunner: "vitest",
};
const newYork: RemindContext = { ...berlin, timeZone: "America/New_York" };
/** Europe/Berlin moves from +01:00 to +02:00 in the night of 2027-03-28. */
const eveOfDst: RemindContext = { ...berlin, now: Date.parse("2027-03-27T10:00:00Z") };

const DISCUSSION = "https://github.com/acme/web/discussions/12";
const ISSUE = "https://github.com/acme/web/issues/34";
const PR = "https://github.com/acme/web/pull/8";
const HEALTH = "https://status.acme.dev/health";

const at = (iso: string): RemindPlan["when"] => ({ mode: "at", at: iso });
const by = (iso: string, every = "2h"): RemindPlan["when"] => ({ mode: "by", deadline: iso, every });
const untilSatisfied = (every = "2h"): RemindPlan["when"] => ({ mode: "until-satisfied", every });
const afterRetry = (iso = "2026-11-29T11:00:00+01:00"): RemindPlan["when"] => ({
  mode: "after-retry",
  at: iso,
});
const test = (command: string, retries = 2): CheckConfig => ({ testRetry: { command, retries } });

interface Row {
  sentence: string;
  context?: RemindContext;
  plan: Omit<RemindPlan, "subject"> & { subject?: string };
}

/** The three seed sentences from loopd#7 come first: they are the product's promise. */
const READABLE: Row[] = [
  {
    sentence: `tomorrow, check in on ${DISCUSSION} and ping me if it isn't resolved`,
    plan: {
      when: at("2026-11-30T09:00:00+01:00"),
      check: { github: { discussion: DISCUSSION, state: "resolved" } },
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: `let me know if ${ISSUE} isn't fixed by the day before launch`,
    plan: {
      when: by("2026-12-09T09:00:00+01:00"),
      check: { github: { issue: ISSUE, state: "fixed" } },
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: "bug me if test/sync.test.ts doesn't go green after retry",
    plan: {
      subject: "test/sync.test.ts",
      when: afterRetry(),
      check: test("npx vitest run test/sync.test.ts"),
      notifyOn: "unsatisfied",
    },
  },
  // Time phrases
  {
    sentence: `tomorrow, check in on ${DISCUSSION} and ping me if it isn’t resolved`,
    plan: {
      when: at("2026-11-30T09:00:00+01:00"),
      check: { github: { discussion: DISCUSSION, state: "resolved" } },
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: `ping me tomorrow morning if ${HEALTH} is down`,
    plan: {
      when: at("2026-11-30T09:00:00+01:00"),
      check: { http: { url: HEALTH } },
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: "tomorrow afternoon ping me if acme/web#5 is still unresolved",
    plan: {
      when: at("2026-11-30T14:00:00+01:00"),
      check: { github: { issue: "acme/web#5", state: "fixed" } },
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: "tonight, ping me unless https://github.com/acme/web/pull/9 is approved",
    plan: {
      when: at("2026-11-29T20:00:00+01:00"),
      check: { github: { pr: "https://github.com/acme/web/pull/9", state: "approved" } },
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: `this evening, let me know if https://github.com/acme/web/tree/main is red`,
    plan: {
      when: at("2026-11-29T18:00:00+01:00"),
      check: { github: { ref: "https://github.com/acme/web/tree/main", checks: "green" } },
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: `next monday check ${PR} checks pass`,
    plan: {
      when: at("2026-11-30T09:00:00+01:00"),
      check: { github: { pr: PR, checks: "green" } },
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: "friday 3pm: is acme/web#5 still open?",
    plan: {
      when: at("2026-12-04T15:00:00+01:00"),
      check: { github: { issue: "acme/web#5", state: "closed" } },
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: "on 2026-12-24 check acme/web#7",
    plan: {
      when: at("2026-12-24T09:00:00+01:00"),
      check: { github: { issue: "acme/web#7", state: "closed" } },
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: `2026-12-24 15:00 check ${HEALTH} is up`,
    plan: {
      when: at("2026-12-24T15:00:00+01:00"),
      check: { http: { url: HEALTH } },
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: `end of day: ping me if ${PR} is still open`,
    plan: {
      when: at("2026-11-29T17:00:00+01:00"),
      check: { github: { pr: PR, state: "closed" } },
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: "in 3 hours, check `npm run lint` passes and run fix-lint if not",
    plan: {
      when: at("2026-11-29T14:00:00+01:00"),
      check: { command: "npm run lint" },
      notifyOn: "unsatisfied",
      run: "fix-lint",
    },
  },
  {
    sentence: `ping me in half an hour if ${PR} is still open`,
    plan: {
      when: at("2026-11-29T11:30:00+01:00"),
      check: { github: { pr: PR, state: "closed" } },
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: "in 2 days check acme/web#5",
    plan: {
      when: at("2026-12-01T09:00:00+01:00"),
      check: { github: { issue: "acme/web#5", state: "closed" } },
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: `remind me about ${ISSUE} next week`,
    plan: {
      when: at("2026-12-06T09:00:00+01:00"),
      check: { github: { issue: ISSUE, state: "closed" } },
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: `remind me at noon to check ${PR}`,
    plan: {
      when: at("2026-11-29T12:00:00+01:00"),
      check: { github: { pr: PR, state: "merged" } },
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: "at 9am on friday bug me if test/a.test.ts > merges offline edits is still failing",
    plan: {
      subject: "test/a.test.ts > merges offline edits",
      when: at("2026-12-04T09:00:00+01:00"),
      check: test('npx vitest run test/a.test.ts -t "merges offline edits"'),
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: "ping me at 5pm on 2026-12-24 if acme/web#3 isn't fixed",
    plan: {
      when: at("2026-12-24T17:00:00+01:00"),
      check: { github: { issue: "acme/web#3", state: "fixed" } },
      notifyOn: "unsatisfied",
    },
  },
  // Named dates
  {
    sentence: `2 days before launch ping me if ${PR} isn't merged`,
    plan: {
      when: at("2026-12-08T09:00:00+01:00"),
      check: { github: { pr: PR, state: "merged" } },
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: "the week before launch, check acme/web@release CI",
    plan: {
      when: at("2026-12-03T09:00:00+01:00"),
      check: { github: { ref: "acme/web@release", checks: "green" } },
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: `on launch day tell me if ${HEALTH} is down`,
    plan: {
      when: at("2026-12-10T09:00:00+01:00"),
      check: { http: { url: HEALTH } },
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: "ping me if acme/web#9 isn't closed by launch",
    plan: {
      when: by("2026-12-10T09:00:00+01:00"),
      check: { github: { issue: "acme/web#9", state: "closed" } },
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: `ping me if ${PR} isn't merged before launch and run fix-ci`,
    plan: {
      when: by("2026-12-10T09:00:00+01:00"),
      check: { github: { pr: PR, state: "merged" } },
      notifyOn: "unsatisfied",
      run: "fix-ci",
    },
  },
  {
    sentence: "the day before demo check acme/web#9",
    plan: {
      when: at("2026-12-02T17:00:00+01:00"),
      check: { github: { issue: "acme/web#9", state: "closed" } },
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: "2 hours before demo check acme/web#9",
    plan: {
      when: at("2026-12-03T15:00:00+01:00"),
      check: { github: { issue: "acme/web#9", state: "closed" } },
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: "at 5pm the day before launch check acme/web@main CI is green",
    plan: {
      when: at("2026-12-09T17:00:00+01:00"),
      check: { github: { ref: "acme/web@main", checks: "green" } },
      notifyOn: "unsatisfied",
    },
  },
  // Deadlines and "tell me when"
  {
    sentence: `ping me if ${PR} isn't merged by friday, it's urgent`,
    plan: {
      when: by("2026-12-04T09:00:00+01:00"),
      check: { github: { pr: PR, state: "merged" } },
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: "by end of week make sure `npm run build` succeeds",
    plan: {
      when: by("2026-12-04T17:00:00+01:00"),
      check: { command: "npm run build" },
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: `by end of day make sure ${HEALTH} returns 200`,
    plan: {
      when: by("2026-11-29T17:00:00+01:00"),
      check: { http: { url: HEALTH, status: 200 } },
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: "tell me when acme/web#12 is merged",
    plan: {
      when: untilSatisfied(),
      check: { github: { pr: "acme/web#12", state: "merged" } },
      notifyOn: "satisfied",
    },
  },
  {
    sentence: `tell me when ${PR} is merged, check every 30 minutes`,
    plan: {
      when: untilSatisfied("30m"),
      check: { github: { pr: PR, state: "merged" } },
      notifyOn: "satisfied",
    },
  },
  {
    sentence: "notify me as soon as acme/web#3 is closed",
    plan: {
      when: untilSatisfied(),
      check: { github: { issue: "acme/web#3", state: "closed" } },
      notifyOn: "satisfied",
    },
  },
  {
    // A CI status watch looks every few minutes, not every 2 h, backing off while nothing changes (issue 16).
    sentence: `ping me once ${PR} CI is green`,
    plan: {
      when: { mode: "until-satisfied", every: "5m", backoff: "2h" },
      check: { github: { pr: PR, checks: "green" } },
      notifyOn: "satisfied",
    },
  },
  {
    sentence: `tell me when CI is green on ${PR}, every 30 minutes`,
    plan: {
      when: untilSatisfied("30m"),
      check: { github: { pr: PR, checks: "green" } },
      notifyOn: "satisfied",
    },
  },
  {
    sentence: "tell me once the discussion acme/web#12 is answered",
    plan: {
      when: untilSatisfied(),
      check: { github: { discussion: "acme/web#12", state: "answered" } },
      notifyOn: "satisfied",
    },
  },
  {
    sentence: "let me know when `make e2e` succeeds",
    plan: { when: untilSatisfied(), check: { command: "make e2e" }, notifyOn: "satisfied" },
  },
  {
    sentence: "tell me once TestSyncMerge goes green",
    plan: {
      subject: "TestSyncMerge",
      when: untilSatisfied(),
      check: test("go test -run '^TestSyncMerge$' ./..."),
      notifyOn: "satisfied",
    },
  },
  {
    sentence: "let me know when https://github.com/acme/web/discussions/3 is no longer open",
    plan: {
      when: untilSatisfied(),
      check: { github: { discussion: "https://github.com/acme/web/discussions/3", state: "closed" } },
      notifyOn: "satisfied",
    },
  },
  // Subjects and conditions
  {
    sentence: 'bug me if test/sync.test.ts > "merges offline edits" fails after 3 retries',
    plan: {
      subject: 'test/sync.test.ts > "merges offline edits"',
      when: afterRetry(),
      check: test('npx vitest run test/sync.test.ts -t "merges offline edits"', 3),
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: "ping me if tests/test_sync.py::test_merge doesn't pass after a retry",
    plan: {
      subject: "tests/test_sync.py::test_merge",
      when: afterRetry(),
      check: test("python -m pytest tests/test_sync.py::test_merge", 1),
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: "bug me if `npm run lint` fails after retry",
    plan: {
      subject: "npm run lint",
      when: afterRetry(),
      check: test("npm run lint"),
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: "bug me if src/api/client.spec.ts is still red on retry",
    context: { ...berlin, testRunner: "jest" },
    plan: {
      subject: "src/api/client.spec.ts",
      when: afterRetry(),
      check: test("npx jest src/api/client.spec.ts"),
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: "bug me if test/sync.test.ts doesn't go green after retry",
    context: { ...berlin, testRunner: null, retries: 4 },
    plan: {
      subject: "test/sync.test.ts",
      when: afterRetry(),
      check: test("npm test -- test/sync.test.ts", 4),
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: "tonight check test/sync.test.ts is green",
    plan: {
      subject: "test/sync.test.ts",
      when: at("2026-11-29T20:00:00+01:00"),
      check: test("npx vitest run test/sync.test.ts"),
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: "tomorrow check acme/web#5 is answered",
    plan: {
      when: at("2026-11-30T09:00:00+01:00"),
      check: { github: { discussion: "acme/web#5", state: "answered" } },
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: "check if acme/web#5 is merged tomorrow",
    plan: {
      when: at("2026-11-30T09:00:00+01:00"),
      check: { github: { pr: "acme/web#5", state: "merged" } },
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: "tomorrow check acme/web#5 and ping me if not",
    plan: {
      when: at("2026-11-30T09:00:00+01:00"),
      check: { github: { issue: "acme/web#5", state: "closed" } },
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: "tomorrow check acme/web#5 then start routine fix-ci",
    plan: {
      when: at("2026-11-30T09:00:00+01:00"),
      check: { github: { issue: "acme/web#5", state: "closed" } },
      notifyOn: "unsatisfied",
      run: "fix-ci",
    },
  },
  {
    sentence: "tomorrow 10am check https://ghe.corp.example/acme/web/pull/77 checks pass",
    plan: {
      when: at("2026-11-30T10:00:00+01:00"),
      check: { github: { pr: "https://ghe.corp.example/acme/web/pull/77", checks: "green" } },
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: "tomorrow ping me if https://example.com/ returns 5xx",
    plan: {
      when: at("2026-11-30T09:00:00+01:00"),
      check: { http: { url: "https://example.com/", status: "5xx" } },
      notifyOn: "satisfied",
    },
  },
  {
    sentence: "tomorrow ping me unless https://example.com/changelog contains 'v2.0'",
    plan: {
      when: at("2026-11-30T09:00:00+01:00"),
      check: { http: { url: "https://example.com/changelog", contains: "v2.0" } },
      notifyOn: "unsatisfied",
    },
  },
  // Other zones and a DST change
  {
    sentence: "tomorrow check acme/web#5",
    context: newYork,
    plan: {
      when: at("2026-11-30T09:00:00-05:00"),
      check: { github: { issue: "acme/web#5", state: "closed" } },
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: "tonight bug me if TestSyncMerge fails after retry",
    context: newYork,
    plan: {
      subject: "TestSyncMerge",
      when: afterRetry("2026-11-29T20:00:00-05:00"),
      check: test("go test -run '^TestSyncMerge$' ./..."),
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: `let me know if ${ISSUE} isn't fixed by the day before launch`,
    context: newYork,
    plan: {
      when: by("2026-12-09T09:00:00-05:00"),
      check: { github: { issue: ISSUE, state: "fixed" } },
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: "tomorrow at 9am check acme/web#5",
    context: eveOfDst,
    plan: {
      when: at("2027-03-28T09:00:00+02:00"),
      check: { github: { issue: "acme/web#5", state: "closed" } },
      notifyOn: "unsatisfied",
    },
  },
  {
    sentence: "in 24 hours check acme/web#5",
    context: eveOfDst,
    plan: {
      when: at("2027-03-28T12:00:00+02:00"),
      check: { github: { issue: "acme/web#5", state: "closed" } },
      notifyOn: "unsatisfied",
    },
  },
];

const UNREADABLE: Array<{ sentence: string; reason: RegExp; context?: RemindContext }> = [
  { sentence: "", reason: /empty/ },
  { sentence: "   \n\t ", reason: /empty/ },
  { sentence: "tomorrow", reason: /^no subject/ },
  { sentence: ISSUE, reason: /^no time/ },
  { sentence: "ping me if test/sync.test.ts fails", reason: /^no time/ },
  {
    sentence: "tell me when https://github.com/acme/web/discussions/3 is merged",
    reason: /"merged" does not apply/,
  },
  { sentence: `tomorrow check if ${ISSUE} is green`, reason: /an issue has no CI checks/ },
  {
    sentence: "tomorrow ping me if https://example.com is merged",
    reason: /"merged" does not apply to a web address/,
  },
  { sentence: `tomorrow ping me if ${PR} is up`, reason: /is for web addresses/ },
  { sentence: "tomorrow check acme/web#5 and acme/web#6", reason: /more than one subject/ },
  { sentence: "yesterday check acme/web#5", reason: /has passed/ },
  { sentence: "tomorrow check acme/web#5 by friday", reason: /more than one time/ },
  { sentence: "the day before release check acme/web#5", reason: /"release" is not a named date/ },
  { sentence: "on 2026-13-01 check acme/web#5", reason: /is not a date/ },
  { sentence: "tomorrow at 25:00 check acme/web#5", reason: /"25:00" is not a time/ },
  { sentence: "tomorrow check acme/web#5 and run Fix-CI", reason: /not a routine name/ },
  { sentence: "bug me if test/sync.test.ts doesn't go green after 20 retries", reason: /between 1 and 10/ },
  { sentence: `bug me if ${PR} is green after retry`, reason: /retries apply to tests and commands/ },
  { sentence: `tell me when ${HEALTH} is down`, reason: /waits for a check to pass/ },
  { sentence: "tomorrow tell me if acme/web#5 has more than 3 comments", reason: /can't tell what to check/ },
  {
    sentence: "tomorrow check acme/web#5",
    context: { ...berlin, timeZone: "Mars/Olympus" },
    reason: /not a time zone/,
  },
  { sentence: "x".repeat(100_000), reason: /too long/ },
];

describe("parseReminder: sentences it reads", () => {
  it.each(READABLE)("reads $sentence", ({ sentence, context, plan }) => {
    const result = parseReminder(sentence, context ?? berlin);
    const subject = plan.subject ?? subjectOf(plan.check);
    expect(result).toEqual({ ok: true, plan: { ...plan, subject, timeZone: (context ?? berlin).timeZone } });
    if (result.ok) expect(remindPlanSchema.safeParse(result.plan).success).toBe(true);
  });

  it("covers at least 45 sentences", () => {
    expect(READABLE.length).toBeGreaterThanOrEqual(45);
  });

  it("reads every example it shows users", () => {
    for (const example of REMIND_EXAMPLES) {
      const sentence = example.replace(/^loopd remind "/, "").replace(/"$/, "");
      expect(parseReminder(sentence, berlin)).toMatchObject({ ok: true });
    }
  });

  it("produces plans planToRoutine turns into loopd.yaml routines", () => {
    const result = parseReminder(READABLE[1]!.sentence, berlin);
    if (!result.ok) throw new Error(result.reason);
    expect(planToRoutine(result.plan, { name: "remind-34", to: ["slack"], description: "d" })).toMatchObject({
      by: "2026-12-09T09:00:00+01:00",
      every: "2h",
      check: { github: { issue: ISSUE, state: "fixed" } },
      notify: { to: "slack", on: ["deadline", "failure"] },
    });
  });
});

describe("parseReminder: sentences it cannot read", () => {
  it.each(UNREADABLE)("says why for $sentence", ({ sentence, reason, context }) => {
    const result = parseReminder(sentence, context ?? berlin);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });
});

describe("parseReminder: fuzz", () => {
  it("answers a valid plan or a reason for 2,500 mangled sentences, never throwing", () => {
    const random = mulberry32(0x10_0b_d7);
    const corpus = [
      ...READABLE.map((row) => row.sentence),
      ...UNREADABLE.map((row) => row.sentence.slice(0, 300)),
    ];
    const failures: string[] = [];
    let readable = 0;
    for (let round = 0; round < 2500; round++) {
      const sentence = mangle(corpus, random);
      try {
        const result = parseReminder(sentence, round % 3 === 0 ? newYork : berlin);
        if (result.ok) {
          readable++;
          if (!remindPlanSchema.safeParse(result.plan).success) failures.push(`invalid plan: ${sentence}`);
        } else if (typeof result.reason !== "string" || result.reason.trim() === "") {
          failures.push(`empty reason: ${sentence}`);
        }
      } catch (error) {
        failures.push(`threw ${String(error)}: ${JSON.stringify(sentence)}`);
      }
    }
    expect(failures).toEqual([]);
    // Mutations are mild often enough that a fair share stays readable: the fuzz exercises assembly too.
    expect(readable).toBeGreaterThan(250);
  });

  it("answers odd inputs with a reason", () => {
    const odd = [
      "\u0000\u0001\u0007",
      "\ud800 tomorrow \udfff acme/web#1",
      "🚀🚀🚀 https://github.com/acme/web/pull/1 🚀",
      "`",
      "``",
      "https://",
      "http://[::1",
      "tomorrow at 99:99 check acme/web#1",
      "in 9999 hours check acme/web#1",
      "on 275760-09-13 check acme/web#1",
      "in the year 300000 check acme/web#1",
      `${"https://github.com/acme/web/pull/1 ".repeat(200)}`,
      "a/b#99999999999999999999999 tomorrow",
    ];
    for (const sentence of odd) {
      const result = parseReminder(sentence, berlin);
      if (result.ok) expect(remindPlanSchema.safeParse(result.plan).success).toBe(true);
      else expect(result.reason).not.toBe("");
    }
  });
});

/** The subject as written, for rows whose check names it (test rows give it explicitly). */
function subjectOf(check: CheckConfig): string {
  const github = check.github;
  return (
    github?.issue ?? github?.pr ?? github?.discussion ?? github?.ref ?? check.http?.url ?? check.command ?? ""
  );
}

const ODD_CHARACTERS = [
  "\u0000",
  "\u001b",
  "\u200b",
  "\u202e",
  "\ud83d",
  "\ude80",
  "🚀",
  "é",
  "ß",
  "中",
  "’",
  "`",
  '"',
  "'",
  "#",
  "/",
  ">",
  "\n",
  "  ",
];

function mangle(corpus: readonly string[], random: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  let sentence = pick(corpus);
  const steps = 1 + Math.floor(random() * 3);
  for (let step = 0; step < steps; step++) {
    const words = sentence.split(" ");
    switch (Math.floor(random() * 7)) {
      case 0: // truncate
        sentence = sentence.slice(0, Math.floor(random() * sentence.length));
        break;
      case 1: // shuffle words
        sentence = words.sort(() => random() - 0.5).join(" ");
        break;
      case 2: // splice in words from another sentence
        words.splice(Math.floor(random() * words.length), 0, ...pick(corpus).split(" ").slice(0, 4));
        sentence = words.join(" ");
        break;
      case 3: // drop a word
        words.splice(Math.floor(random() * words.length), 1);
        sentence = words.join(" ");
        break;
      case 4: {
        // insert odd characters
        const at = Math.floor(random() * (sentence.length + 1));
        sentence = sentence.slice(0, at) + pick(ODD_CHARACTERS) + pick(ODD_CHARACTERS) + sentence.slice(at);
        break;
      }
      case 5: // random code points
        sentence += ` ${Array.from({ length: 1 + Math.floor(random() * 8) }, () => String.fromCharCode(Math.floor(random() * 0xffff))).join("")}`;
        break;
      default: // change case
        sentence = random() < 0.5 ? sentence.toUpperCase() : sentence.toLowerCase();
    }
  }
  return sentence;
}
