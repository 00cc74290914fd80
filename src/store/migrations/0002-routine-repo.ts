/** Routines carry their repo as a column, so claims can cap concurrent runs per repo cheaply. */
import { type Kysely, sql } from "kysely";
import type { Migration } from "./migration.js";

export const routineRepo: Migration = {
  version: 2,
  name: "routine-repo",
  async up(db: Kysely<unknown>, dialect) {
    await db.schema.alterTable("routines").addColumn("repo", "text").execute();
    const fromSpec =
      dialect === "postgres" ? sql`(spec::json ->> 'repo')` : sql`json_extract(spec, '$.repo')`;
    await sql`update routines set repo = ${fromSpec}`.execute(db);
    await db.schema.createIndex("routines_repo").on("routines").column("repo").execute();
  },
};
