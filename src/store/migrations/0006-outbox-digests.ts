/**
 * Notification digests: an outbox row for a channel whose rules all say `digest: <interval>`
 * is written "held" with `digest_until` (the end of its aligned window) instead of pending;
 * `sql/seal-digests.ts` turns the held rows of a window into one pending "digest" row per
 * channel and marks them "digested".
 */
import type { Kysely } from "kysely";
import type { Migration } from "./migration.js";

export const outboxDigests: Migration = {
  version: 6,
  name: "outbox-digests",
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable("outbox").addColumn("digest_until", "bigint").execute();
    // Sealing and the worker's wake-up read held rows by (status, digest_until).
    await db.schema.createIndex("outbox_held").on("outbox").columns(["status", "digest_until"]).execute();
  },
};
