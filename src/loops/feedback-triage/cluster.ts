/**
 * Clustering feedback vectors by cosine similarity at any size, in bounded memory: one pass of
 * leader clustering (an item joins the most similar cluster when its cosine to the centroid is
 * at least `threshold`, else starts one), then centroid refinement (k-means steps over the
 * clusters found, with a little hysteresis), then a merge of clusters whose centroids are
 * closer than `mergeThreshold` (leader clustering splits a theme whose first items happened
 * to differ). Candidates come from an inverted index over each centroid's heavy terms, so an
 * item is compared with the few clusters sharing its words, not with all of them: no
 * items × items matrix (agglomerative or HDBSCAN libraries need one: 50k items would be
 * 1.25e9 pairs), about O(items × terms × clusters-per-term). Dense vectors (an embedding
 * model's) have no heavy terms: they are compared with every centroid.
 */
import type { SparseVector } from "./vectors.js";

export interface ClusterOptions {
  /** Cosine an item needs to join a cluster. */
  threshold: number;
  /** Cosine between two centroids that merges their clusters (default: threshold). */
  mergeThreshold?: number;
  /** Refinement passes (default 2). */
  iterations?: number;
  /**
   * Each vector's cluster from the last tick (any numbers, -1 for none): those clusters are
   * the leader pass's starting point, so a re-run over more items keeps them instead of
   * re-forming themes from scratch in a different order.
   */
  initial?: Int32Array;
}

/** A term joins a centroid's index once its share of the (normalised) centroid reaches this. */
const INDEX_SHARE = 0.06;
/** Exact cosines computed per item, best partial scores first. */
const CANDIDATES = 6;
/** A centroid is indexed under at most this many of its heaviest terms. */
const INDEXED_TERMS = 12;
/**
 * A term indexing more clusters than this names no cluster in particular (a greeting, the
 * product's name): it is skipped when looking for candidates, as a search engine skips stop words.
 */
const COMMON_POSTINGS = 200;
/** A vector with more dimensions than this is dense: compared with every centroid. */
const DENSE_DIMENSIONS = 256;

/** Cluster of each vector (0 = the largest cluster, …), -1 for none. */
export function clusterVectors(vectors: readonly SparseVector[], options: ClusterOptions): Int32Array {
  const dense = vectors.some((vector) => vector.idx.length > DENSE_DIMENSIONS);
  const threshold = options.threshold;
  const mergeThreshold = options.mergeThreshold ?? threshold;
  let labels = leaderPass(vectors, threshold, dense, options.initial);
  for (let pass = 0; pass < (options.iterations ?? 2); pass++) {
    labels = reassign(vectors, centroidsOf(vectors, labels), threshold * 0.9, dense);
  }
  // Merged centroids move: a few rounds let a theme split three ways come back together.
  for (let round = 0; round < 3; round++) {
    const merged = merge(labels, centroidsOf(vectors, labels), mergeThreshold, dense);
    const same = merged.every((label, v) => label === labels[v]);
    labels = reassign(vectors, centroidsOf(vectors, merged), threshold * 0.9, dense);
    if (same) break;
  }
  return bySize(labels);
}

class Centroid {
  readonly sum = new Map<number, number>();
  normSq = 0;
  readonly indexed = new Set<number>();

  add(vector: SparseVector): void {
    for (let i = 0; i < vector.idx.length; i++) {
      const term = vector.idx[i]!;
      const old = this.sum.get(term) ?? 0;
      const next = old + vector.val[i]!;
      this.sum.set(term, next);
      this.normSq += next * next - old * old;
    }
  }

  cosine(vector: SparseVector): number {
    if (this.normSq <= 0) return 0;
    let total = 0;
    for (let i = 0; i < vector.idx.length; i++) total += vector.val[i]! * (this.sum.get(vector.idx[i]!) ?? 0);
    return total / Math.sqrt(this.normSq);
  }
}

/** Term → clusters indexed under it; scores accumulate in a reusable array. */
class CandidateIndex {
  private readonly postings = new Map<number, number[]>();
  private scores = new Float64Array(64);
  private readonly touched: number[] = [];

  add(term: number, cluster: number): void {
    const list = this.postings.get(term);
    if (list) list.push(cluster);
    else this.postings.set(term, [cluster]);
  }

