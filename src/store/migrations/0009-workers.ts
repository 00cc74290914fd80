/**
 * Workers: every engine (serve, worker) registers the process that holds its leases — host,
 * pid and the process's start time — so a loopd process on the same host can prove a dead
 * worker dead (its pid is gone, or is another process now) and recover its runs at once
 * instead of after the whole lease, and so `loopd doctor` can list who is working.
 */
import type { Kysely } from "kysely";
import type { Migration } from "./migration.js";

export const workers: Migration = {
  version: 9,
  name: "workers",
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("workers")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("host", "text", (c) => c.notNull())
      .addColumn("host_key", "text", (c) => c.notNull())
      .addColumn("pid", "integer", (c) => c.notNull())
      .addColumn("pid_start", "text")
      .addColumn("labels", "text", (c) => c.notNull())
      .addColumn("started_at", "bigint", (c) => c.notNull())
      .addColumn("seen_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("workers_host_key").on("workers").column("host_key").execute();
  },
};
