/** Scale-out store: PostgreSQL through node-postgres, optionally inside a named schema. */
import { PostgresDialect } from "kysely";
import pg from "pg";

const INT8_OID = 20;

export interface PostgresOptions {
  url: string;
  /** Schema to use (created if missing); default the server's search_path. */
  schema?: string;
  maxConnections?: number;
}

export function createPostgresPool(options: PostgresOptions): pg.Pool {
  return new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 10,
    ...(options.schema ? { options: `-c search_path=${quoteIdentifier(options.schema)}` } : {}),
    // BIGINT columns hold epoch milliseconds and ids, well inside Number's exact range.
    types: {
      getTypeParser: ((oid: number, format?: "text" | "binary") =>
        oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as never,
    },
  });
}

export function createPostgresDialect(pool: pg.Pool): PostgresDialect {
  return new PostgresDialect({ pool });
}

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
