/**
 * Watch backoff: how many evaluations in a row repeated the verdict before them, so the
 * scheduler can stretch a backing-off watch's interval (`domain/watch-cadence.ts`) and a
 * changed verdict can bring it back.
 */
import type { Kysely } from "kysely";
import type { Migration } from "./migration.js";

export const watchBackoff: Migration = {
  version: 10,
  name: "watch-backoff",
  async up(db: Kysely<unknown>) {
    await db.schema
      .alterTable("routines")
      .addColumn("unchanged_verdicts", "integer", (c) => c.notNull().defaultTo(0))
      .execute();
  },
};
