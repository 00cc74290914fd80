/**
 * Watches: a run that evaluated a check records its verdict (satisfied / unsatisfied; null
 * for runs without a check or whose check errored), and the routine keeps its last verdict
 * so `changeOnly` rules and `loopd checks` compare verdicts, not run outcomes.
 */
import type { Kysely } from "kysely";
import type { Migration } from "./migration.js";

export const watchVerdicts: Migration = {
  version: 7,
  name: "watch-verdicts",
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable("runs").addColumn("verdict", "text").execute();
    await db.schema.alterTable("routines").addColumn("last_verdict", "text").execute();
  },
};
