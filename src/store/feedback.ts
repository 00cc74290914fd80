/**
 * feedback-triage's memory (tables `feedback_items`, `feedback_clusters`, migration 12): the
 * items a routine ingested and its clusters. A tick reads both whole and writes its changes
 * in one transaction; `loopd feedback` reads the clusters.
 */
import type { FeedbackChanges, FeedbackCluster, FeedbackItem } from "../domain/feedback.js";
import type { Db } from "./store.js";

/** The store keeps the loop's shapes as they are (domain/feedback.ts). */
export type StoredFeedbackItem = FeedbackItem;
export type StoredFeedbackCluster = FeedbackCluster;
export type FeedbackWrite = FeedbackChanges;

/** Rows per multi-row insert (PostgreSQL allows 65,535 parameters; 11 columns a row). */
const BATCH = 500;

export async function feedbackItems(db: Db, routineId: number): Promise<StoredFeedbackItem[]> {
  const rows = await db
    .selectFrom("feedback_items")
    .selectAll()
    .where("routine_id", "=", routineId)
    .orderBy("created_at")
    .orderBy("item_key")
    .execute();
  return rows.map((row) => ({
    key: row.item_key,
    source: row.source,
    hash: row.text_hash,
    text: row.text,
    title: row.title,
    url: row.url,
    duplicateOf: row.duplicate_of,
    clusterId: row.cluster_id,
    embedding: row.embedding === null ? null : decodeVector(row.embedding),
    createdAt: Number(row.created_at),
  }));
}

export async function feedbackClusters(db: Db, routineId: number): Promise<StoredFeedbackCluster[]> {
  const rows = await db
    .selectFrom("feedback_clusters")
    .selectAll()
    .where("routine_id", "=", routineId)
    .orderBy("size", "desc")
    .orderBy("cluster_id")
    .execute();
  return rows.map((row) => ({
    id: row.cluster_id,
    label: row.label,
    title: row.title,
    size: row.size,
    previousSize: row.previous_size,
    status: row.status as StoredFeedbackCluster["status"],
    centroid: JSON.parse(row.centroid) as Record<string, number>,
    representatives: JSON.parse(row.representatives) as StoredFeedbackCluster["representatives"],
    firstSeen: Number(row.first_seen),
    updatedAt: Number(row.updated_at),
  }));
}

export async function saveFeedback(db: Db, routineId: number, write: FeedbackWrite): Promise<void> {
  await db.transaction().execute(async (trx) => {
    for (let start = 0; start < write.remove.length; start += BATCH) {
      await trx
        .deleteFrom("feedback_items")
        .where("routine_id", "=", routineId)
        .where("item_key", "in", write.remove.slice(start, start + BATCH))
        .execute();
    }
    for (let start = 0; start < write.upsert.length; start += BATCH) {
      const rows = write.upsert.slice(start, start + BATCH).map((item) => ({
        routine_id: routineId,
        item_key: item.key,
        source: item.source,
        text_hash: item.hash,
        text: item.text,
        title: item.title,
        url: item.url,
        duplicate_of: item.duplicateOf,
        cluster_id: item.clusterId,
        embedding: item.embedding === null ? null : encodeVector(item.embedding),
        created_at: item.createdAt,
      }));
      await trx
        .insertInto("feedback_items")
        .values(rows)
        .onConflict((conflict) =>
          conflict.columns(["routine_id", "item_key"]).doUpdateSet((eb) => ({
            text_hash: eb.ref("excluded.text_hash"),
            text: eb.ref("excluded.text"),
            title: eb.ref("excluded.title"),
            url: eb.ref("excluded.url"),
            duplicate_of: eb.ref("excluded.duplicate_of"),
            cluster_id: eb.ref("excluded.cluster_id"),
            embedding: eb.ref("excluded.embedding"),
          })),
        )
        .execute();
    }
    // Grouped by cluster: one UPDATE per cluster id, not per item.
    const byCluster = new Map<string | null, string[]>();
    for (const { key, clusterId } of write.assign) {
      const keys = byCluster.get(clusterId);
      if (keys) keys.push(key);
      else byCluster.set(clusterId, [key]);
    }
    for (const [clusterId, keys] of byCluster) {
      for (let start = 0; start < keys.length; start += BATCH) {
        await trx
          .updateTable("feedback_items")
          .set({ cluster_id: clusterId })
          .where("routine_id", "=", routineId)
          .where("item_key", "in", keys.slice(start, start + BATCH))
          .execute();
      }
    }
    await trx.deleteFrom("feedback_clusters").where("routine_id", "=", routineId).execute();
    for (let start = 0; start < write.clusters.length; start += BATCH) {
      await trx
        .insertInto("feedback_clusters")
        .values(
          write.clusters.slice(start, start + BATCH).map((cluster) => ({
            routine_id: routineId,
            cluster_id: cluster.id,
            label: cluster.label,
            title: cluster.title,
            size: cluster.size,
            previous_size: cluster.previousSize,
            status: cluster.status,
            centroid: JSON.stringify(cluster.centroid),
            representatives: JSON.stringify(cluster.representatives),
            first_seen: cluster.firstSeen,
            updated_at: cluster.updatedAt,
          })),
        )
        .execute();
    }
  });
}

function encodeVector(vector: readonly number[]): string {
  return Buffer.from(Float32Array.from(vector).buffer).toString("base64");
}

function decodeVector(text: string): number[] {
  // A copy: Buffer's pool offset need not be a multiple of 4.
  return Array.from(new Float32Array(Uint8Array.from(Buffer.from(text, "base64")).buffer));
}
