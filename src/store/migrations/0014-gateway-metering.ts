/**
 * Gateway metering (issue 19): how each run's spend was counted (`runs.metering`: gateway,
 * request by request; reported, from the harness at the end; null for runs that call no
 * model) and, for gateway-metered runs, what the harness itself reported, kept beside the
 * gateway's count (which alone is in the ledger) so `loopd show-run` can show both when they
 * disagree.
 */
import type { Kysely } from "kysely";
import type { Migration } from "./migration.js";

export const gatewayMetering: Migration = {
  version: 14,
  name: "gateway-metering",
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable("runs").addColumn("metering", "text").execute();
    await db.schema.alterTable("runs").addColumn("reported_tokens_in", "bigint").execute();
    await db.schema.alterTable("runs").addColumn("reported_tokens_out", "bigint").execute();
    await db.schema.alterTable("runs").addColumn("reported_tokens_cached", "bigint").execute();
    await db.schema.alterTable("runs").addColumn("reported_cost_usd", "double precision").execute();
  },
};
