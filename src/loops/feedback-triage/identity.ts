/**
 * Stable cluster ids: a cluster formed this tick takes the id of the previous cluster it
 * shares the most items with (at least half of the smaller of the two), one to one, largest
 * overlaps first; one that shares none takes the id of a previous cluster whose centroid
 * (top terms, stored) is close (cosine ≥ 0.5), so a theme whose items were all replaced
 * keeps its id too; the rest get fresh ids, never reused (resolved clusters stay in the
 * store). Then each cluster's status: new, growing, shrinking or steady against its size on
 * the previous tick; previous clusters nobody took are resolved.
 */
import type { ClusterStatus, FeedbackCluster } from "./types.js";

export interface FormedCluster {
  members: readonly string[];
  /** Term → weight of the normalised TF-IDF centroid (top terms). */
  centroid: Record<string, number>;
}

const CENTROID_MATCH = 0.5;

export function matchClusterIds(
  formed: readonly FormedCluster[],
  previous: readonly FeedbackCluster[],
  previousClusterOf: ReadonlyMap<string, string | null>,
): string[] {
  const byId = new Map(previous.map((cluster) => [cluster.id, cluster]));
  const votes: Array<{ formed: number; id: string; count: number }> = [];
  formed.forEach((cluster, index) => {
    const counts = new Map<string, number>();
    for (const member of cluster.members) {
      const id = previousClusterOf.get(member);
      if (id) counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    for (const [id, count] of counts) votes.push({ formed: index, id, count });
  });
  votes.sort((a, b) => b.count - a.count || a.formed - b.formed || a.id.localeCompare(b.id));
  const ids: Array<string | undefined> = Array.from({ length: formed.length }, () => undefined);
  const taken = new Set<string>();
  for (const vote of votes) {
    if (ids[vote.formed] !== undefined || taken.has(vote.id)) continue;
    const before = byId.get(vote.id)?.size ?? 0;
    if (vote.count * 2 < Math.min(formed[vote.formed]!.members.length, Math.max(before, 1))) continue;
    ids[vote.formed] = vote.id;
    taken.add(vote.id);
  }
  formed.forEach((cluster, index) => {
    if (ids[index] !== undefined) return;
    let best: string | undefined;
    let bestCosine = CENTROID_MATCH;
    for (const candidate of previous) {
      if (taken.has(candidate.id)) continue;
      const cosine = centroidCosine(cluster.centroid, candidate.centroid);
      if (cosine >= bestCosine) {
        bestCosine = cosine;
        best = candidate.id;
      }
    }
    if (best !== undefined) {
      ids[index] = best;
      taken.add(best);
    }
  });
  let next = 1 + Math.max(0, ...previous.map((cluster) => Number(/^c(\d+)$/.exec(cluster.id)?.[1] ?? 0)));
  return ids.map((id) => id ?? `c${next++}`);
}

export function statusOf(size: number, previous: FeedbackCluster | undefined): ClusterStatus {
  if (!previous || previous.status === "resolved") return "new";
  if (size > previous.size) return "growing";
  if (size < previous.size) return "shrinking";
  return "steady";
}

export function centroidCosine(a: Record<string, number>, b: Record<string, number>): number {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (const [term, weight] of Object.entries(a)) {
    normA += weight * weight;
    dot += weight * (b[term] ?? 0);
  }
  for (const weight of Object.values(b)) normB += weight * weight;
  return normA > 0 && normB > 0 ? dot / Math.sqrt(normA * normB) : 0;
}
