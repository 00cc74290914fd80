/**
 * Future-aware prompts end to end: each seed sentence, typed as is, becomes a plan through
 * `loopd remind`'s use-case, is scheduled, evaluated at the right time by the engine (fake
 * clock) against a local server speaking GitHub's API (or a real flaky test command), and
 * pings a real webhook receiver when unresolved — and stays quiet when resolved.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { planReminder, scheduleReminder } from "../src/app/remind.js";
import { Engine } from "../src/engine/engine.js";
import { shellHarness } from "../src/harness/shell.js";
import { DeliveryWorker } from "../src/notify/delivery-worker.js";
import { findRoutineByName } from "../src/store/routines.js";
import { listRuns } from "../src/store/runs.js";
import { CONFIG_SETTING, putSetting } from "../src/store/settings.js";
import { FakeClock } from "./helpers/routines.js";
import { openTestStore, type TestStore, testDialects } from "./helpers/stores.js";
import { type FakeGithub, startFakeGithub } from "./support/fake-github/server.js";

const TZ = "Europe/Berlin";
/** Sunday 29 November 2026, 11:00 in Berlin. */
const T0 = Date.parse("2026-11-29T10:00:00Z");
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const TOKEN = "ghp_watches_test_token";

const SEEDS = {
  discussion:
    "tomorrow, check in on https://github.com/acme/web/discussions/12 and ping me if it isn't resolved",
  bug: "let me know if https://github.com/acme/web/issues/34 isn't fixed by the day before launch",
  flaky: "bug me if test/sync.test.ts doesn't go green after retry",
};

