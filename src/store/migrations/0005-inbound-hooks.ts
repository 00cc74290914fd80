/** Inbound hooks: ids of accepted deliveries, so a replayed (or re-sent) one is refused. */
import type { Kysely } from "kysely";
import type { Migration } from "./migration.js";

export const inboundHooks: Migration = {
  version: 5,
  name: "inbound-hooks",
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("inbound_deliveries")
      .addColumn("source", "text", (c) => c.notNull())
      .addColumn("id", "text", (c) => c.notNull())
      .addColumn("received_at", "bigint", (c) => c.notNull())
      .addColumn("run_id", "bigint")
      .addPrimaryKeyConstraint("inbound_deliveries_pk", ["source", "id"])
      .execute();
  },
};
