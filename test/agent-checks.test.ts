/**
 * Model-judged watches and the remind model fallback end to end: loopd.yaml applied to a real
 * store, runs executed by the engine (fake clock) through the real builtin harness (AI SDK)
 * against the fake model server speaking Chat Completions. An agent check's answer is a
 * verdict only when it is exactly `{satisfied, reason}`; its run is priced and ledgered like
 * any agent run; `loopd remind` asks the cheapest tier only for what the parser cannot read.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { applyConfig } from "../src/app/apply-config.js";
import { planReminder, type RemindRequest } from "../src/app/remind.js";
import { fireRoutine } from "../src/app/run-now.js";
import { DEFAULT_PRICING } from "../src/domain/pricing.js";
import { Engine } from "../src/engine/engine.js";
import { createHarnessRegistry } from "../src/harness/registry.js";
import { costReport } from "../src/store/ledger.js";
import { findRun } from "../src/store/runs.js";
import { FakeClock } from "./helpers/routines.js";
import { openTestStore, type TestStore, testDialects } from "./helpers/stores.js";
import type { ModelRequest } from "./support/fake-model/script.js";
import { type FakeModelServer, startFakeModelServer } from "./support/fake-model/server.js";

const T0 = Date.parse("2026-11-29T10:00:00Z");
const TZ = "Europe/Berlin";
/** USD per million tokens for the fake tiers' models. */
const PRICING = {
  "cheap-model": { input: 1, cachedInput: 0.1, output: 5 },
  "strong-model": { input: 10, cachedInput: 1, output: 50 },
};
const QUESTION = "Is the release notes file complete?";
const UNREADABLE = "whenever the quarterly numbers look off, tell me";
const QUARTERLY_PLAN = {
  when: { mode: "until-satisfied", every: "1d" },
  subject: "https://metrics.acme.dev/quarterly",
  check: { http: { url: "https://metrics.acme.dev/quarterly", contains: "on track" } },
  notifyOn: "unsatisfied",
};

/** Everything the model was told in one request (system, prompt, tool results). */
const said = (request: ModelRequest): string => JSON.stringify(request.body.messages);