describe.each(await testDialects())("%s: future-aware prompts", (dialect) => {
  let ctx: TestStore;
  let github: FakeGithub;
  let receiver: Server;
  let pings: Array<Record<string, unknown>>;
  let repo: string;
  let clock: FakeClock;
  let engine: Engine;
  let delivery: DeliveryWorker;

  beforeAll(async () => {
    github = await startFakeGithub({ token: TOKEN });
    receiver = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on("end", () => {
        pings.push(JSON.parse(body) as Record<string, unknown>);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  });
  afterAll(async () => {
    await github.close();
    await new Promise((resolve) => receiver.close(resolve));
  });

  beforeEach(async () => {
    pings = [];
    ctx = await openTestStore(dialect);
    clock = new FakeClock(T0);
    repo = mkdtempSync(join(tmpdir(), "loopd-watch-"));
    // A repo whose `npm test -- <file>` runs a test that is red on its first try when flaky.
    writeFileSync(join(repo, "package.json"), JSON.stringify({ scripts: { test: "node run-test.cjs" } }));
    writeFileSync(
      join(repo, "run-test.cjs"),
      `const fs = require("node:fs");
       if (fs.readFileSync("mode", "utf8").trim() === "red") process.exit(1);
       if (fs.existsSync(".tried")) { fs.rmSync(".tried"); process.exit(0); }
       fs.writeFileSync(".tried", ""); process.exit(1);`,
    );
    mkdirSync(join(repo, "test"));
    writeFileSync(join(repo, "test", "sync.test.ts"), "");
    const port = (receiver.address() as AddressInfo).port;
    await putSetting(
      ctx.store.db,
      CONFIG_SETTING,
      {
        dates: { launch: "2026-12-10" },
        channels: { me: { type: "webhook", url: `http://127.0.0.1:${port}/hook` } },
        github: { apiUrl: github.apiUrl },
      },
      T0,
    );
    engine = new Engine({
      store: ctx.store,
      harnesses: new Map([["shell", shellHarness]]),
      roles: { schedule: true, work: true },
      clock,
      env: { ...process.env, GITHUB_TOKEN: TOKEN },
    });
    delivery = new DeliveryWorker({ store: ctx.store, now: () => clock.now() });
    await delivery.start();
  });
  afterEach(async () => {
    await engine.stop(0);
    await delivery.stop();
    await ctx.dispose();
    rmSync(repo, { recursive: true, force: true });
  });

  async function remind(sentence: string) {
    const request = { sentence, now: clock.now(), timeZone: TZ, cwd: repo, env: {}, useModel: false };
    const planned = await planReminder(ctx.store, request);
    const routine = await scheduleReminder(ctx.store, planned, request);
    return { planned, routine };
  }

  /** One scheduler/worker pass at the fake clock's time, then its deliveries. */
  async function passAt(time: number): Promise<void> {
    clock.time = time;
    await engine.pass();
    await engine.idle();
    await delivery.wake();
  }

  async function runsOf(name: string) {
    const routine = await findRoutineByName(ctx.store.db, name);
    return (await listRuns(ctx.store.db, { routineId: routine!.id, limit: 500 })).reverse();
  }

  it("'tomorrow … ping me if it isn't resolved' looks once tomorrow at 09:00 and pings when unresolved", async () => {
    github.state.discussions["acme/web#12"] = { title: "Cache keys", isAnswered: false, comments: 4 };
    const { planned, routine } = await remind(SEEDS.discussion);
    expect(planned.plan).toMatchObject({
      when: { mode: "at", at: "2026-11-30T09:00:00+01:00" },
      check: { github: { discussion: "https://github.com/acme/web/discussions/12", state: "resolved" } },
      notifyOn: "unsatisfied",
    });
    const at = Date.parse("2026-11-30T08:00:00Z");

    await passAt(at - MINUTE);
    expect(await runsOf(routine.name)).toHaveLength(0);
    await passAt(at);
    const [run] = await runsOf(routine.name);
    expect(run).toMatchObject({ status: "succeeded", verdict: "unsatisfied", dueAt: at });
    expect(pings).toHaveLength(1);
    expect(pings[0]).toMatchObject({
      type: "check.unsatisfied",
      routine: routine.name,
      payload: { verdict: "unsatisfied", check: "discussion acme/web#12 is resolved" },
    });
    expect(String((pings[0]!.payload as Record<string, unknown>).summary)).toContain("acme/web#12");

    // A one-shot: nothing more to do, ever.
    await passAt(at + 7 * 24 * HOUR);
    expect(await runsOf(routine.name)).toHaveLength(1);
  });

  it("'tomorrow … ping me if it isn't resolved' stays quiet when the discussion was answered", async () => {
    github.state.discussions["acme/web#12"] = {
      title: "Cache keys",
      isAnswered: true,
      answer: { author: "octocat" },
      answerChosenAt: "2026-11-29T20:00:00Z",
    };
    const { routine } = await remind(SEEDS.discussion);
    await passAt(Date.parse("2026-11-30T08:00:00Z"));
    expect(await runsOf(routine.name)).toMatchObject([{ status: "succeeded", verdict: "satisfied" }]);
    expect(pings).toEqual([]);
  });

  it("'… isn't fixed by the day before launch' checks until the deadline and pings when it passes", async () => {
    github.state.issues["acme/web#34"] = { title: "Crash on save", state: "open", comments: 7 };
    const { planned, routine } = await remind(SEEDS.bug);
    const deadline = Date.parse("2026-12-09T08:00:00Z");
    expect(planned.plan.when).toEqual({ mode: "by", deadline: "2026-12-09T09:00:00+01:00", every: "2h" });
    expect(planned.plan.check).toEqual({
      github: { issue: "https://github.com/acme/web/issues/34", state: "fixed" },
    });

    await passAt(T0); // the first look is at once
    await passAt(T0 + 2 * HOUR);
    expect((await runsOf(routine.name)).map((run) => run.verdict)).toEqual(["unsatisfied", "unsatisfied"]);
    expect(pings).toEqual([]); // still time: nobody is bothered before the deadline

    await passAt(deadline - MINUTE); // a sleep of days: one catch-up look, the rest recorded as skipped
    await passAt(deadline);
    const runs = await runsOf(routine.name);
    expect(runs.at(-1)).toMatchObject({ dueAt: deadline, verdict: "unsatisfied" });
    expect(runs.filter((run) => run.status === "skipped").length).toBeGreaterThan(50);
    expect(pings).toHaveLength(1);
    expect(pings[0]).toMatchObject({
      type: "check.deadline_missed",
      routine: routine.name,
      payload: { deadline: "2026-12-09T08:00:00.000Z", check: "issue acme/web#34 is fixed" },
    });
    expect((await findRoutineByName(ctx.store.db, routine.name))?.nextDueAt).toBeNull();
  });

  it("'… isn't fixed by the day before launch' stops looking and stays quiet once the issue is fixed", async () => {
    github.state.issues["acme/web#34"] = { title: "Crash on save", state: "open" };
    const { routine } = await remind(SEEDS.bug);
    await passAt(T0);
    github.state.issues["acme/web#34"] = {
      title: "Crash on save",
      state: "closed",
      state_reason: "completed",
    };
    await passAt(T0 + 2 * HOUR);
    expect((await runsOf(routine.name)).map((run) => run.verdict)).toEqual(["unsatisfied", "satisfied"]);
    expect((await findRoutineByName(ctx.store.db, routine.name))?.nextDueAt).toBeNull();

    await passAt(Date.parse("2026-12-09T08:00:00Z"));
    expect(await runsOf(routine.name)).toHaveLength(2);
    expect(pings).toEqual([]);
  });

  it("'bug me if … doesn't go green after retry' reruns a flaky test at once and stays quiet when it passes", async () => {
    writeFileSync(join(repo, "mode"), "flaky");
    const { planned, routine } = await remind(SEEDS.flaky);
    expect(planned.plan).toMatchObject({
      when: { mode: "after-retry" },
      check: { testRetry: { command: "npm test -- test/sync.test.ts", retries: 2 } },
    });
    await passAt(T0);
    const [run] = await runsOf(routine.name);
    expect(run).toMatchObject({ status: "succeeded", verdict: "satisfied" });
    expect(run!.summary).toMatch(/^flaky: .* failed 1 time\(s\), then passed on try 2/);
    expect(pings).toEqual([]);
  });

  it("'bug me if … doesn't go green after retry' pings when the test stays red through the retries", async () => {
    writeFileSync(join(repo, "mode"), "red");
    const { routine } = await remind(SEEDS.flaky);
    await passAt(T0);
    expect(await runsOf(routine.name)).toMatchObject([{ status: "succeeded", verdict: "unsatisfied" }]);
    expect(pings).toHaveLength(1);
    expect(pings[0]).toMatchObject({ type: "check.unsatisfied", routine: routine.name });
    expect(String((pings[0]!.payload as Record<string, unknown>).summary)).toMatch(
      /still red: .* failed all 3 tries/,
    );
  });
});
