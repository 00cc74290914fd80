import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shellSpec } from "../../test/helpers/specs.js";
import { openTestStore, type TestStore, testDialects } from "../../test/helpers/stores.js";
import { feedbackClusters, feedbackItems, type StoredFeedbackItem, saveFeedback } from "./feedback.js";
import { deleteRoutine, insertRoutine } from "./routines.js";

const NOW = Date.parse("2026-12-04T12:00:00Z");

const item = (key: string, extra: Partial<StoredFeedbackItem> = {}): StoredFeedbackItem => ({
  key,
  source: "file feedback.jsonl",
  hash: `hash-${key}`,
  text: `text of ${key}`,
  title: null,
  url: `https://example.com/${key}`,
  duplicateOf: null,
  clusterId: "c1",
  embedding: null,
  createdAt: NOW,
  ...extra,
});

const cluster = (id: string, size: number) => ({
  id,
  label: "photo · upload · crash",
  title: null,
  size,
  previousSize: 0,
  status: "new" as const,
  centroid: { photo: 0.7, upload: 0.5 },
  representatives: [{ key: "a", text: "text of a", url: null }],
  firstSeen: NOW,
  updatedAt: NOW,
});

describe.each(await testDialects())("%s: feedback items and clusters", (dialect) => {
  let ctx: TestStore;
  let routineId: number;
  beforeAll(async () => {
    ctx = await openTestStore(dialect);
    const routine = await insertRoutine(ctx.store.db, {
      name: "triage",
      source: "/repo/loopd.yaml",
      spec: shellSpec("triage"),
      specHash: "hash",
      state: "active",
      pausedReason: null,
      nextDueAt: NOW,
      now: NOW,
    });
    routineId = routine.id;
  });
  afterAll(async () => {
    await ctx?.dispose();
  });

  it("saves a tick's changes in one go and reads them back, embeddings included", async () => {
    const vector = [0.25, -0.5, 0.125];
    // More than one insert batch (500 rows).
    const many = Array.from({ length: 620 }, (_, n) => item(`k${n}`, { clusterId: n % 2 ? "c1" : "c2" }));
    await saveFeedback(ctx.store.db, routineId, {
      upsert: [item("a", { embedding: vector }), item("b", { duplicateOf: "a" }), ...many],
      assign: [],
      remove: [],
      clusters: [cluster("c1", 311), cluster("c2", 310)],
    });
    const items = await feedbackItems(ctx.store.db, routineId);
    expect(items).toHaveLength(622);
    expect(items.find((entry) => entry.key === "a")?.embedding).toEqual(vector);
    expect(items.find((entry) => entry.key === "b")).toMatchObject({ duplicateOf: "a", clusterId: "c1" });
    expect((await feedbackClusters(ctx.store.db, routineId)).map((entry) => [entry.id, entry.size])).toEqual([
      ["c1", 311],
      ["c2", 310],
    ]);

    await saveFeedback(ctx.store.db, routineId, {
      upsert: [item("c", { clusterId: "c3" })],
      assign: [
        { key: "a", clusterId: "c3" },
        { key: "k0", clusterId: null },
      ],
      remove: ["b", ...many.slice(1, 600).map((entry) => entry.key)],
      clusters: [cluster("c3", 2), { ...cluster("c1", 0), status: "resolved" as const }],
    });
    const after = await feedbackItems(ctx.store.db, routineId);
    expect(after.map((entry) => entry.key).sort()).toEqual(
      ["a", "c", "k0", ...many.slice(600).map((entry) => entry.key)].sort(),
    );
    expect(after.find((entry) => entry.key === "a")?.clusterId).toBe("c3");
    expect(after.find((entry) => entry.key === "k0")?.clusterId).toBeNull();
    const clusters = await feedbackClusters(ctx.store.db, routineId);
    expect(clusters.map((entry) => [entry.id, entry.status])).toEqual([
      ["c3", "new"],
      ["c1", "resolved"],
    ]);
    expect(clusters[0]?.centroid).toEqual({ photo: 0.7, upload: 0.5 });
  });

  it("goes with its routine", async () => {
    expect(await deleteRoutine(ctx.store.db, routineId)).toBe(true);
    expect(await feedbackItems(ctx.store.db, routineId)).toEqual([]);
    expect(await feedbackClusters(ctx.store.db, routineId)).toEqual([]);
  });
});
