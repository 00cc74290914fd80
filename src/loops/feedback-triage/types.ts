/**
 * What feedback-triage keeps between ticks, as the loop sees it: the items it has ingested
 * and the clusters it showed last. The engine (engine/loop-run.ts) backs it with the store's
 * feedback_items and feedback_clusters tables (store/feedback.ts); the loop knows no store.
 */

import type { FeedbackChanges, FeedbackCluster, FeedbackItem } from "../../domain/feedback.js";

export type {
  ClusterStatus,
  FeedbackChanges,
  FeedbackCluster,
  FeedbackItem,
  Representative,
} from "../../domain/feedback.js";

export interface FeedbackMemory {
  items(): Promise<FeedbackItem[]>;
  clusters(): Promise<FeedbackCluster[]>;
  /** All of it in one transaction. */
  save(changes: FeedbackChanges): Promise<void>;
}