  /** Clusters sharing a term with the vector, best partial score first (at most CANDIDATES). */
  candidates(vector: SparseVector, weight: (cluster: number, term: number) => number): number[] {
    const { touched } = this;
    touched.length = 0;
    for (let i = 0; i < vector.idx.length; i++) {
      const term = vector.idx[i]!;
      const list = this.postings.get(term);
      if (!list || list.length > COMMON_POSTINGS) continue;
      const value = vector.val[i]!;
      for (const cluster of list) {
        if (cluster >= this.scores.length) this.grow(cluster);
        if (this.scores[cluster] === 0) touched.push(cluster);
        this.scores[cluster]! += value * weight(cluster, term) + 1e-12;
      }
    }
    const best: number[] = [];
    for (const cluster of touched) {
      const score = this.scores[cluster]!;
      if (best.length < CANDIDATES) best.push(cluster);
      else {
        let worst = 0;
        for (let k = 1; k < best.length; k++)
          if (this.scores[best[k]!]! < this.scores[best[worst]!]!) worst = k;
        if (score > this.scores[best[worst]!]!) best[worst] = cluster;
      }
    }
    const ordered = best.sort((a, b) => this.scores[b]! - this.scores[a]!);
    for (const cluster of touched) this.scores[cluster] = 0;
    return ordered;
  }

  private grow(cluster: number): void {
    const next = new Float64Array(Math.max(cluster + 1, this.scores.length * 2));
    next.set(this.scores);
    this.scores = next;
  }
}

function leaderPass(
  vectors: readonly SparseVector[],
  threshold: number,
  dense: boolean,
  initial: Int32Array | undefined,
): Int32Array {
  const labels = new Int32Array(vectors.length).fill(-1);
  const centroids: Centroid[] = [];
  const index = new CandidateIndex();
  const allClusters = () => centroids.map((_, cluster) => cluster);
  const indexTerms = (cluster: number, vector: SparseVector) => {
    const centroid = centroids[cluster]!;
    const norm = Math.sqrt(centroid.normSq);
    for (let i = 0; i < vector.idx.length; i++) {
      const term = vector.idx[i]!;
      if (centroid.indexed.size >= INDEXED_TERMS) break;
      if (centroid.indexed.has(term) || (centroid.sum.get(term) ?? 0) / norm < INDEX_SHARE) continue;
      centroid.indexed.add(term);
      index.add(term, cluster);
    }
  };
  const seeded = new Map<number, number>();
  if (initial) {
    for (let v = 0; v < vectors.length; v++) {
      const previous = initial[v]!;
      if (previous < 0 || vectors[v]!.idx.length === 0) continue;
      let cluster = seeded.get(previous);
      if (cluster === undefined) {
        cluster = centroids.length;
        seeded.set(previous, cluster);
        centroids.push(new Centroid());
      }
      centroids[cluster]!.add(vectors[v]!);
      labels[v] = cluster;
    }
    if (!dense) {
      // Indexed by their heaviest terms, once whole.
      for (let v = 0; v < vectors.length; v++) if (labels[v]! >= 0) indexTerms(labels[v]!, vectors[v]!);
    }
  }
  for (let v = 0; v < vectors.length; v++) {
    const vector = vectors[v]!;
    if (vector.idx.length === 0 || labels[v]! >= 0) continue;
    const candidates = dense
      ? allClusters()
      : index.candidates(vector, (cluster, term) => centroids[cluster]!.sum.get(term) ?? 0);
    let chosen = -1;
    let best = threshold;
    for (const cluster of candidates) {
      const cosine = centroids[cluster]!.cosine(vector);
      if (cosine >= best) {
        best = cosine;
        chosen = cluster;
      }
    }
    if (chosen === -1) {
      chosen = centroids.length;
      centroids.push(new Centroid());
    }
    centroids[chosen]!.add(vector);
    labels[v] = chosen;
    if (!dense) indexTerms(chosen, vector);
  }
  return labels;
}

