/**
 * `loopd remind` and `loopd checks` as a user runs them: the built binary in a temp folder
 * with a loopd.yaml declaring a launch date and a channel. A sentence becomes a plan (shown,
 * not scheduled), `--yes` schedules it, `loopd checks` lists it; unreadable sentences and
 * ambiguous channels fail with their codes; a command-check watch run by hand exits 1 while
 * its condition is unmet.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Temporal } from "temporal-polyfill";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json, runCli } from "./helpers/cli.js";
import { openTestStore, type TestStore } from "./helpers/stores.js";

const TZ = "Europe/Berlin";
const SENTENCE = "let me know if https://github.com/acme/web/issues/34 isn't fixed by the day before launch";
/** Launch a month from now, so the deadline is always ahead of the real clock the CLI reads. */
const LAUNCH = Temporal.Now.plainDateISO(TZ).add({ days: 30 });
const DEADLINE = LAUNCH.subtract({ days: 1 }).toZonedDateTime({ timeZone: TZ, plainTime: "09:00" });

interface ErrorJson {
  error: { code: string; message: string; hint: string; exitCode: number; details?: Record<string, unknown> };
}
interface PlanJson {
  plan: { when: { mode: string; deadline: string; every: string }; check: Record<string, unknown> };
  routine: Record<string, unknown> & { name: string };
  check: string;
  scheduled: boolean;
  firstEvaluationAt: string;
}
interface CheckJson {
  routine: string;
  state: string;
  check: string;
  subject: string;
  deadline: string | null;
  nextEvaluationAt: string | null;
  notifies: string[];
}

const config = (channels: string) => `dates: { launch: ${LAUNCH.toString()} }
channels:
${channels}
routines:
  - name: release-notes-ready
    check: { command: "test -f RELEASE_NOTES.md" }
`;
const ONE_CHANNEL = '  me: { type: webhook, url: "http://127.0.0.1:9/hook" }';
const TWO_CHANNELS = `${ONE_CHANNEL}\n  team: { type: webhook, url: "http://127.0.0.1:9/team" }`;

