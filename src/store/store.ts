/**
 * The store: Kysely over embedded SQLite (default) or PostgreSQL (scale-out). Opening it runs
 * pending migrations. Repository functions take a `Db` (the store's handle or a transaction).
 */
import { accessSync, constants, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { Kysely, type LogEvent, sql, type Transaction } from "kysely";
import type pg from "pg";
import { LoopdError } from "../domain/errors.js";
import { migrate } from "./migrate.js";
import type { Dialect } from "./migrations/migration.js";
import type { PostgresOptions } from "./postgres/dialect.js";
import type { Database } from "./schema.js";
import { createSqliteDialect } from "./sqlite/dialect.js";

export type Db = Kysely<Database> | Transaction<Database>;

export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  /** Where the data lives, for messages: a file path or a redacted URL. */
  readonly location: string;
  /**
   * Runs `fn` in a transaction that holds the write lock from its first statement: `BEGIN
   * IMMEDIATE` on SQLite (so two processes never deadlock upgrading a read lock), a plain
   * transaction on PostgreSQL (where row locks do the work).
   */
  writeTransaction<T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Called for every query the store runs (benchmarks count queries with it). */
export type QueryObserver = (event: LogEvent) => void;

export type StoreOptions = ({ kind: "sqlite"; file: string } | ({ kind: "postgres" } & PostgresOptions)) & {
  onQuery?: QueryObserver;
};

export async function openStore(options: StoreOptions): Promise<Store> {
  const store =
    options.kind === "sqlite" ? openSqlite(options.file, options.onQuery) : await openPostgres(options);
  try {
    await migrate(store);
  } catch (error) {
    await store.close();
    throw toStoreError(error, store.location);
  }
  return store;
}

function openSqlite(file: string, onQuery: QueryObserver | undefined): Store {
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new LoopdError(
      "LOOPD_HOME_UNUSABLE",
      `cannot create ${dirname(file)}: ${(error as Error).message}`,
    );
  }
  const db = new Kysely<Database>({
    dialect: createSqliteDialect(file),
    ...(onQuery ? { log: onQuery } : {}),
  });
  return {
    db,
    dialect: "sqlite",
    location: file,
    writeTransaction: (fn) =>
      db.connection().execute(async (connection) => {
        await sql`begin immediate`.execute(connection);
        try {
          const result = await fn(connection);
          await sql`commit`.execute(connection);
          return result;
        } catch (error) {
          // SQLite has already rolled back after some errors (SQLITE_FULL, SQLITE_IOERR): then
          // `rollback` fails too, and the error worth reporting is the first one.
          await sql`rollback`.execute(connection).catch(() => {});
          throw error;
        }
      }),
    close: () => db.destroy(),
  };
}

async function openPostgres(options: PostgresOptions & { onQuery?: QueryObserver }): Promise<Store> {
  const location = redactUrl(options.url) + (options.schema ? ` (schema ${options.schema})` : "");
  // Loaded only when PostgreSQL is used: the embedded default never pays for `pg`.
  const { createPostgresDialect, createPostgresPool, quoteIdentifier } = await import(
    "./postgres/dialect.js"
  );
  const pool = createPostgresPool(options);
  try {
    if (options.schema) await createSchema(pool, quoteIdentifier(options.schema));
    else await pool.query("select 1");
  } catch (error) {
    await pool.end();
    throw toStoreError(error, location);
  }
  const db = new Kysely<Database>({
    dialect: createPostgresDialect(pool),
    ...(options.onQuery ? { log: options.onQuery } : {}),
  });
  return {
    db,
    dialect: "postgres",
    location,
    writeTransaction: (fn) => db.transaction().execute(fn),
    close: () => db.destroy(),
  };
}

async function createSchema(pool: pg.Pool, quotedSchema: string): Promise<void> {
  try {
    await pool.query(`create schema if not exists ${quotedSchema}`);
  } catch (error) {
    // Two processes creating the same schema at once: the loser sees a duplicate, which is fine.
    const code = (error as { code?: string }).code;
    if (code !== "23505" && code !== "42P06") throw error;
  }
}

function toStoreError(error: unknown, location: string): LoopdError {
  if (error instanceof LoopdError) return error;
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (
    code === "ECONNREFUSED" ||
    code === "ENOTFOUND" ||
    code === "ETIMEDOUT" ||
    code === "3D000" ||
    code === "28P01"
  ) {
    return new LoopdError("LOOPD_STORE_UNAVAILABLE", `cannot open the store at ${location}: ${message}`, {
      cause: error,
    });
  }
  if (code?.startsWith("SQLITE_FULL")) {
    return new LoopdError("LOOPD_STORE_FULL", `cannot prepare the store at ${location}: the disk is full`, {
      cause: error,
    });
  }
  if (
    (code?.startsWith("SQLITE_READONLY") ||
      code === "SQLITE_CANTOPEN" ||
      code === "EROFS" ||
      code === "EACCES") &&
    !writable(dirname(location))
  ) {
    return new LoopdError(
      "LOOPD_STORE_READONLY",
      `cannot open the store at ${location}: its folder ${dirname(location)} cannot be written`,
      { cause: error },
    );
  }
  if (code === "SQLITE_CANTOPEN" || code === "SQLITE_READONLY" || code === "SQLITE_NOTADB") {
    return new LoopdError("LOOPD_STORE_UNAVAILABLE", `cannot open the store at ${location}: ${message}`, {
      hint: "Check that the data dir is writable and the file is a loopd SQLite database.",
      cause: error,
    });
  }
  return new LoopdError(
    "LOOPD_STORE_MIGRATION_FAILED",
    `preparing the store at ${location} failed: ${message}`,
    {
      cause: error,
    },
  );
}

/** Whether this process may create files in `dir` (false on a read-only mount, even as root). */
function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** postgres://user:secret@host/db → postgres://user@host/db */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = "";
    return parsed.toString();
  } catch {
    return "(invalid URL)";
  }
}
