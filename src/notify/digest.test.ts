/**
 * Digests end to end: events for a rule with `digest:` reach a real webhook receiver as one
 * message after the window ends, none before, and the worker wakes for the window's end by
 * itself. Plus how a digest reads in the human-facing channels. Time is an injected clock.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { openTestStore, type TestStore, testDialects } from "../../test/helpers/stores.js";
import { waitUntil } from "../../test/helpers/wait.js";
import type { NotifyRuleSpec } from "../domain/routine-spec.js";
import { enqueueEvent } from "../store/outbox.js";
import { CONFIG_SETTING, putSetting } from "../store/settings.js";
import type { Store } from "../store/store.js";
import { discordMessage } from "./channels/discord.js";
import { emailMessage } from "./channels/email.js";
import { slackMessage } from "./channels/slack.js";
import { DeliveryWorker } from "./delivery-worker.js";
import type { NotificationEvent } from "./event.js";
import { describeEvent } from "./message.js";

const T0 = Date.parse("2026-11-28T12:10:00Z");
const WINDOW_END = Date.parse("2026-11-28T12:30:00Z");
const MINUTE = 60_000;
const RULES: NotifyRuleSpec[] = [
  { to: ["hook"], on: ["failure", "success"], changeOnly: false, digest: "30m" },
];

interface Received {
  id: string;
  body: {
    id: string;
    type: string;
    routine: string | null;
    payload: { count: number; failures: number; costUsd: number; events: Array<Record<string, unknown>> };
  };
}

describe.each(await testDialects())("%s: digest delivery", (dialect) => {
  let ctx: TestStore;
  let store: Store;
  let now: number;
  let worker: DeliveryWorker | undefined;
  let server: Server;
  let url: string;
  const received: Received[] = [];

  beforeAll(async () => {
    ctx = await openTestStore(dialect);
    store = ctx.store;
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => {
        body += chunk;
      });
      req.on("end", () => {
        received.push({ id: String(req.headers["webhook-id"]), body: JSON.parse(body) });
        res.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await ctx?.dispose();
  });
  beforeEach(async () => {
    now = T0;
    received.length = 0;
    await store.db.deleteFrom("outbox").execute();
    await putSetting(store.db, CONFIG_SETTING, { channels: { hook: { type: "webhook", url } } }, T0);
  });
  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
  });

  async function threeEvents(): Promise<void> {
    const events = [
      {
        type: "run.failed",
        kind: "failure",
        routine: "babysit-prs",
        extra: { error: "exit 1", costUsd: 0.3 },
      },
      { type: "run.succeeded", kind: "success", routine: "nightly", extra: { summary: "ok", costUsd: 0.12 } },
      { type: "run.timed_out", kind: "failure", routine: "nightly", extra: {} },
    ] as const;
    for (const [index, event] of events.entries()) {
      await enqueueEvent(store.db, {
        type: event.type,
        kind: event.kind,
        routineId: null,
        runId: index + 1,
        payload: { routine: event.routine, ...event.extra },
        notify: RULES,
        now: T0 + index * MINUTE,
      });
    }
  }

  it("sends three events of one window as one digest after the window, none before", async () => {
    await threeEvents();
    worker = new DeliveryWorker({ store, now: () => now });
    await worker.start();
    expect(received).toEqual([]);
    now = WINDOW_END - 1;
    await worker.wake();
    expect(received).toEqual([]);

    now = WINDOW_END;
    await worker.wake();
    expect(received).toHaveLength(1);
    const [message] = received;
    expect(message!.body).toMatchObject({
      type: "digest",
      routine: null,
      payload: { count: 3, failures: 2, costUsd: 0.42 },
    });
    expect(message!.id).toBe(message!.body.id);
    expect(message!.body.payload.events.map((entry) => [entry.routine, entry.type])).toEqual([
      ["babysit-prs", "run.failed"],
      ["nightly", "run.succeeded"],
      ["nightly", "run.timed_out"],
    ]);
    const statuses = await store.db.selectFrom("outbox").select(["type", "status"]).execute();
    expect(statuses.filter((row) => row.type === "digest")).toEqual([
      { type: "digest", status: "delivered" },
    ]);
    expect(statuses.filter((row) => row.type !== "digest").map((row) => row.status)).toEqual([
      "digested",
      "digested",
      "digested",
    ]);

    // Nothing more to say: later passes send nothing.
    now = WINDOW_END + 30 * MINUTE;
    await worker.wake();
    expect(received).toHaveLength(1);
  });

  it("wakes by itself at the window's end, not at the backstop", async () => {
    await threeEvents();
    // The pass sees the window end 300 ms away; the clock is then moved past it, so the
    // timer the worker set (not a wake() call) starts the pass that seals and sends.
    now = WINDOW_END - 300;
    worker = new DeliveryWorker({ store, now: () => now, backstopMs: 60_000 });
    await worker.start();
    expect(received).toEqual([]);
    now = WINDOW_END;
    await waitUntil(() => received.length > 0, "the digest sent by the worker's own timer", {
      timeoutMs: 5000,
      everyMs: 20,
    });
    expect(received).toHaveLength(1);
    expect(received[0]!.body.payload.count).toBe(3);
  });
});

describe("describeEvent: digest", () => {
  const digest: NotificationEvent = {
    id: "evt_digest",
    type: "digest",
    at: "2026-11-28T12:30:00.000Z",
    routine: null,
    runId: null,
    payload: {
      from: "2026-11-28T12:10:00.000Z",
      to: "2026-11-28T12:30:00.000Z",
      count: 5,
      failures: 2,
      costUsd: 0.42,
      events: [
        {
          id: "e1",
          type: "run.failed",
          routine: "babysit-prs",
          runId: 1,
          summary: "looked at 3 PRs",
          error: { code: "LOOPD_RUN_FAILED", message: "exit 1" },
          costUsd: 0.3,
          at: "2026-11-28T12:10:00.000Z",
        },
        {
          id: "e2",
          type: "run.succeeded",
          routine: "nightly",
          runId: 2,
          summary: "all green\nsecond line",
          error: null,
          costUsd: 0.12,
          at: "2026-11-28T12:11:00.000Z",
        },
        {
          id: "e3",
          type: "run.timed_out",
          routine: "nightly",
          runId: 3,
          summary: null,
          error: null,
          at: "x",
        },
        { id: "e4", type: "run.started", routine: "nightly", runId: 4, summary: null, error: null, at: "x" },
        {
          id: "e5",
          type: "routine.paused",
          routine: "lint",
          runId: null,
          summary: null,
          error: null,
          at: "x",
        },
      ],
    },
  };

  it("titles the totals, lists one line per event and takes its severity from failures", () => {
    const description = describeEvent(digest);
    expect(description.title).toBe("loopd digest: 5 events, 2 failed, $0.42");
    expect(description.severity).toBe("error");
    expect(description.summary!.split("\n")).toEqual([
      "babysit-prs failed: LOOPD_RUN_FAILED: exit 1",
      "nightly succeeded: all green",
      "nightly timed out",
      "nightly started",
      "lint paused",
    ]);
    expect(description.fields).toEqual([
      { label: "Events", value: "5" },
      { label: "Failed", value: "2" },
      { label: "Cost", value: "$0.42" },
      { label: "Window", value: "2026-11-28 12:10 – 12:30 UTC" },
    ]);
    expect(description.lines).toContain("babysit-prs failed: LOOPD_RUN_FAILED: exit 1");
    expect(description.lines).toContain("Window: 2026-11-28 12:10 – 12:30 UTC");
    expect(description.url).toBeNull();

    const succeeded = (digest.payload.events as unknown[])[1];
    const calm = describeEvent({
      ...digest,
      payload: { count: 1, failures: 0, costUsd: 0, events: [succeeded] },
    });
    expect(calm.title).toBe("loopd digest: 1 event");
    expect(calm.severity).toBe("success");
  });

  it("counts the events beyond the listed ones", () => {
    const events = Array.from({ length: 30 }, (_, index) => ({
      id: `e${index}`,
      type: "run.succeeded",
      routine: `r${index}`,
    }));
    const description = describeEvent({ ...digest, payload: { count: 30, failures: 0, events } });
    const lines = description.summary!.split("\n");
    expect(lines).toHaveLength(26);
    expect(lines.at(-1)).toBe("… and 5 more");
  });

  it("shows up in Slack, Discord and email through their usual parts", () => {
    const slack = JSON.stringify(slackMessage(digest).blocks);
    expect(slack).toContain("loopd digest: 5 events, 2 failed, $0.42");
    expect(slack).toContain("babysit-prs failed: LOOPD_RUN_FAILED: exit 1");
    const discord = discordMessage(digest);
    expect(discord.embeds[0]!.title).toBe("loopd digest: 5 events, 2 failed, $0.42");
    expect(discord.embeds[0]!.description).toContain("nightly timed out");
    const email = emailMessage(digest);
    expect(email.subject).toBe("[loopd] loopd digest: 5 events, 2 failed, $0.42");
    expect(email.text).toContain("lint paused");
    expect(email.html).toContain("nightly succeeded: all green");
  });
});
