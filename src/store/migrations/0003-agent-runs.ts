/**
 * Agent runs: where a run worked (branch, worktree, head commit), what it produced
 * (artifacts: diff, changed files, escapes), consecutive auth failures per routine (to pause
 * a routine whose login expired), and the last preflight result per harness for `loopd doctor`.
 */
import { type Kysely, sql } from "kysely";
import type { Migration } from "./migration.js";

export const agentRuns: Migration = {
  version: 3,
  name: "agent-runs",
  async up(db: Kysely<unknown>, dialect) {
    const id = dialect === "postgres" ? sql`bigserial primary key` : sql`integer primary key autoincrement`;

    await db.schema.alterTable("runs").addColumn("branch", "text").execute();
    await db.schema.alterTable("runs").addColumn("workspace", "text").execute();
    await db.schema.alterTable("runs").addColumn("head_commit", "text").execute();
    await db.schema
      .alterTable("routines")
      .addColumn("consecutive_auth_failures", "integer", (c) => c.notNull().defaultTo(0))
      .execute();

    await db.schema
      .createTable("run_artifacts")
      .addColumn("id", sql`${id}`)
      .addColumn("run_id", "bigint", (c) => c.notNull().references("runs.id").onDelete("cascade"))
      .addColumn("attempt", "integer", (c) => c.notNull())
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("content", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("run_artifacts_run")
      .on("run_artifacts")
      .columns(["run_id", "attempt"])
      .execute();

    await db.schema
      .createTable("harness_health")
      .addColumn("harness", "text", (c) => c.primaryKey())
      .addColumn("checked_at", "bigint", (c) => c.notNull())
      .addColumn("worker_id", "text", (c) => c.notNull())
      .addColumn("installed", "integer", (c) => c.notNull())
      .addColumn("version", "text")
      .addColumn("auth", "text", (c) => c.notNull())
      .addColumn("error_code", "text")
      .addColumn("error_message", "text")
      .addColumn("error_at", "bigint")
      .execute();
  },
};
