/**
 * One-line theme titles from the cheap tier (LoopContext.model), when one is declared: the
 * clusters that are new, have no title yet, or whose top terms changed are named in ONE
 * request (their terms and representative items in, a JSON object of titles out). Any
 * failure — no tier, a refused request, an answer that is not the JSON asked for — leaves
 * those clusters with their top-terms label; the tick goes on. No new items: no request.
 */
import { parseJsonAnswer } from "../../lib/json-answer.js";
import type { LoopModel } from "../loop.js";
import type { ReportedCluster } from "./triage.js";
import type { FeedbackCluster } from "./types.js";

const TITLE_MAX = 80;
const ITEM_CHARS = 200;
/** Clusters named per request at most (the largest first); the rest keep their labels this tick. */
const NAMED_MAX = 20;

/** The clusters whose title is missing or stale: new, untitled, or their top terms moved. */
export function clustersToName(
  clusters: readonly ReportedCluster[],
  previous: readonly FeedbackCluster[],
): ReportedCluster[] {
  const before = new Map(previous.map((cluster) => [cluster.id, cluster]));
  return clusters
    .filter((cluster) => cluster.title === null || before.get(cluster.id)?.label !== cluster.label)
    .slice(0, NAMED_MAX);
}

/** Sets `title` on the clusters the model named; returns how many it named. Throws on a failed request. */
export async function nameClusters(model: LoopModel, clusters: readonly ReportedCluster[]): Promise<number> {
  if (clusters.length === 0) return 0;
  const answer = await model.ask(titlePrompt(clusters), { maxOutputTokens: 40 * clusters.length + 100 });
  const parsed = parseJsonAnswer(answer);
  if (!parsed.ok || typeof parsed.value !== "object" || parsed.value === null) {
    throw new Error(`the answer was not a JSON object of titles: ${answer.slice(0, 120)}`);
  }
  const titles = parsed.value as Record<string, unknown>;
  let named = 0;
  for (const cluster of clusters) {
    const title = cleanTitle(titles[cluster.id]);
    if (title === null) continue;
    cluster.title = title;
    named += 1;
  }
  return named;
}

export function titlePrompt(clusters: readonly ReportedCluster[]): string {
  const themes = clusters.map((cluster) =>
    [
      `Theme ${cluster.id} (${cluster.size} items; top terms: ${cluster.label})`,
      ...cluster.representatives.map((item) => `- ${oneLine(item.text).slice(0, ITEM_CHARS)}`),
    ].join("\n"),
  );
  return [
    "Below are themes found in user feedback, each with its top terms and a few representative items.",
    'Give each theme a one-line title of at most 8 words saying what users report (e.g. "Photo upload crashes on Android").',
    `Answer with only a JSON object mapping each theme id to its title, e.g. {"${clusters[0]!.id}": "…"}.`,
    "",
    themes.join("\n\n"),
  ].join("\n");
}

function cleanTitle(value: unknown): string | null {
  if (typeof value !== "string") return null;
  const title = oneLine(value)
    .replace(/^["'`]+|["'`.]+$/g, "")
    .trim();
  if (title === "") return null;
  return title.length > TITLE_MAX ? `${title.slice(0, TITLE_MAX - 1)}…` : title;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
