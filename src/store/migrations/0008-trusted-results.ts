/**
 * Results you can trust: what became of a run's work (its delivery: committed on the run
 * branch, pushed, or why not), whether a run succeeded without verification after a failed
 * tool call (`unverified`), the hint of the error it ended with (so every face shows the
 * specific fix), and why a routine is paused as a code (auth, the failure circuit breaker,
 * removed from its file, or by hand) so doctor and `loopd run` can tell the kinds apart.
 * `misfire_notified_at` remembers that a silent misfire was already reported.
 */
import type { Kysely } from "kysely";
import type { Migration } from "./migration.js";

export const trustedResults: Migration = {
  version: 8,
  name: "trusted-results",
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable("runs").addColumn("delivery", "text").execute();
    await db.schema
      .alterTable("runs")
      .addColumn("unverified", "integer", (col) => col.notNull().defaultTo(0))
      .execute();
    await db.schema.alterTable("runs").addColumn("error_hint", "text").execute();
    await db.schema.alterTable("routines").addColumn("paused_code", "text").execute();
    await db.schema.alterTable("routines").addColumn("misfire_notified_at", "bigint").execute();
  },
};
