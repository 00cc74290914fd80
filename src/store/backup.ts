/**
 * `loopd backup` on SQLite: SQLite's online backup API (better-sqlite3's `backup`), which
 * copies the database page by page and restarts a step when another connection writes, so
 * the copy is one consistent state even while the daemon works. The store is opened as it is,
 * never migrated: a copy taken by a newer loopd before its first start is the old schema.
 */
import { existsSync, statSync } from "node:fs";
import Database from "better-sqlite3";
import { LoopdError } from "../domain/errors.js";
import { makePrivate, SQLITE_BUSY_TIMEOUT_MS } from "./sqlite/dialect.js";

export interface SqliteBackup {
  file: string;
  bytes: number;
  /** The copy's schema version (its highest migration). */
  schemaVersion: number;
  /** `PRAGMA quick_check` of the copy: "ok" or SQLite's first complaint. */
  check: string;
}

export async function backupSqlite(source: string, target: string): Promise<SqliteBackup> {
  if (!existsSync(source)) {
    throw new LoopdError("LOOPD_STORE_UNAVAILABLE", `there is no store at ${source} to back up`, {
      hint: "Pass the --home of the daemon's data dir; `loopd doctor` names the store it uses.",
    });
  }
  const db = new Database(source, { fileMustExist: true });
  try {
    db.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    makePrivate(target); // the copy holds what the store holds (hook secrets, logs): 0600
    await db.backup(target);
  } catch (error) {
    if (error instanceof LoopdError) throw error;
    throw new LoopdError(
      "LOOPD_FILE_WRITE_FAILED",
      `backing up ${source} to ${target} failed: ${(error as Error).message}`,
      { cause: error },
    );
  } finally {
    db.close();
  }
  const copy = new Database(target, { fileMustExist: true });
  try {
    // One self-contained file (no -wal/-shm beside it); the daemon turns WAL back on when it opens a restored copy.
    copy.pragma("journal_mode = DELETE");
    const check = String(copy.pragma("quick_check", { simple: true }));
    const version = copy.prepare("select max(version) as version from schema_migrations").get() as {
      version: number | null;
    };
    return { file: target, bytes: statSync(target).size, schemaVersion: Number(version.version ?? 0), check };
  } finally {
    copy.close();
  }
}
