/**
 * Feedback triage (the `feedback-triage` loop): every feedback item a routine has ingested
 * (text kept, so each tick can re-cluster the whole set) and the clusters it currently shows,
 * with their centroid (top terms and weights) so the next tick can give a re-formed cluster
 * the id it had — the digest's new / growing / shrinking / resolved depends on that.
 */
import type { Kysely } from "kysely";
import type { Migration } from "./migration.js";

export const feedbackClusters: Migration = {
  version: 12,
  name: "feedback-clusters",
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("feedback_items")
      .addColumn("routine_id", "bigint", (c) => c.notNull().references("routines.id").onDelete("cascade"))
      .addColumn("item_key", "text", (c) => c.notNull())
      .addColumn("source", "text", (c) => c.notNull())
      .addColumn("text_hash", "text", (c) => c.notNull())
      .addColumn("text", "text", (c) => c.notNull())
      .addColumn("title", "text")
      .addColumn("url", "text")
      .addColumn("duplicate_of", "text")
      .addColumn("cluster_id", "text")
      // With an embedding model: the item's vector (base64 float32), so only new items are embedded.
      .addColumn("embedding", "text")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("feedback_items_pk", ["routine_id", "item_key"])
      .execute();
    await db.schema
      .createIndex("feedback_items_hash")
      .on("feedback_items")
      .columns(["routine_id", "text_hash"])
      .execute();
    await db.schema
      .createTable("feedback_clusters")
      .addColumn("routine_id", "bigint", (c) => c.notNull().references("routines.id").onDelete("cascade"))
      .addColumn("cluster_id", "text", (c) => c.notNull())
      .addColumn("label", "text", (c) => c.notNull())
      .addColumn("title", "text")
      .addColumn("size", "integer", (c) => c.notNull())
      .addColumn("previous_size", "integer", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("centroid", "text", (c) => c.notNull())
      .addColumn("representatives", "text", (c) => c.notNull())
      .addColumn("first_seen", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("feedback_clusters_pk", ["routine_id", "cluster_id"])
      .execute();
  },
};