/** Each cluster's normalised centroid as term → weight (an empty map for an empty cluster). */
function centroidsOf(vectors: readonly SparseVector[], labels: Int32Array): Map<number, number>[] {
  let count = 0;
  for (const label of labels) if (label + 1 > count) count = label + 1;
  const sums = Array.from({ length: count }, () => new Map<number, number>());
  for (let v = 0; v < vectors.length; v++) {
    const label = labels[v]!;
    if (label < 0) continue;
    const vector = vectors[v]!;
    const sum = sums[label]!;
    for (let i = 0; i < vector.idx.length; i++) {
      const term = vector.idx[i]!;
      sum.set(term, (sum.get(term) ?? 0) + vector.val[i]!);
    }
  }
  for (const sum of sums) {
    let normSq = 0;
    for (const value of sum.values()) normSq += value * value;
    const norm = Math.sqrt(normSq);
    if (norm > 0) for (const [term, value] of sum) sum.set(term, value / norm);
  }
  return sums;
}

function indexOf(centroids: readonly Map<number, number>[]): CandidateIndex {
  const index = new CandidateIndex();
  centroids.forEach((centroid, cluster) => {
    const heavy = [...centroid].filter(([, weight]) => weight >= INDEX_SHARE / 2);
    heavy.sort((a, b) => b[1] - a[1]);
    for (const [term] of heavy.slice(0, INDEXED_TERMS)) index.add(term, cluster);
  });
  return index;
}

function reassign(
  vectors: readonly SparseVector[],
  centroids: readonly Map<number, number>[],
  threshold: number,
  dense: boolean,
): Int32Array {
  const labels = new Int32Array(vectors.length).fill(-1);
  const index = dense ? null : indexOf(centroids);
  const all = centroids.map((_, cluster) => cluster);
  for (let v = 0; v < vectors.length; v++) {
    const vector = vectors[v]!;
    const candidates = index ? index.candidates(vector, (c, t) => centroids[c]!.get(t) ?? 0) : all;
    let best = threshold;
    for (const cluster of candidates) {
      const centroid = centroids[cluster]!;
      let cosine = 0;
      for (let i = 0; i < vector.idx.length; i++)
        cosine += vector.val[i]! * (centroid.get(vector.idx[i]!) ?? 0);
      if (cosine >= best) {
        best = cosine;
        labels[v] = cluster;
      }
    }
  }
  return labels;
}

/** Union of clusters whose centroids' cosine is at least `threshold`. */
function merge(
  labels: Int32Array,
  centroids: readonly Map<number, number>[],
  threshold: number,
  dense: boolean,
): Int32Array {
  const parent = centroids.map((_, cluster) => cluster);
  const root = (cluster: number): number => {
    while (parent[cluster] !== cluster) cluster = parent[cluster] = parent[parent[cluster]!]!;
    return cluster;
  };
  const asVector = (centroid: Map<number, number>): SparseVector => {
    const entries = [...centroid].sort((a, b) => a[0] - b[0]);
    return { idx: Uint32Array.from(entries, (e) => e[0]), val: Float32Array.from(entries, (e) => e[1]) };
  };
  const index = dense ? null : indexOf(centroids);
  const all = centroids.map((_, cluster) => cluster);
  centroids.forEach((centroid, cluster) => {
    if (centroid.size === 0) return;
    const vector = asVector(centroid);
    const candidates = index ? index.candidates(vector, (c, t) => centroids[c]!.get(t) ?? 0) : all;
    for (const other of candidates) {
      if (other === cluster) continue;
      let cosine = 0;
      const otherCentroid = centroids[other]!;
      for (let i = 0; i < vector.idx.length; i++)
        cosine += vector.val[i]! * (otherCentroid.get(vector.idx[i]!) ?? 0);
      if (cosine >= threshold) parent[root(other)] = root(cluster);
    }
  });
  return labels.map((label) => (label < 0 ? -1 : root(label)));
}

/** Labels renumbered 0… by cluster size, largest first (ties: first item first). */
function bySize(labels: Int32Array): Int32Array {
  const sizes = new Map<number, { size: number; first: number }>();
  labels.forEach((label, v) => {
    if (label < 0) return;
    const entry = sizes.get(label);
    if (entry) entry.size += 1;
    else sizes.set(label, { size: 1, first: v });
  });
  const order = [...sizes].sort((a, b) => b[1].size - a[1].size || a[1].first - b[1].first);
  const renumber = new Map(order.map(([label], rank) => [label, rank]));
  return labels.map((label) => (label < 0 ? -1 : renumber.get(label)!));
}