describe.each(await testDialects())(
  "%s: agent checks and the remind model on the builtin harness",
  (dialect) => {
    let model: FakeModelServer;
    let ctx: TestStore;
    let dir: string;
    let clock: FakeClock;
    let engine: Engine;
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
    const harnesses = () => createHarnessRegistry({}, { ...DEFAULT_PRICING, ...PRICING });

    beforeAll(async () => {
      model = await startFakeModelServer({ script: [] });
    });
    afterAll(async () => {
      await model.close();
    });

    beforeEach(async () => {
      ctx = await openTestStore(dialect);
      clock = new FakeClock(T0);
      dir = mkdtempSync(join(tmpdir(), "loopd-agent-check-"));
      writeFileSync(join(dir, "NOTES.md"), "# Release 2.0\n\n## Features\n\nTODO\n");
      // The cheap tier is declared first: an agent check without a tier asks it.
      writeFileSync(
        join(dir, "loopd.yaml"),
        `models:
  cheap: { harness: builtin, model: "openai-compatible:cheap-model", baseUrl: "${model.url}/v1" }
  strong: { harness: builtin, model: "openai-compatible:strong-model", baseUrl: "${model.url}/v1" }
pricing:
  cheap-model: { input: 1, cachedInput: 0.1, output: 5 }
  strong-model: { input: 10, cachedInput: 1, output: 50 }
channels:
  me: { type: webhook, url: "http://127.0.0.1:9/hook" }
routines:
  - name: release-notes
    repo: .
    every: 1d
    check: { agent: { question: "${QUESTION}", subject: NOTES.md } }
    notify: { to: me }
`,
      );
      await applyConfig(ctx.store, { file: join(dir, "loopd.yaml"), dryRun: false, prune: false, now: T0 });
      engine = new Engine({
        store: ctx.store,
        harnesses: harnesses(),
        roles: { schedule: true, work: true },
        clock,
        env,
      });
    });
    afterEach(async () => {
      await engine.stop(0);
      await ctx.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    /** `loopd run release-notes`, executed by the engine at the fake clock's time. */
    async function evaluate() {
      const { runId } = await fireRoutine(ctx.store, "release-notes", { now: clock.now() });
      await engine.pass();
      await engine.idle();
      const run = await findRun(ctx.store.db, runId);
      if (!run) throw new Error(`run ${runId} vanished`);
      return run;
    }

    const ledger = () =>
      ctx.store.db
        .selectFrom("ledger")
        .select(["routine_name", "run_id", "tier", "model", "cost_source"])
        .execute();
    const outbox = () =>
      ctx.store.db
        .selectFrom("outbox")
        .select(["type", "channel", "payload"])
        .orderBy("created_at")
        .execute();

    it("a JSON yes is a satisfied verdict, on the cheapest tier, priced and ledgered like any agent run", async () => {
      model.setScript([
        {
          toolCalls: [{ name: "read_file", input: { path: "NOTES.md" } }],
          usage: { input: 1000, output: 50 },
        },
        {
          text: '{"satisfied": true, "reason": "Every section of NOTES.md has content."}',
          usage: { input: 1200, output: 30 },
        },
      ]);
      const run = await evaluate();
      expect(run).toMatchObject({
        status: "succeeded",
        verdict: "satisfied",
        summary: "Every section of NOTES.md has content.",
        errorCode: null,
        tier: "cheap",
        turns: 2,
      });
      expect(run.usage).toMatchObject({ tokensIn: 2200, tokensOut: 80 });
      expect(run.costUsd).toBeCloseTo((2200 * 1 + 80 * 5) / 1e6, 9);

      const [first, second] = model.turns();
      expect(first?.model).toBe("cheap-model");
      expect(said(first!)).toContain(`Question: ${QUESTION}`);
      expect(said(first!)).toContain("Subject: NOTES.md");
      // The agent really looked: the file's text went back to the model as the tool's result.
      expect(said(second!)).toContain("## Features");

      const byTier = await costReport(ctx.store.db, { by: "tier", since: 0 });
      expect(byTier).toHaveLength(1);
      expect(byTier[0]).toMatchObject({ key: "cheap", runs: 1, tokensIn: 2200, tokensOut: 80 });
      expect(byTier[0]!.costUsd).toBeCloseTo(run.costUsd, 9);
      // Metered by the gateway: one ledger row per model request, written as it completed.
      const row = {
        routine_name: "release-notes",
        run_id: run.id,
        tier: "cheap",
        model: "cheap-model",
        cost_source: "gateway",
      };
      expect(await ledger()).toEqual([row, row]);
      expect(await outbox()).toEqual([]); // satisfied: nobody is bothered
    });

    it("a fenced JSON no is an unsatisfied verdict, and the watch's notification is queued", async () => {
      model.setScript([
        {
          text: '```json\n{"satisfied": false, "reason": "The Features section is still TODO."}\n```',
          usage: { input: 900, output: 40 },
        },
      ]);
      const run = await evaluate();
      expect(run).toMatchObject({
        status: "succeeded",
        verdict: "unsatisfied",
        summary: "The Features section is still TODO.",
      });
      expect(run.costUsd).toBeCloseTo((900 * 1 + 40 * 5) / 1e6, 9);

      const rows = await outbox();
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ type: "check.unsatisfied", channel: "me" });
      expect(JSON.parse(rows[0]!.payload)).toMatchObject({
        verdict: "unsatisfied",
        runId: run.id,
        summary: "The Features section is still TODO.",
      });
    });

    it("an answer in prose fails the run with LOOPD_CHECK_ANSWER_INVALID and gives no verdict", async () => {
      model.setScript([{ text: "Yes, it looks complete.", usage: { input: 800, output: 10 } }]);
      const run = await evaluate();
      expect(run).toMatchObject({
        status: "failed",
        verdict: null,
        errorCode: "LOOPD_CHECK_ANSWER_INVALID",
      });
      expect(run.errorMessage).toContain("Yes, it looks complete.");
      // A failed check still cost money, and the ledger says so.
      expect(run.costUsd).toBeCloseTo((800 * 1 + 10 * 5) / 1e6, 9);
      expect((await costReport(ctx.store.db, { by: "tier", since: 0 }))[0]?.key).toBe("cheap");
      // No guess at a verdict: the watch says it could not be evaluated, not "unsatisfied".
      const rows = await outbox();
      expect(rows.map((row) => row.type)).toEqual(["run.failed"]);
      expect(JSON.parse(rows[0]!.payload)).toMatchObject({ error: { code: "LOOPD_CHECK_ANSWER_INVALID" } });
    });

    describe("loopd remind's model fallback", () => {
      const request = (overrides: Partial<RemindRequest> = {}): RemindRequest => ({
        sentence: UNREADABLE,
        now: clock.now(),
        timeZone: TZ,
        cwd: dir,
        env,
        harnesses: async () => harnesses(),
        ...overrides,
      });

      it("asks the cheapest tier for a sentence the parser cannot read, and uses its plan", async () => {
        model.setScript([{ text: JSON.stringify(QUARTERLY_PLAN), usage: { input: 3000, output: 120 } }]);
        const before = model.requests.length;
        const planned = await planReminder(ctx.store, request());
        // The sentence names no zone: the plan is read in the request's.
        expect(planned.plan).toEqual({ ...QUARTERLY_PLAN, timeZone: TZ });
        expect(planned.source).toEqual({ model: "cheap", costUsd: expect.any(Number) });
        expect((planned.source as { costUsd: number }).costUsd).toBeCloseTo((3000 * 1 + 120 * 5) / 1e6, 9);
        expect(planned.routine).toMatchObject({
          every: "1d",
          until: { satisfied: true },
          check: QUARTERLY_PLAN.check,
          notify: { to: "me" },
          labels: ["remind"],
        });

        const asked = model.requests.slice(before);
        expect(asked).toHaveLength(1);
        expect(asked[0]?.model).toBe("cheap-model");
        expect(said(asked[0]!)).toContain(UNREADABLE);
        // The call is paid for like any other: its cost is in the ledger.
        const byRoutine = await costReport(ctx.store.db, { by: "routine", since: 0 });
        expect(byRoutine).toMatchObject([{ key: "(remind)", tokensIn: 3000, tokensOut: 120 }]);
        expect(await ledger()).toEqual([
          {
            routine_name: "(remind)",
            run_id: null,
            tier: "cheap",
            model: "cheap-model",
            cost_source: "priced",
          },
        ]);
      });

      it("passes on the model's refusal as LOOPD_REMIND_UNPARSED", async () => {
        model.setScript([{ text: '{"error": "not a reminder"}' }]);
        const failure = await planReminder(ctx.store, request()).catch((error: unknown) => error);
        expect(failure).toMatchObject({ name: "LoopdError", code: "LOOPD_REMIND_UNPARSED" });
        expect((failure as Error).message).toContain(
          "the model tier could not either (cheap: not a reminder)",
        );
      });

      it("reports a failing model tier as LOOPD_REMIND_UNPARSED, with the tier's error", async () => {
        model.setScript(() => ({ status: 401, errorMessage: "invalid api key" }));
        const failure = await planReminder(ctx.store, request()).catch((error: unknown) => error);
        expect(failure).toMatchObject({ name: "LoopdError", code: "LOOPD_REMIND_UNPARSED" });
        expect((failure as Error).message).toContain(
          'the model tier could not either (cheap: tier "cheap" failed:',
        );
      });

      it("does not call the model when told not to", async () => {
        model.setScript([{ text: JSON.stringify(QUARTERLY_PLAN) }]);
        const before = model.requests.length;
        const failure = await planReminder(ctx.store, request({ useModel: false })).catch(
          (error: unknown) => error,
        );
        expect(failure).toMatchObject({ name: "LoopdError", code: "LOOPD_REMIND_UNPARSED" });
        expect((failure as Error).message).not.toContain("model tier");
        expect(model.requests.length).toBe(before);
      });
    });
  },
);
