/**
 * One triage over everything a routine has ingested: what is new and gone, exact duplicates
 * (same normalised text) folded, TF-IDF vectors (or an embedding model's, new items only),
 * clusters (cluster.ts), near duplicates (cosine ≥ 0.9 to an earlier item of the same
 * cluster) folded, stable ids and statuses (identity.ts), labels from the top terms and
 * representatives nearest the centroid. Pure but for `embed`; the tick does the I/O.
 */
import { clusterVectors } from "./cluster.js";
import { matchClusterIds, statusOf } from "./identity.js";
import type { IncomingItem } from "./sources.js";
import { type SurfaceCounts, surfaceOf, termsOf, textHash } from "./text.js";
import type { FeedbackChanges, FeedbackCluster, FeedbackItem, Representative } from "./types.js";
import { dot, fromDense, type SparseVector, tfidf } from "./vectors.js";

export interface TriageInput {
  stored: readonly FeedbackItem[];
  previous: readonly FeedbackCluster[];
  /** What the sources hold now. */
  incoming: readonly IncomingItem[];
  /** Sources read this tick: items of other sources (one that failed) are not taken as gone. */
  readSources: ReadonlySet<string>;
  minCluster: number;
  similarity: number;
  now: number;
  /** An embedding model: vectors for these texts, in order. */
  embed?: (texts: string[]) => Promise<number[][]>;
}

export interface ReportedCluster extends FeedbackCluster {
  /** Items that arrived this tick. */
  added: number;
}

export interface TriageResult {
  changes: FeedbackChanges;
  newItems: FeedbackItem[];
  /** Clusters with at least minCluster items, largest first. */
  clusters: ReportedCluster[];
  /** Clusters resolved by this tick. */
  resolved: FeedbackCluster[];
  duplicates: number;
  /** New items in no reported cluster. */
  unclustered: number;
  removed: number;
}

const NEAR_DUPLICATE = 0.9;
const NEAR_DUPLICATE_LOOKBACK = 300;
const CENTROID_TERMS = 30;
const LABEL_TERMS = 3;
const REPRESENTATIVES = 3;

/** Null when nothing came or went: the tick has nothing to do. */
export async function triage(input: TriageInput): Promise<TriageResult | null> {
  const { now } = input;
  const storedByKey = new Map(input.stored.map((item) => [item.key, item]));
  const incomingKeys = new Set(input.incoming.map((item) => item.key));
  const remove = input.stored
    .filter((item) => input.readSources.has(item.source) && !incomingKeys.has(item.key))
    .map((item) => item.key);
  const seen = new Set<string>();
  const fresh = input.incoming.filter((item) => {
    if (storedByKey.has(item.key) || seen.has(item.key)) return false;
    seen.add(item.key);
    return true;
  });
  if (fresh.length === 0 && remove.length === 0) return null;

  const removed = new Set(remove);
  const kept = input.stored.filter((item) => !removed.has(item.key));
  const firstByHash = new Map<string, string>();
  for (const item of kept)
    if (item.duplicateOf === null && !firstByHash.has(item.hash)) firstByHash.set(item.hash, item.key);
  const newItems: FeedbackItem[] = fresh.map((item) => {
    const hash = textHash(item.text);
    const duplicateOf = firstByHash.get(hash) ?? null;
    if (duplicateOf === null) firstByHash.set(hash, item.key);
    return {
      key: item.key,
      source: item.source,
      hash,
      text: item.text,
      title: item.title,
      url: item.url,
      duplicateOf,
      clusterId: null,
      embedding: null,
      createdAt: now,
    };
  });
  const population = [
    ...kept.filter((item) => item.duplicateOf === null),
    ...newItems.filter((i) => !i.duplicateOf),
  ];
  const isNew = new Set(newItems.map((item) => item.key));

  const surfaces: SurfaceCounts = new Map();
  const { vectors, vocabulary } = tfidf(population.map((item) => termsOf(item.text, surfaces)));
  let clusterOn: SparseVector[] = vectors;
  if (input.embed) {
    const missing = population.filter((item) => item.embedding === null);
    if (missing.length > 0) {
      const embedded = await input.embed(missing.map((item) => item.text));
      missing.forEach((item, index) => {
        item.embedding = embedded[index] ?? null;
      });
    }
    clusterOn = population.map((item, index) =>
      item.embedding ? fromDense(item.embedding) : vectors[index]!,
    );
  }
  const previousIds = new Map<string, number>();
  const initial = Int32Array.from(population, (item) => {
    if (item.clusterId === null) return -1;
    if (!previousIds.has(item.clusterId)) previousIds.set(item.clusterId, previousIds.size);
    return previousIds.get(item.clusterId)!;
  });
  const labels = clusterVectors(clusterOn, { threshold: input.similarity, initial });

  const groups = new Map<number, number[]>();
  labels.forEach((label, index) => {
    if (label < 0) return;
    const group = groups.get(label);
    if (group) group.push(index);
    else groups.set(label, [index]);
  });
  let duplicates = newItems.filter((item) => item.duplicateOf !== null).length;
  const formed: Array<{ members: number[]; centroid: Record<string, number>; top: number[] }> = [];
  for (const group of groups.values()) {
    const members: number[] = [];
    for (const index of group) {
      const item = population[index]!;
      const original = isNew.has(item.key) ? nearDuplicate(index, members, clusterOn) : -1;
      if (original >= 0) {
        item.duplicateOf = population[original]!.key;
        duplicates += 1;
      } else members.push(index);
    }
    if (members.length < input.minCluster) continue;
    formed.push({ members, ...centroidOf(members, vectors, vocabulary) });
  }
  formed.sort((a, b) => b.members.length - a.members.length);

  const ids = matchClusterIds(
    formed.map((cluster) => ({
      members: cluster.members.map((i) => population[i]!.key),
      centroid: cluster.centroid,
    })),
    input.previous,
    new Map(input.stored.map((item) => [item.key, item.clusterId])),
  );
  const previousById = new Map(input.previous.map((cluster) => [cluster.id, cluster]));
  const clusterOf = new Map<string, string>();
  const clusters: ReportedCluster[] = formed.map((cluster, index) => {
    const id = ids[index]!;
    const before = previousById.get(id);
    for (const member of cluster.members) clusterOf.set(population[member]!.key, id);
    const size = cluster.members.length;
    return {
      id,
      label: cluster.top.map((term) => surfaceOf(vocabulary[term]!, surfaces)).join(" · "),
      title: before?.title ?? null,
      size,
      previousSize: before && before.status !== "resolved" ? before.size : 0,
      status: statusOf(size, before),
      centroid: cluster.centroid,
      representatives: representatives(cluster.members, population, vectors, cluster.centroid, vocabulary),
      firstSeen: before && before.status !== "resolved" ? before.firstSeen : now,
      updatedAt: now,
      added: cluster.members.filter((member) => isNew.has(population[member]!.key)).length,
    };
  });
  const taken = new Set(ids);
  const resolved: FeedbackCluster[] = [];
  const kept_: FeedbackCluster[] = [];
  for (const cluster of input.previous) {
    if (taken.has(cluster.id)) continue;
    if (cluster.status === "resolved") kept_.push(cluster);
    else
      resolved.push({ ...cluster, status: "resolved", previousSize: cluster.size, size: 0, updatedAt: now });
  }
  for (const item of population) item.clusterId = clusterOf.get(item.key) ?? null;
  for (const item of newItems)
    if (item.duplicateOf !== null) item.clusterId = clusterOf.get(item.duplicateOf) ?? null;
  const assign = kept
    .filter((item) => item.duplicateOf === null && !isNew.has(item.key))
    .filter((item) => item.clusterId !== (storedByKey.get(item.key)?.clusterId ?? null))
    .map((item) => ({ key: item.key, clusterId: item.clusterId }));

  return {
    changes: { upsert: newItems, assign, remove, clusters: [...clusters, ...resolved, ...kept_] },
    newItems,
    clusters,
    resolved,
    duplicates,
    unclustered: newItems.filter((item) => item.duplicateOf === null && item.clusterId === null).length,
    removed: remove.length,
  };
}

