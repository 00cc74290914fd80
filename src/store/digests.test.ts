/**
 * Notification digests on both stores: a rule with `digest:` holds its channel's rows until
 * the aligned window ends, `sealDigests` turns a window's held rows into one pending digest
 * row per channel (and marks them digested), and the worker's wake-up read sees the window.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { openTestStore, type TestStore, testDialects } from "../../test/helpers/stores.js";
import type { NotifyRuleSpec } from "../domain/routine-spec.js";
import { countDeliveriesByStatus, listDeliveries, retryDelivery } from "./deliveries.js";
import { digestWindowEnd, enqueueEvent } from "./outbox.js";
import { claimDeliveries, nextDeliveryAt } from "./sql/claim-deliveries.js";
import { type DigestPayload, sealDigests } from "./sql/seal-digests.js";
import { openStore, type Store } from "./store.js";

/** 12:10 UTC: the 30-minute window it falls in ends at 12:30. */
const NOW = Date.parse("2026-11-28T12:10:00Z");
const WINDOW_END = Date.parse("2026-11-28T12:30:00Z");
const MINUTE = 60_000;

const RULES: NotifyRuleSpec[] = [
  { to: ["slack"], on: ["failure", "success"], changeOnly: false, digest: "30m" },
  { to: ["hook"], on: ["failure"], changeOnly: false },
];

describe("digestWindowEnd", () => {
  it("is the end of the epoch-aligned window; a boundary instant opens the next window", () => {
    expect(digestWindowEnd(NOW, 30 * MINUTE)).toBe(WINDOW_END);
    expect(digestWindowEnd(WINDOW_END - 1, 30 * MINUTE)).toBe(WINDOW_END);
    expect(digestWindowEnd(WINDOW_END, 30 * MINUTE)).toBe(WINDOW_END + 30 * MINUTE);
  });
});

