/**
 * feedback-triage's memory as data: the items a routine ingested and the clusters it showed
 * last. The loop (loops/feedback-triage/) computes them; the store (store/feedback.ts) keeps
 * them in `feedback_items` and `feedback_clusters`.
 */

export interface FeedbackItem {
  /** Unique per routine: `gh:acme/web#12`, `file:feedback.jsonl:42`, `http:<url>:42`. */
  key: string;
  /** The source it came from, as configured: `github acme/web`, `file feedback.jsonl`. */
  source: string;
  /** Hash of the normalised text (exact duplicates share it). */
  hash: string;
  text: string;
  title: string | null;
  url: string | null;
  /** The earlier item this one repeats (exactly or nearly): not clustered again. */
  duplicateOf: string | null;
  clusterId: string | null;
  /** An embedding model's vector, when the routine uses one. */
  embedding: number[] | null;
  createdAt: number;
}

export type ClusterStatus = "new" | "growing" | "shrinking" | "steady" | "resolved";

export interface Representative {
  key: string;
  text: string;
  url: string | null;
}

export interface FeedbackCluster {
  id: string;
  /** Top terms, as people wrote them: "photo · upload · crash". */
  label: string;
  title: string | null;
  size: number;
  previousSize: number;
  status: ClusterStatus;
  /** The top terms' weights in the normalised centroid. */
  centroid: Record<string, number>;
  representatives: Representative[];
  firstSeen: number;
  updatedAt: number;
}

export interface FeedbackChanges {
  /** New items (or ones whose duplicate or cluster changed): written whole. */
  upsert: FeedbackItem[];
  /** Items whose cluster changed: key → cluster id or null. */
  assign: Array<{ key: string; clusterId: string | null }>;
  /** Items gone from their source (a closed issue, a line removed from the file). */
  remove: string[];
  /** Every cluster, as it is now (resolved ones included, so their ids are never reused). */
  clusters: FeedbackCluster[];
}
