/**
 * Scale-out store: PostgreSQL through node-postgres, optionally inside a named schema.
 *
 * Connections die: the server restarts, fails over, or an operator runs pg_terminate_backend.
 * node-postgres reports a connection that dies while idle in the pool — or checked out but
 * between queries — as an 'error' event, and an 'error' event nobody listens to ends the
 * process. So every pool and every client gets a listener; the pool drops the dead client,
 * and the next query opens a new connection (the engine retries failed passes with backoff).
 */
import { PostgresDialect } from "kysely";
import pg from "pg";

const INT8_OID = 20;

export interface PostgresOptions {
  url: string;
  /** Schema to use (created if missing); default the server's search_path. */
  schema?: string;
  maxConnections?: number;
  /** A pooled connection died (already dropped from the pool); for logs and health. */
  onConnectionError?: (error: Error) => void;
}

/** How long getting a connection may take before the query fails (instead of hanging). */
const CONNECT_TIMEOUT_MS = 10_000;

export function createPostgresPool(options: PostgresOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    // Names the connections in pg_stat_activity: which loopd, which schema.
    application_name: applicationName("loopd", options.schema),
    // A peer that vanished without closing (a host gone, a network partition) is noticed.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    ...(options.schema ? { options: `-c search_path=${quoteIdentifier(options.schema)}` } : {}),
    // BIGINT columns hold epoch milliseconds and ids, well inside Number's exact range.
    types: {
      getTypeParser: ((oid: number, format?: "text" | "binary") =>
        oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as never,
    },
  });
  const onError = options.onConnectionError ?? (() => {});
  // An idle client died: the pool has removed it already.
  pool.on("error", onError);
  // A checked-out client died between queries: its next query fails, and on release the pool
  // drops it (it is no longer queryable). Without this listener the event would crash us.
  pool.on("connect", (client) => client.on("error", onError));
  return pool;
}

export function createPostgresDialect(pool: pg.Pool): PostgresDialect {
  return new PostgresDialect({ pool });
}

/** `loopd:<schema>`, within PostgreSQL's 63-byte limit. */
export function applicationName(prefix: string, schema: string | undefined): string {
  return (schema ? `${prefix}:${schema}` : prefix).slice(0, 63);
}

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
