/**
 * Embedded store: one SQLite file in the data dir, WAL mode so readers never block the writer.
 * The file is private to its owner (0600) whatever the folder's mode or the umask: it holds
 * routine specs (hook secrets), run logs and costs. SQLite creates `-wal` and `-shm` with the
 * database file's mode, so making that one first is enough; older, wider files are narrowed.
 */
import { chmodSync, closeSync, openSync, statSync } from "node:fs";
import { SqliteDialect } from "kysely";

const PRIVATE_MODE = 0o600;

/** How long a writer waits for another process's lock before SQLITE_BUSY. */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;

export function createSqliteDialect(file: string): SqliteDialect {
  return new SqliteDialect({
    database: async () => {
      if (file !== ":memory:") makePrivate(file);
      // Loaded on open, not with the store module: a command answered by a running daemon over
      // HTTP (`loopd ls` with `serve` up) never loads the native addon.
      const { default: Database } = await import("better-sqlite3");
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

/** Creates the file 0600 if absent; narrows it and its -wal/-shm when group or others can read them. */
export function makePrivate(file: string): void {
  try {
    closeSync(openSync(file, "wx", PRIVATE_MODE)); // an empty file is a database SQLite will initialise
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  for (const path of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      if (statSync(path).mode & 0o077) chmodSync(path, PRIVATE_MODE);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
}
