/**
 * `loopd backup` on SQLite: SQLite's online backup API (better-sqlite3's `backup`), copying
 * every page in one step inside one read transaction, so the copy is one consistent state
 * even while the daemon writes (WAL: the writer is never blocked). The copy is written beside
 * the target and renamed over it once checked, so a failed backup leaves no half file. The
 * store is opened as it is, never migrated: a copy taken by a newer loopd before its first
 * start holds the old schema.
 */
import { existsSync, renameSync, rmSync, statSync } from "node:fs";
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
  const partial = `${target}.partial-${process.pid}`;
  removeDatabase(partial);
  try {
    const db = new Database(source, { fileMustExist: true });
    try {
      db.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
      makePrivate(partial); // the copy holds what the store holds (hook secrets, logs): 0600
      // Every page in one step: step by step, each write by another connection restarts the copy.
      await db.backup(partial, { progress: () => 0x7fffffff });
    } finally {
      db.close();
    }
    const result = inspect(partial);
    renameSync(partial, target);
    return { ...result, file: target };
  } catch (error) {
    removeDatabase(partial);
    if (error instanceof LoopdError) throw error;
    throw new LoopdError(
      "LOOPD_FILE_WRITE_FAILED",
      `backing up ${source} to ${target} failed: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** Makes the copy one self-contained file (no -wal/-shm beside it) and checks it. */
function inspect(file: string): SqliteBackup {
  const copy = new Database(file, { fileMustExist: true });
  try {
    // The daemon turns WAL back on when it opens a restored copy.
    copy.pragma("journal_mode = DELETE");
    const check = String(copy.pragma("quick_check", { simple: true }));
    const version = copy.prepare("select max(version) as version from schema_migrations").get() as {
      version: number | null;
    };
    return { file, bytes: statSync(file).size, schemaVersion: Number(version.version ?? 0), check };
  } finally {
    copy.close();
  }
}

function removeDatabase(file: string): void {
  for (const path of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) rmSync(path, { force: true });
}
