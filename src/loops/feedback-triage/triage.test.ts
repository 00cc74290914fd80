/**
 * feedback-triage's triage on labelled data generated with a seeded PRNG
 * (test/helpers/feedback-data.ts): quality (adjusted Rand index), stable ids as items are
 * added, a new theme reported as new, and no work when nothing came. The memory between
 * ticks is the changes each tick returns, applied as the store applies them.
 */
import { describe, expect, it } from "vitest";
import {
  adjustedRandIndex,
  type LabelledItem,
  labelledFeedback,
  THEMES,
} from "../../../test/helpers/feedback-data.js";
import { renderDigest } from "./digest.js";
import type { IncomingItem } from "./sources.js";
import { type TriageResult, triage } from "./triage.js";
import type { FeedbackChanges, FeedbackCluster, FeedbackItem } from "./types.js";

const SOURCE = "file feedback.jsonl";

function incoming(items: readonly LabelledItem[]): IncomingItem[] {
  return items.map((item) => ({
    key: `file:feedback.jsonl:${item.id}`,
    source: SOURCE,
    text: item.text,
    title: null,
    url: `https://example.com/feedback/${item.id}`,
    issue: null,
  }));
}

/** A routine's memory across ticks, changed as store/feedback.ts changes it. */
class Memory {
  items: FeedbackItem[] = [];
  clusters: FeedbackCluster[] = [];
  apply(changes: FeedbackChanges): void {
    const removed = new Set(changes.remove);
    const byKey = new Map(
      this.items.filter((item) => !removed.has(item.key)).map((item) => [item.key, item]),
    );
    for (const item of changes.upsert) byKey.set(item.key, { ...item });
    for (const { key, clusterId } of changes.assign) {
      const item = byKey.get(key);
      if (item) byKey.set(key, { ...item, clusterId });
    }
    this.items = [...byKey.values()];
    this.clusters = changes.clusters.map((cluster) => ({ ...cluster }));
  }
  async tick(all: readonly LabelledItem[], now: number): Promise<TriageResult | null> {
    const result = await triage({
      stored: this.items.map((item) => ({ ...item })),
      previous: this.clusters,
      incoming: incoming(all),
      readSources: new Set([SOURCE]),
      minCluster: 3,
      similarity: 0.3,
      now,
    });
    if (result) this.apply(result.changes);
    return result;
  }
  clusterOf(id: string): string | null {
    const item = this.items.find((candidate) => candidate.key === `file:feedback.jsonl:${id}`);
    if (!item) return null;
    return item.clusterId;
  }
}

/** The cluster id most of a theme's items are in. */
function idOfTheme(memory: Memory, items: readonly LabelledItem[], theme: number): string | null {
  const counts = new Map<string, number>();
  for (const item of items) {
    if (item.theme !== theme) continue;
    const id = memory.clusterOf(item.id);
    if (id) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
}

describe("feedback triage", () => {
  it.each([1, 2, 3, 4, 5])(
    "clusters paraphrased themes with an adjusted Rand index ≥ 0.7 (seed %i)",
    async (seed) => {
      const items = labelledFeedback({ seed, themes: THEMES, perTheme: 30, duplicates: 0.1 });
      const memory = new Memory();
      const result = await memory.tick(items, 1_000);
      expect(result?.duplicates).toBeGreaterThan(0);
      const found = items.map((item, index) => {
        const id = memory.clusterOf(item.id);
        return id === null ? -1 - index : Number(id.slice(1));
      });
      const ari = adjustedRandIndex(
        items.map((item) => item.theme),
        found,
      );
      expect(ari).toBeGreaterThanOrEqual(0.7);
    },
  );

  it("keeps cluster ids when items are added, and reports a new theme as new", async () => {
    const themes = THEMES.slice(0, 5);
    const first = labelledFeedback({ seed: 11, themes: themes.slice(0, 4), perTheme: 20, idPrefix: "a" });
    const memory = new Memory();
    const one = await memory.tick(first, 1_000);
    expect(one?.clusters.every((cluster) => cluster.status === "new")).toBe(true);
    const ids = [0, 1, 2, 3].map((theme) => idOfTheme(memory, first, theme));
    expect(new Set(ids).size).toBe(4);

    const more = labelledFeedback({ seed: 12, themes: themes.slice(0, 4), perTheme: 8, idPrefix: "b" });
    const two = await memory.tick([...first, ...more], 2_000);
    expect([0, 1, 2, 3].map((theme) => idOfTheme(memory, [...first, ...more], theme))).toEqual(ids);
    for (const id of ids) {
      expect(two?.clusters.find((cluster) => cluster.id === id)?.status).toBe("growing");
    }

    const fifth = labelledFeedback({ seed: 13, themes: [themes[4]!], perTheme: 12, idPrefix: "c" });
    const three = await memory.tick([...first, ...more, ...fifth], 3_000);
    const fresh = three?.clusters.filter((cluster) => cluster.status === "new") ?? [];
    expect(fresh).toHaveLength(1);
    const newId = idOfTheme(memory, fifth, 0);
    expect(fresh[0]?.id).toBe(newId);
    expect(ids).not.toContain(newId);
    expect(fresh[0]?.label).toMatch(/export|csv|spreadsheet|excel|report|download/);
    const digest = renderDigest("triage", three!, []);
    expect(digest).toContain("### New");
    expect(digest).toContain(`**${newId}**`);
    expect(digest).toMatch(/\[.+\]\(https:\/\/example\.com\/feedback\/c\d+\)/);
  });

  it("does nothing when no item came or went, and resolves a theme whose items are gone", async () => {
    const items = labelledFeedback({ seed: 21, themes: THEMES.slice(0, 3), perTheme: 12 });
    const memory = new Memory();
    await memory.tick(items, 1_000);
    expect(await memory.tick(items, 2_000)).toBeNull();

    const gone = idOfTheme(memory, items, 2);
    const result = await memory.tick(
      items.filter((item) => item.theme !== 2),
      3_000,
    );
    expect(result?.newItems).toHaveLength(0);
    expect(result?.resolved.map((cluster) => cluster.id)).toEqual([gone]);
    expect(memory.clusters.find((cluster) => cluster.id === gone)?.status).toBe("resolved");
  });

  it("folds exact duplicates (case, punctuation) into the first item", async () => {
    const memory = new Memory();
    const base = labelledFeedback({ seed: 31, themes: THEMES.slice(0, 2), perTheme: 6, duplicates: 0 });
    const copy = { id: "copy", text: `  ${base[0]!.text.toUpperCase()}!! `, theme: base[0]!.theme };
    const result = await memory.tick([...base, copy], 1_000);
    const folded = result?.newItems.find((item) => item.key.endsWith(":copy"));
    expect(folded?.duplicateOf).toBe(`file:feedback.jsonl:${base[0]!.id}`);
  });
});