// The CLI layer is the same on both stores (test/watches.test.ts runs watches on both); one
// dialect keeps this process-spawning suite short.
describe.each(["sqlite"] as const)("%s: loopd remind and loopd checks", (dialect) => {
  let target: TestStore;
  let cwd: string;
  let env: Record<string, string>;
  const loopd = (...args: string[]) => runCli(args, { cwd, env });
  const routineNames = async () =>
    json<Array<{ name: string }>>(await loopd("ls", "--json")).map((routine) => routine.name);

  beforeAll(async () => {
    target = await openTestStore(dialect);
    cwd = mkdtempSync(join(tmpdir(), "loopd-remind-"));
    env = { LOOPD_HOME: join(cwd, "home"), ...target.env };
    writeFileSync(join(cwd, "loopd.yaml"), config(ONE_CHANNEL));
    expect((await loopd("apply")).code).toBe(0);
  });
  afterAll(async () => {
    await target?.dispose();
    rmSync(cwd, { recursive: true, force: true });
  });

  it("prints the plan with --json and schedules nothing", async () => {
    const before = await routineNames();
    const result = await loopd("remind", "--json", SENTENCE, "--tz", TZ);
    expect(result.code).toBe(0);
    const planned = json<PlanJson>(result);
    expect(planned.scheduled).toBe(false);
    expect(planned.plan.when).toEqual({
      mode: "by",
      deadline: DEADLINE.toString({ timeZoneName: "never" }),
      every: "2h",
    });
    expect(Temporal.Instant.from(planned.plan.when.deadline).equals(DEADLINE.toInstant())).toBe(true);
    expect(planned.plan.check).toEqual({
      github: { issue: "https://github.com/acme/web/issues/34", state: "fixed" },
    });
    expect(planned.check).toBe("issue acme/web#34 is fixed");
    expect(planned.routine).toMatchObject({
      name: "watch-web-issue-34",
      by: planned.plan.when.deadline,
      every: "2h",
      tz: TZ,
      notify: { to: "me", on: ["deadline", "failure"] },
      labels: ["remind"],
    });
    expect(await routineNames()).toEqual(before);
  });

  it("refuses to schedule without --yes when there is no terminal to ask on", async () => {
    const result = await loopd("remind", SENTENCE, "--tz", TZ);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain("Plan for watch-web-issue-34");
    expect(result.stderr).toContain("LOOPD_CONFIRMATION_REQUIRED");
    expect(await routineNames()).toEqual(["release-notes-ready"]);
  });

  it("schedules with --yes, and `loopd checks` lists the watch as open with its deadline", async () => {
    const started = Date.now();
    const result = await loopd("remind", SENTENCE, "--tz", TZ, "--yes", "--json");
    expect(result.code).toBe(0);
    const scheduled = json<PlanJson & { routine: { name: string; nextDueAt: string } }>(result);
    expect(scheduled.scheduled).toBe(true);
    expect(scheduled.routine.name).toBe("watch-web-issue-34");
    expect(await routineNames()).toEqual(["release-notes-ready", "watch-web-issue-34"]);

    const checks = json<CheckJson[]>(await loopd("checks", "--json"));
    expect(checks).toHaveLength(1);
    const watch = checks[0]!;
    expect(watch).toMatchObject({
      routine: "watch-web-issue-34",
      state: "open",
      check: "issue acme/web#34 is fixed",
      subject: "https://github.com/acme/web/issues/34",
      deadline: DEADLINE.toInstant().toString({ fractionalSecondDigits: 3 }),
      notifies: ["me"],
    });
    // A `by` watch first looks at once.
    const next = Date.parse(watch.nextEvaluationAt!);
    expect(next).toBeGreaterThanOrEqual(started - 1000);
    expect(next).toBeLessThanOrEqual(Date.now());
  });

  it("lists the watch in words in `loopd checks`", async () => {
    const result = await loopd("checks");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/ROUTINE\s+STATE\s+CHECK\s+NEXT\s+DEADLINE\s+LAST/);
    expect(result.stdout).toMatch(/watch-web-issue-34\s+open\s+issue acme\/web#34 is fixed/);
    expect(result.stdout).toMatch(/\bin 2[89]d\b/); // the day before launch, 09:00
    expect(result.stdout).toContain("not evaluated yet");
    // A manual watch with no runs pending is not open.
    expect(result.stdout).not.toContain("release-notes-ready");
  });

  it("picks a free name for a second watch on the same subject", async () => {
    const planned = json<PlanJson>(await loopd("remind", "--json", SENTENCE, "--tz", TZ));
    expect(planned.routine.name).not.toBe("watch-web-issue-34");
    expect(planned.routine.name).toMatch(/^watch-web-issue-34-/);
  });

  it("plans in the zone the sentence names, and shows that zone (and UTC) before scheduling", async () => {
    const NY = "America/New_York";
    const sentence =
      "tomorrow at 9am America/New_York check https://github.com/acme/web/pull/8 and ping me if it isn't merged";
    const planned = json<PlanJson & { plan: { timeZone: string; when: { at: string } } }>(
      await loopd("remind", "--json", sentence),
    );
    const nine = Temporal.Now.plainDateISO(NY)
      .add({ days: 1 })
      .toZonedDateTime({ timeZone: NY, plainTime: "09:00" });
    expect(planned.plan.timeZone).toBe(NY);
    expect(planned.plan.when.at).toBe(nine.toString({ timeZoneName: "never" }));
    expect(planned.routine.tz).toBe(NY);

    const shown = await loopd("remind", sentence);
    expect(shown.code).toBe(2); // no terminal to confirm on
    const utc = nine.withTimeZone("UTC").toPlainTime().toString({ smallestUnit: "minute" });
    expect(shown.stdout).toMatch(new RegExp(`09:00 America/New_York \\(${utc} UTC\\)`));
    expect(shown.stdout).toMatch(/zone\s+America\/New_York \(/);

    const conflict = await loopd("remind", "--json", sentence, "--tz", "Asia/Tokyo");
    expect(conflict.code).toBe(2);
    expect(json<ErrorJson>(conflict).error).toMatchObject({ code: "LOOPD_REMIND_ZONE_CONFLICT" });
    const contradiction = await loopd("remind", "--json", "this morning at 9pm check acme/web#8 is merged");
    expect(json<ErrorJson>(contradiction).error.code).toBe("LOOPD_REMIND_TIME_CONFLICT");
    const ambiguous = await loopd("remind", "--json", "tomorrow 9am IST check acme/web#8 is merged");
    expect(json<ErrorJson>(ambiguous).error).toMatchObject({
      code: "LOOPD_REMIND_AMBIGUOUS_ZONE",
      exitCode: 2,
    });
  });

  it("rejects a sentence it cannot read, with the examples it can", async () => {
    const result = await loopd("remind", "--json", "wibble wobble");
    expect(result.code).toBe(2);
    const { error } = json<ErrorJson>(result);
    expect(error.code).toBe("LOOPD_REMIND_UNPARSED");
    expect(error.exitCode).toBe(2);
    const examples = error.details?.examples as string[];
    expect(examples).toHaveLength(3);
    expect(examples.join("\n")).toContain("discussions/12");
    expect(examples.join("\n")).toContain("issues/34");
    expect(examples.join("\n")).toContain("test/sync.test.ts");
    expect(error.hint).toContain(examples[0]!);
  });

  it("exits 1 with LOOPD_CHECK_UNSATISFIED while a command watch's condition is unmet, 0 once it is", async () => {
    const unmet = await loopd("run", "release-notes-ready", "--wait", "--json");
    expect(unmet.code).toBe(1);
    const { error } = json<ErrorJson>(unmet);
    expect(error.code).toBe("LOOPD_CHECK_UNSATISFIED");
    expect(error.message).toContain("`test -f RELEASE_NOTES.md` exited 1");
    const runId = String((error.details as { run: { id: number } }).run.id);
    expect(error.hint).toContain(`loopd show-run ${runId}`);

    const shown = json<{
      verdict: string;
      status: string;
      check: { status: string; evidence: Record<string, unknown> };
    }>(await loopd("show-run", runId, "--json"));
    expect(shown).toMatchObject({
      status: "succeeded",
      verdict: "unsatisfied",
      check: { status: "unsatisfied", evidence: { command: "test -f RELEASE_NOTES.md", exitCode: 1 } },
    });
    const human = await loopd("show-run", runId);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/check:\s+unsatisfied: `test -f RELEASE_NOTES.md` exited 1/);

    writeFileSync(join(cwd, "RELEASE_NOTES.md"), "# 1.0\n");
    const met = await loopd("run", "release-notes-ready", "--wait");
    expect(met.code).toBe(0);
    expect(met.stdout).toContain("check satisfied");

    const all = json<CheckJson[]>(await loopd("checks", "--all", "--json"));
    expect(all.find((view) => view.routine === "release-notes-ready")).toMatchObject({
      state: "satisfied",
      lastVerdict: "satisfied",
    });
  }, 90_000);

  it("asks which channel to ping when two are declared and no --to is given", async () => {
    writeFileSync(join(cwd, "loopd.yaml"), config(TWO_CHANNELS));
    expect((await loopd("apply")).code).toBe(0);
    const result = await loopd("remind", "--json", SENTENCE, "--tz", TZ);
    expect(result.code).toBe(2);
    const { error } = json<ErrorJson>(result);
    expect(error.code).toBe("LOOPD_REMIND_NO_CHANNEL");
    expect(error.message).toBe("2 channels are declared; which one should it ping?");
    expect(error.hint).toContain("--to <channel>");
    expect(error.hint).toContain("me, team");

    const chosen = json<PlanJson>(await loopd("remind", "--json", SENTENCE, "--tz", TZ, "--to", "team"));
    expect(chosen.routine.notify).toMatchObject({ to: "team" });
  });
});