/** An earlier member this new item nearly repeats, or -1. */
function nearDuplicate(index: number, members: readonly number[], vectors: readonly SparseVector[]): number {
  const vector = vectors[index]!;
  for (let k = members.length - 1; k >= Math.max(0, members.length - NEAR_DUPLICATE_LOOKBACK); k--) {
    if (dot(vector, vectors[members[k]!]!) >= NEAR_DUPLICATE) return members[k]!;
  }
  return -1;
}

function centroidOf(
  members: readonly number[],
  vectors: readonly SparseVector[],
  vocabulary: readonly string[],
): { centroid: Record<string, number>; top: number[] } {
  const sum = new Map<number, number>();
  for (const member of members) {
    const vector = vectors[member]!;
    for (let i = 0; i < vector.idx.length; i++)
      sum.set(vector.idx[i]!, (sum.get(vector.idx[i]!) ?? 0) + vector.val[i]!);
  }
  const top = [...sum].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, CENTROID_TERMS);
  const norm = Math.sqrt(top.reduce((total, [, weight]) => total + weight * weight, 0)) || 1;
  return {
    centroid: Object.fromEntries(
      top.map(([term, weight]) => [vocabulary[term]!, Math.round((weight / norm) * 1e4) / 1e4]),
    ),
    top: top.slice(0, LABEL_TERMS).map(([term]) => term),
  };
}

/** The members nearest the centroid, distinct texts, newest first among equals. */
function representatives(
  members: readonly number[],
  population: readonly FeedbackItem[],
  vectors: readonly SparseVector[],
  centroid: Record<string, number>,
  vocabulary: readonly string[],
): Representative[] {
  const score = (member: number) => {
    const vector = vectors[member]!;
    let total = 0;
    for (let i = 0; i < vector.idx.length; i++)
      total += vector.val[i]! * (centroid[vocabulary[vector.idx[i]!]!] ?? 0);
    return total;
  };
  const ranked = members
    .map((member) => ({ member, score: score(member) }))
    .sort((a, b) => b.score - a.score);
  const chosen: Representative[] = [];
  const texts = new Set<string>();
  for (const { member } of ranked) {
    const item = population[member]!;
    if (texts.has(item.hash)) continue;
    texts.add(item.hash);
    chosen.push({ key: item.key, text: item.title ?? item.text, url: item.url });
    if (chosen.length === REPRESENTATIVES) break;
  }
  return chosen;
}
