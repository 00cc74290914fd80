/**
 * The Markdown digest a triage tick sends (notify `report`) and stores as the run's summary:
 * a headline, then the clusters that changed — new themes first, then growing, shrinking and
 * resolved ones — each with its label, size and change, and representative items with links.
 * Steady clusters are counted, not listed: the digest says what changed.
 */
import type { ReportedCluster, TriageResult } from "./triage.js";

const REPRESENTATIVE_CHARS = 140;
const LISTED_MAX = 12;

export function renderDigest(routine: string, result: TriageResult, problems: readonly string[]): string {
  const fresh = result.newItems.length;
  const lines = [
    `## Feedback triage — ${routine}`,
    "",
    `${plural(fresh, "new item")}${result.duplicates > 0 ? ` (${result.duplicates} duplicate${result.duplicates === 1 ? "" : "s"} folded)` : ""}${result.removed > 0 ? `, ${result.removed} gone` : ""}; ${plural(result.clusters.length, "theme")}.`,
  ];
  const section = (title: string, clusters: readonly ReportedCluster[]) => {
    if (clusters.length === 0) return;
    lines.push("", `### ${title}`);
    for (const cluster of clusters.slice(0, LISTED_MAX)) lines.push(...clusterLines(cluster));
    if (clusters.length > LISTED_MAX) lines.push(`- … and ${clusters.length - LISTED_MAX} more`);
  };
  section(
    "New",
    result.clusters.filter((c) => c.status === "new"),
  );
  section(
    "Growing",
    result.clusters.filter((c) => c.status === "growing"),
  );
  section(
    "Shrinking",
    result.clusters.filter((c) => c.status === "shrinking"),
  );
  if (result.resolved.length > 0) {
    lines.push("", "### Resolved");
    for (const cluster of result.resolved.slice(0, LISTED_MAX)) {
      lines.push(
        `- **${cluster.id}** ${cluster.title ?? cluster.label} — was ${plural(cluster.previousSize, "item")}`,
      );
    }
  }
  const steady = result.clusters.filter((c) => c.status === "steady").length;
  const notes = [
    ...(steady > 0 ? [`${plural(steady, "theme")} unchanged`] : []),
    ...(result.unclustered > 0 ? [`${plural(result.unclustered, "new item")} in no theme yet`] : []),
  ];
  if (notes.length > 0)
    lines.push("", `${notes.join("; ")}. \`loopd feedback --routine ${routine}\` lists every theme.`);
  if (problems.length > 0) lines.push("", "### Not read", ...problems.map((problem) => `- ${problem}`));
  return lines.join("\n");
}

function clusterLines(cluster: ReportedCluster): string[] {
  const change =
    cluster.status === "new"
      ? `${plural(cluster.size, "item")}`
      : `${plural(cluster.size, "item")} (${signed(cluster.size - cluster.previousSize)})`;
  return [
    `- **${cluster.id}** ${cluster.title ?? cluster.label} — ${change}`,
    ...cluster.representatives.map((item) => {
      const text = oneLine(item.text);
      return `  - ${item.url ? `[${text}](${item.url})` : text}`;
    }),
  ];
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > REPRESENTATIVE_CHARS ? `${line.slice(0, REPRESENTATIVE_CHARS - 1)}…` : line;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

function signed(delta: number): string {
  return delta >= 0 ? `+${delta}` : String(delta);
}