describe.each(await testDialects())("%s: notification digests", (dialect) => {
  let ctx: TestStore;
  let store: Store;
  beforeAll(async () => {
    ctx = await openTestStore(dialect);
    store = ctx.store;
  });
  afterAll(async () => {
    await ctx?.dispose();
  });
  beforeEach(async () => {
    await store.db.deleteFrom("outbox").execute();
  });

  const rows = () => store.db.selectFrom("outbox").selectAll().orderBy("created_at").orderBy("id").execute();

  let runId = 0;
  async function event(
    fields: {
      type?: string;
      kind?: "failure" | "success";
      at?: number;
      routine?: string;
      notify?: NotifyRuleSpec[];
      payload?: Record<string, unknown>;
    } = {},
  ): Promise<void> {
    const type = fields.type ?? "run.failed";
    await enqueueEvent(store.db, {
      type,
      kind: fields.kind ?? (type === "run.succeeded" ? "success" : "failure"),
      routineId: null,
      runId: ++runId,
      payload: { routine: fields.routine ?? "babysit-prs", ...fields.payload },
      notify: fields.notify ?? RULES,
      now: fields.at ?? NOW,
    });
  }

  it("holds the rows of a channel whose rules digest, and sends the others at once", async () => {
    await event();
    const written = await rows();
    expect(written.map((row) => [row.channel, row.status])).toEqual(
      expect.arrayContaining([
        ["slack", "held"],
        ["hook", "pending"],
      ]),
    );
    const slack = written.find((row) => row.channel === "slack")!;
    const hook = written.find((row) => row.channel === "hook")!;
    expect(Number(slack.digest_until)).toBe(WINDOW_END);
    expect(hook.digest_until).toBeNull();
    expect(Number(hook.next_attempt_at)).toBe(NOW);
    // Only the pending row is handed to a sender.
    const { claimed } = await claimDeliveries(store, {
      now: WINDOW_END + MINUTE,
      limit: 10,
      leaseMs: MINUTE,
    });
    expect(claimed.map((row) => row.channel)).toEqual(["hook"]);
  });

  it("sends at once when any matching rule for the channel has no digest; the shortest digest wins", async () => {
    await event({
      notify: [
        { to: ["slack"], on: ["failure"], changeOnly: false, digest: "1h" },
        { to: ["slack", "mail"], on: ["failure"], changeOnly: false, digest: "30m" },
        { to: ["mail", "hook"], on: ["failure"], changeOnly: false },
        // Does not match a failure: its lack of a digest does not count.
        { to: ["slack"], on: ["success"], changeOnly: false },
      ],
    });
    const byChannel = Object.fromEntries(
      (await rows()).map((row) => [
        row.channel,
        [row.status, row.digest_until === null ? null : Number(row.digest_until)],
      ]),
    );
    expect(byChannel).toEqual({
      slack: ["held", WINDOW_END],
      mail: ["pending", null],
      hook: ["pending", null],
    });
  });

  it("seals nothing before the window ends", async () => {
    await event();
    await event({ at: NOW + MINUTE });
    expect(await sealDigests(store, WINDOW_END - 1)).toBe(0);
    expect((await rows()).filter((row) => row.status === "held")).toHaveLength(2);
    expect((await rows()).some((row) => row.type === "digest")).toBe(false);
  });

  it("writes nothing when nothing is held", async () => {
    expect(await sealDigests(store, WINDOW_END)).toBe(0);
    expect(await rows()).toEqual([]);
    await event({ notify: [{ to: ["hook"], on: ["failure"], changeOnly: false }] });
    expect(await sealDigests(store, WINDOW_END + 60 * MINUTE)).toBe(0);
    expect((await rows()).map((row) => row.status)).toEqual(["pending"]);
  });

  it("after the window, writes one digest per channel with all its events and marks them digested", async () => {
    const rules: NotifyRuleSpec[] = [
      { to: ["slack", "mail"], on: ["failure", "success"], changeOnly: false, digest: "30m" },
    ];
    await event({
      notify: rules,
      payload: { error: { code: "LOOPD_RUN_FAILED", message: "exit 1" }, costUsd: 0.25 },
    });
    await event({
      notify: rules,
      at: NOW + MINUTE,
      type: "run.succeeded",
      routine: "nightly",
      payload: { summary: "all green", costUsd: 0.17 },
    });
    await event({ notify: rules, at: NOW + 2 * MINUTE, type: "run.timed_out", routine: "nightly" });
    // The next window's event stays held.
    await event({ notify: rules, at: WINDOW_END + MINUTE });
    const held = (await rows()).filter((row) => Number(row.digest_until) === WINDOW_END);
    expect(held).toHaveLength(6);

    const sealAt = WINDOW_END + 5_000;
    expect(await sealDigests(store, sealAt)).toBe(2);
    const after = await rows();
    const digests = after.filter((row) => row.type === "digest");
    expect(digests.map((row) => row.channel).sort()).toEqual(["mail", "slack"]);
    for (const digest of digests) {
      expect(digest).toMatchObject({
        status: "pending",
        routine_id: null,
        run_id: null,
        attempts: 0,
        digest_until: null,
      });
      expect(digest.id).toMatch(/^evt_[0-9a-f-]{36}$/);
      expect(Number(digest.next_attempt_at)).toBe(sealAt);
      const payload = JSON.parse(digest.payload) as DigestPayload;
      expect(payload).toMatchObject({
        type: "digest",
        at: new Date(sealAt).toISOString(),
        from: new Date(NOW).toISOString(),
        to: new Date(WINDOW_END).toISOString(),
        count: 3,
        failures: 2,
        costUsd: 0.42,
      });
      const mine = held.filter((row) => row.channel === digest.channel);
      expect(payload.events.map((entry) => entry.id)).toEqual(mine.map((row) => row.id));
      expect(payload.events[0]).toEqual({
        id: mine[0]!.id,
        type: "run.failed",
        routine: "babysit-prs",
        runId: Number(mine[0]!.run_id),
        summary: null,
        error: { code: "LOOPD_RUN_FAILED", message: "exit 1" },
        costUsd: 0.25,
        at: new Date(NOW).toISOString(),
      });
      expect(payload.events[1]).toMatchObject({
        type: "run.succeeded",
        routine: "nightly",
        summary: "all green",
      });
    }
    for (const row of held) {
      const now = after.find((candidate) => candidate.id === row.id)!;
      expect(now.status).toBe("digested");
      expect(Number(now.delivered_at)).toBe(sealAt);
    }
    expect(after.filter((row) => row.status === "held")).toHaveLength(2);
    // Sealed once: a second call finds nothing more of that window.
    expect(await sealDigests(store, sealAt)).toBe(0);
    // The digest rows are claimed like any other.
    const { claimed } = await claimDeliveries(store, { now: sealAt, limit: 10, leaseMs: MINUTE });
    expect(claimed.map((row) => row.type)).toEqual(["digest", "digest"]);

    expect(await countDeliveriesByStatus(store.db)).toMatchObject({ pending: 2, held: 2, digested: 6 });
    const listed = await listDeliveries(store.db, { status: "held" });
    expect(listed.map((delivery) => delivery.digestUntil)).toEqual([
      WINDOW_END + 30 * MINUTE,
      WINDOW_END + 30 * MINUTE,
    ]);
    // Held and digested rows travel inside a digest: a retry by hand changes nothing.
    const digested = held[0]!.id;
    expect(await retryDelivery(store.db, digested, sealAt)).toMatchObject({ status: "digested" });
    expect(await retryDelivery(store.db, listed[0]!.id, sealAt)).toMatchObject({ status: "held" });
  });

  it("tells the worker to wake at the window's end", async () => {
    expect(await nextDeliveryAt(store)).toBeNull();
    await event({ notify: [{ to: ["slack"], on: ["failure"], changeOnly: false, digest: "30m" }] });
    expect(await nextDeliveryAt(store)).toBe(WINDOW_END);
    // A pending row due earlier comes first; a later one does not hide the window.
    await event({ notify: [{ to: ["hook"], on: ["failure"], changeOnly: false }], at: NOW + MINUTE });
    expect(await nextDeliveryAt(store)).toBe(NOW + MINUTE);
    await claimDeliveries(store, { now: NOW + MINUTE, limit: 10, leaseMs: 60 * MINUTE });
    expect(await nextDeliveryAt(store)).toBe(WINDOW_END);
    // Once sealed, the digest row's own due time is what counts.
    await sealDigests(store, WINDOW_END + 1);
    expect(await nextDeliveryAt(store)).toBe(WINDOW_END + 1);
  });

  it("puts every held event in exactly one digest when sealers race", async () => {
    const rules: NotifyRuleSpec[] = [{ to: ["slack"], on: ["failure"], changeOnly: false, digest: "30m" }];
    for (let i = 0; i < 20; i++) await event({ notify: rules, at: NOW + i });
    // PostgreSQL: a second pool races for real (SKIP LOCKED). SQLite: one handle, serialised.
    const other =
      dialect === "postgres"
        ? await openStore({
            kind: "postgres",
            url: ctx.env.LOOPD_DATABASE_URL!,
            schema: ctx.env.LOOPD_DATABASE_SCHEMA!,
          })
        : store;
    try {
      const written = await Promise.all([
        sealDigests(store, WINDOW_END),
        sealDigests(other, WINDOW_END),
        sealDigests(store, WINDOW_END),
      ]);
      expect(written.reduce((sum, count) => sum + count, 0)).toBeGreaterThanOrEqual(1);
      const digests = (await rows()).filter((row) => row.type === "digest");
      const ids = digests.flatMap((row) =>
        (JSON.parse(row.payload) as DigestPayload).events.map((entry) => entry.id),
      );
      expect(ids).toHaveLength(20);
      expect(new Set(ids).size).toBe(20);
      expect((await rows()).filter((row) => row.status === "held")).toEqual([]);
    } finally {
      if (other !== store) await other.close();
    }
  });
});
