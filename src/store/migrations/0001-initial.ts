/** The initial schema: routines, runs and their events, ledger, outbox, memory, settings. */
import { type Kysely, sql } from "kysely";
import type { Migration } from "./migration.js";

export const initial: Migration = {
  version: 1,
  name: "initial",
  async up(db: Kysely<unknown>, dialect) {
    // An auto-incrementing 64-bit key, spelled per dialect.
    const id = dialect === "postgres" ? sql`bigserial primary key` : sql`integer primary key autoincrement`;

    await db.schema
      .createTable("routines")
      .addColumn("id", sql`${id}`)
      .addColumn("name", "text", (c) => c.notNull().unique())
      .addColumn("source", "text")
      .addColumn("spec", "text", (c) => c.notNull())
      .addColumn("spec_hash", "text", (c) => c.notNull())
      .addColumn("state", "text", (c) => c.notNull().defaultTo("active"))
      .addColumn("paused_reason", "text")
      .addColumn("next_due_at", "bigint")
      .addColumn("scheduled_runs", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("last_run_at", "bigint")
      .addColumn("last_outcome", "text")
      .addColumn("last_error_code", "text")
      .addColumn("last_error_message", "text")
      .addColumn("consecutive_failures", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("last_success_at", "bigint")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
    // The scheduler's question: which active routines are due?
    await db.schema.createIndex("routines_due").on("routines").columns(["state", "next_due_at"]).execute();

    await db.schema
      .createTable("runs")
      .addColumn("id", sql`${id}`)
      .addColumn("routine_id", "bigint", (c) => c.notNull().references("routines.id").onDelete("cascade"))
      .addColumn("due_at", "bigint", (c) => c.notNull())
      .addColumn("trigger", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("reason", "text")
      .addColumn("attempt", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("max_attempts", "integer", (c) => c.notNull())
      .addColumn("not_before", "bigint", (c) => c.notNull())
      .addColumn("worker_id", "text")
      .addColumn("lease_until", "bigint")
      .addColumn("input", "text")
      .addColumn("queued_at", "bigint", (c) => c.notNull())
      .addColumn("started_at", "bigint")
      .addColumn("finished_at", "bigint")
      .addColumn("exit_code", "integer")
      .addColumn("summary", "text")
      .addColumn("error_code", "text")
      .addColumn("error_message", "text")
      .addColumn("tokens_in", "bigint", (c) => c.notNull().defaultTo(0))
      .addColumn("tokens_out", "bigint", (c) => c.notNull().defaultTo(0))
      .addColumn("tokens_cached", "bigint", (c) => c.notNull().defaultTo(0))
      .addColumn("tokens_reasoning", "bigint", (c) => c.notNull().defaultTo(0))
      .addColumn("cost_usd", "double precision", (c) => c.notNull().defaultTo(0))
      .addColumn("turns", "integer")
      .addColumn("session_id", "text")
      // Any number of schedulers may materialise the same occurrence; only one run exists.
      .addUniqueConstraint("runs_routine_due", ["routine_id", "due_at"])
      .execute();
    await db.schema.createIndex("runs_claimable").on("runs").columns(["status", "not_before"]).execute();
    await db.schema.createIndex("runs_leases").on("runs").columns(["status", "lease_until"]).execute();
    await db.schema.createIndex("runs_by_routine").on("runs").columns(["routine_id", "id"]).execute();

    await db.schema
      .createTable("run_events")
      .addColumn("id", sql`${id}`)
      .addColumn("run_id", "bigint", (c) => c.notNull().references("runs.id").onDelete("cascade"))
      .addColumn("attempt", "integer", (c) => c.notNull())
      .addColumn("at", "bigint", (c) => c.notNull())
      .addColumn("type", "text", (c) => c.notNull())
      .addColumn("stream", "text")
      .addColumn("data", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("run_events_by_run").on("run_events").columns(["run_id", "id"]).execute();

    await db.schema
      .createTable("ledger")
      .addColumn("id", sql`${id}`)
      .addColumn("at", "bigint", (c) => c.notNull())
      .addColumn("day", "text", (c) => c.notNull())
      .addColumn("routine_id", "bigint")
      .addColumn("routine_name", "text", (c) => c.notNull())
      .addColumn("run_id", "bigint")
      .addColumn("harness", "text", (c) => c.notNull())
      .addColumn("model", "text", (c) => c.notNull())
      .addColumn("tokens_in", "bigint", (c) => c.notNull().defaultTo(0))
      .addColumn("tokens_out", "bigint", (c) => c.notNull().defaultTo(0))
      .addColumn("tokens_cached", "bigint", (c) => c.notNull().defaultTo(0))
      .addColumn("tokens_reasoning", "bigint", (c) => c.notNull().defaultTo(0))
      .addColumn("cost_usd", "double precision", (c) => c.notNull().defaultTo(0))
      .addColumn("cost_source", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("ledger_by_day").on("ledger").columns(["day", "routine_name"]).execute();

    await db.schema
      .createTable("outbox")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("type", "text", (c) => c.notNull())
      .addColumn("channel", "text", (c) => c.notNull())
      .addColumn("routine_id", "bigint")
      .addColumn("run_id", "bigint")
      .addColumn("payload", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull().defaultTo("pending"))
      .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("next_attempt_at", "bigint", (c) => c.notNull())
      .addColumn("last_error", "text")
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("delivered_at", "bigint")
      .execute();
    await db.schema
      .createIndex("outbox_pending")
      .on("outbox")
      .columns(["status", "next_attempt_at"])
      .execute();

    await db.schema
      .createTable("memory")
      .addColumn("routine_id", "bigint", (c) => c.primaryKey().references("routines.id").onDelete("cascade"))
      .addColumn("content", "text", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();

    await db.schema
      .createTable("settings")
      .addColumn("key", "text", (c) => c.primaryKey())
      .addColumn("value", "text", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
  },
};
