/**
 * Test results: ci-health's per-test history — one row per test per try of a run (try 0 the
 * suite's own run, 1..N the re-runs of what failed), with the commit it ran on and the
 * failure message. Classification (domain/test-health.ts) reads a routine's recent rows;
 * first seen, last seen and flake rates are computed from them.
 */
import { type Kysely, sql } from "kysely";
import type { Migration } from "./migration.js";

export const testResults: Migration = {
  version: 13,
  name: "test-results",
  async up(db: Kysely<unknown>, dialect) {
    const id = dialect === "postgres" ? sql`bigserial primary key` : sql`integer primary key autoincrement`;
    await db.schema
      .createTable("test_results")
      .addColumn("id", sql`${id}`)
      .addColumn("routine_id", "bigint", (c) => c.notNull().references("routines.id").onDelete("cascade"))
      .addColumn("run_id", "bigint", (c) => c.notNull())
      .addColumn("test_id", "text", (c) => c.notNull())
      .addColumn("try", "integer", (c) => c.notNull())
      .addColumn("outcome", "text", (c) => c.notNull())
      .addColumn("commit_sha", "text", (c) => c.notNull())
      .addColumn("message", "text")
      .addColumn("at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("test_results_routine_at")
      .on("test_results")
      .columns(["routine_id", "at"])
      .execute();
  },
};
