/**
 * Forward-only migrations. Each runs in its own write transaction together with its
 * `schema_migrations` row, so a crash leaves the store at the last good step. Concurrent
 * starters are serialised (SQLite: BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped
 * advisory lock) and re-check inside the lock, so a migration never runs twice.
 */
import { type Kysely, sql } from "kysely";
import { LoopdError } from "../domain/errors.js";
import { MIGRATIONS } from "./migrations/index.js";
import type { Database } from "./schema.js";
import type { Store } from "./store.js";

export interface MigrationReport {
  applied: string[];
  version: number;
}

export async function migrate(store: Store): Promise<MigrationReport> {
  const latest = MIGRATIONS.at(-1)?.version ?? 0;
  let current = await currentVersion(store.db);
  if (current === latest) return { applied: [], version: current };
  if (current !== undefined && current > latest) {
    throw new LoopdError(
      "LOOPD_STORE_TOO_NEW",
      `the store at ${store.location} is at schema version ${current}; this loopd knows up to ${latest}`,
    );
  }
  const applied: string[] = [];
  for (const migration of MIGRATIONS) {
    if (current !== undefined && migration.version <= current) continue;
    const ran = await store.writeTransaction(async (trx) => {
      await lockMigrations(trx, store.dialect);
      await ensureMigrationsTable(trx);
      const done = await trx
        .selectFrom("schema_migrations")
        .select("version")
        .where("version", "=", migration.version)
        .executeTakeFirst();
      if (done) return false;
      await migration.up(trx as Kysely<unknown>, store.dialect);
      await trx
        .insertInto("schema_migrations")
        .values({ version: migration.version, name: migration.name, applied_at: Date.now() })
        .execute();
      return true;
    });
    if (ran) applied.push(`${String(migration.version).padStart(4, "0")}-${migration.name}`);
    current = migration.version;
  }
  return { applied, version: latest };
}

/** Where the store's schema stands: the applied version (null: never migrated) and this loopd's latest. */
export async function schemaVersion(
  db: Kysely<Database>,
): Promise<{ current: number | null; latest: number }> {
  return { current: (await currentVersion(db)) ?? null, latest: MIGRATIONS.at(-1)?.version ?? 0 };
}

/** The highest applied version, or undefined for a store never migrated. */
async function currentVersion(db: Kysely<Database>): Promise<number | undefined> {
  try {
    const row = await db
      .selectFrom("schema_migrations")
      .select((eb) => eb.fn.max("version").as("version"))
      .executeTakeFirst();
    return row?.version === null || row?.version === undefined ? undefined : Number(row.version);
  } catch {
    return undefined;
  }
}

async function lockMigrations(trx: Kysely<Database>, dialect: Store["dialect"]): Promise<void> {
  // SQLite: BEGIN IMMEDIATE already holds the database's single write lock.
  if (dialect === "postgres") {
    await sql`select pg_advisory_xact_lock(hashtext(current_schema() || '.loopd.migrations'))`.execute(trx);
  }
}

async function ensureMigrationsTable(trx: Kysely<Database>): Promise<void> {
  await trx.schema
    .createTable("schema_migrations")
    .ifNotExists()
    .addColumn("version", "integer", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("applied_at", "bigint", (c) => c.notNull())
    .execute();
}
