/**
 * Routing and budgets: the tier each run used and why (`runs.tier`, `runs.route_reason`),
 * the tier and attempt of each ledger row, and budget reservations (reserve before a run,
 * settle after), so concurrent runs cannot jointly overspend a cap.
 */
import { type Kysely, sql } from "kysely";
import type { Migration } from "./migration.js";

export const routingBudgets: Migration = {
  version: 4,
  name: "routing-budgets",
  async up(db: Kysely<unknown>, dialect) {
    const id = dialect === "postgres" ? sql`bigserial primary key` : sql`integer primary key autoincrement`;
    await db.schema.alterTable("runs").addColumn("tier", "text").execute();
    await db.schema.alterTable("runs").addColumn("route_reason", "text").execute();
    await db.schema.alterTable("ledger").addColumn("tier", "text").execute();
    await db.schema.alterTable("ledger").addColumn("attempt", "integer").execute();
    await db.schema.createIndex("ledger_day").on("ledger").columns(["day", "routine_id"]).execute();
    await db.schema.createIndex("ledger_run").on("ledger").column("run_id").execute();

    await db.schema
      .createTable("budget_reservations")
      .addColumn("id", sql`${id}`)
      .addColumn("run_id", "bigint", (c) => c.notNull())
      .addColumn("attempt", "integer", (c) => c.notNull())
      .addColumn("routine_id", "bigint")
      .addColumn("amount_usd", "double precision", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      /** Null while the run is going: counted against caps at `amount_usd`. */
      .addColumn("settled_at", "bigint")
      .addColumn("actual_usd", "double precision")
      .execute();
    await db.schema
      .createIndex("budget_reservations_open")
      .on("budget_reservations")
      .columns(["settled_at", "routine_id"])
      .execute();
  },
};
