/** Embedded store: one SQLite file in the data dir, WAL mode so readers never block the writer. */
import Database from "better-sqlite3";
import { SqliteDialect } from "kysely";

/** How long a writer waits for another process's lock before SQLITE_BUSY. */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;

export function createSqliteDialect(file: string): SqliteDialect {
  return new SqliteDialect({
    database: async () => {
      const db = new Database(file);
      db.pragma("journal_mode = WAL");
      db.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
      // WAL + NORMAL is durable across application crashes; only an OS crash can lose the last commits.
      db.pragma("synchronous = NORMAL");
      db.pragma("foreign_keys = ON");
      return db;
    },
  });
}
