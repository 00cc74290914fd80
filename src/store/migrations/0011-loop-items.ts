/**
 * Loop items: what a built-in loop (src/loops/) remembers per thing it watches between ticks —
 * for `pr-babysit`, per pull request: its head, when to look again, the failures already
 * attempted, the re-runs spent, whether it gave up. One JSON document per (routine, item).
 */
import type { Kysely } from "kysely";
import type { Migration } from "./migration.js";

export const loopItems: Migration = {
  version: 11,
  name: "loop-items",
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("loop_items")
      .addColumn("routine_id", "bigint", (c) => c.notNull().references("routines.id").onDelete("cascade"))
      .addColumn("item", "text", (c) => c.notNull())
      .addColumn("state", "text", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("loop_items_pk", ["routine_id", "item"])
      .execute();
  },
};
