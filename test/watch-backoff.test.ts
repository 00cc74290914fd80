/**
 * "tell me when CI is green" end to end (issue 16): the sentence becomes a watch that looks
 * after 5 minutes, then backs off while CI stays red — 5m, 10m, 20m, … capped at 2h — and a
 * changed verdict brings it back to 5 minutes. The engine runs on a fake clock against a
 * local server speaking GitHub's API; each look is one pass at the routine's next due time.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { planReminder, scheduleReminder } from "../src/app/remind.js";
import { Engine } from "../src/engine/engine.js";
import { shellHarness } from "../src/harness/shell.js";
import { findRoutineByName } from "../src/store/routines.js";
import { listRuns } from "../src/store/runs.js";
import { CONFIG_SETTING, putSetting } from "../src/store/settings.js";
import { addRoutine, FakeClock } from "./helpers/routines.js";
import { openTestStore, type TestStore, testDialects } from "./helpers/stores.js";
import { type FakeGithub, startFakeGithub } from "./support/fake-github/server.js";
import type { CheckRunFixture } from "./support/fake-github/state.js";

const T0 = Date.parse("2026-12-04T09:00:00Z");
const MINUTE = 60_000;
const TOKEN = "ghp_watch_backoff_token";
const RED: CheckRunFixture[] = [{ name: "build", status: "completed", conclusion: "failure" }];
const GREEN: CheckRunFixture[] = [{ name: "build", status: "completed", conclusion: "success" }];

describe.each(await testDialects())("%s: a CI-status watch backs off", (dialect) => {
  let ctx: TestStore;
  let github: FakeGithub;
  let repo: string;
  let clock: FakeClock;
  let engine: Engine;

  beforeAll(async () => {
    github = await startFakeGithub({ token: TOKEN });
  });
  afterAll(async () => {
    await github.close();
  });
  beforeEach(async () => {
    ctx = await openTestStore(dialect);
    clock = new FakeClock(T0);
    repo = mkdtempSync(join(tmpdir(), "loopd-watch-backoff-"));
    github.state.checkRuns["acme/web@main"] = RED;
    await putSetting(
      ctx.store.db,
      CONFIG_SETTING,
      { channels: { me: { type: "log" } }, github: { apiUrl: github.apiUrl } },
      T0,
    );
    engine = new Engine({
      store: ctx.store,
      harnesses: new Map([["shell", shellHarness]]),
      roles: { schedule: true, work: true },
      clock,
      env: { ...process.env, GITHUB_TOKEN: TOKEN },
    });
  });
  afterEach(async () => {
    await engine.stop(0);
    await ctx.dispose();
    rmSync(repo, { recursive: true, force: true });
  });

  async function nextDueAt(name: string): Promise<number | null> {
    return (await findRoutineByName(ctx.store.db, name))!.nextDueAt;
  }

  /** Looks `count` times, each at the routine's next due time: the gaps between looks, in minutes. */
  async function look(name: string, count: number): Promise<number[]> {
    const gaps: number[] = [];
    for (let i = 0; i < count; i++) {
      const due = (await nextDueAt(name))!;
      gaps.push((due - clock.now()) / MINUTE);
      clock.time = due;
      await engine.pass();
      await engine.idle();
    }
    return gaps;
  }

  async function verdicts(name: string): Promise<Array<string | null>> {
    const routine = await findRoutineByName(ctx.store.db, name);
    const runs = await listRuns(ctx.store.db, { routineId: routine!.id, limit: 100 });
    return runs.reverse().map((run) => run.verdict);
  }

  it('`loopd remind "tell me when CI is green on …"` looks at 5m, 10m, 20m, … up to 2h, and stops once green', async () => {
    const request = {
      sentence: "tell me when CI is green on acme/web@main",
      now: clock.now(),
      timeZone: "UTC",
      cwd: repo,
      env: {},
      useModel: false,
    };
    const planned = await planReminder(ctx.store, request);
    expect(planned.plan.when).toEqual({ mode: "until-satisfied", every: "5m", backoff: "2h" });
    const { name } = await scheduleReminder(ctx.store, planned, request);

    // The first look 5 minutes after asking; then, while CI stays red, each wait doubles.
    expect(await look(name, 9)).toEqual([5, 5, 10, 20, 40, 80, 120, 120, 120]);
    expect(new Set(await verdicts(name))).toEqual(new Set(["unsatisfied"]));

    github.state.checkRuns["acme/web@main"] = GREEN;
    await look(name, 1);
    expect((await verdicts(name)).at(-1)).toBe("satisfied");
    expect(await nextDueAt(name)).toBeNull();
  });

  it("a changed verdict brings the interval back to `every`, then it backs off again", async () => {
    await addRoutine(
      ctx.store,
      {
        name: "main-ci",
        every: "5m",
        backoff: "2h",
        check: { github: { ref: "acme/web@main", checks: "green" } },
      },
      { repo, nextDueAt: T0 + 5 * MINUTE, now: T0 },
    );
    expect(await look("main-ci", 5)).toEqual([5, 5, 10, 20, 40]);

    github.state.checkRuns["acme/web@main"] = GREEN; // red → green: a change
    expect(await look("main-ci", 4)).toEqual([80, 5, 10, 20]);
    github.state.checkRuns["acme/web@main"] = RED; // green → red: a change again
    expect(await look("main-ci", 3)).toEqual([40, 5, 10]);
    expect(await verdicts("main-ci")).toEqual([
      ...Array(5).fill("unsatisfied"),
      ...Array(4).fill("satisfied"),
      ...Array(3).fill("unsatisfied"),
    ]);
  });

  it.each([
    ["with `every` omitted backs off", {}, [0, 5, 10, 20, 40, 80]],
    ["with a written `every` keeps it", { every: "5m" }, [0, 5, 5, 5, 5, 5]],
  ])("a CI watch in loopd.yaml %s", async (_name, fields, gaps) => {
    const deadline = new Date(T0 + 7 * 24 * 60 * MINUTE).toISOString();
    const check = { github: { ref: "acme/web@main", checks: "green" } };
    // A `by` watch looks at once, then every `every` until the deadline.
    await addRoutine(
      ctx.store,
      { name: "ci", by: deadline, check, ...fields },
      { repo, nextDueAt: T0, now: T0 },
    );
    expect(await look("ci", 6)).toEqual(gaps);
  });
});
