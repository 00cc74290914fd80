/**
 * `loopd backup <file>`: a consistent copy of this machine's store, taken while the daemon
 * runs. SQLite: the online backup API (store/backup.ts). PostgreSQL: loopd does not dump a
 * server it shares with others; it refuses with LOOPD_BACKUP_POSTGRES, whose hint is the
 * exact `pg_dump` command for the configured URL and schema.
 */
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { LoopdError } from "../domain/errors.js";
import { backupSqlite, type SqliteBackup } from "../store/backup.js";
import { redactUrl } from "../store/store.js";
import { storeOptionsFromEnv } from "./open-store.js";

export type BackupResult = SqliteBackup & { source: string };

export async function backupHome(
  home: string,
  env: NodeJS.ProcessEnv,
  target: string,
  options: { force: boolean; cwd?: string },
): Promise<BackupResult> {
  const file = resolve(options.cwd ?? process.cwd(), target);
  const store = storeOptionsFromEnv(home, env);
  if (store.kind === "postgres") {
    throw new LoopdError(
      "LOOPD_BACKUP_POSTGRES",
      "loopd backup copies SQLite stores; this one is PostgreSQL",
      {
        hint: `Run: ${pgDumpCommand(store.url, store.schema, file)} (password from PGPASSWORD or ~/.pgpass)`,
      },
    );
  }
  if (resolve(store.file) === file) {
    throw new LoopdError("LOOPD_BACKUP_EXISTS", `${file} is the store itself`, {
      hint: "Name a file outside the data dir, e.g. loopd-$(date +%F).db.",
    });
  }
  if (existsSync(file) && !options.force) {
    throw new LoopdError("LOOPD_BACKUP_EXISTS", `${file} already exists`);
  }
  if (existsSync(file) && statSync(file).isDirectory()) {
    throw new LoopdError("LOOPD_BACKUP_EXISTS", `${file} is a folder`, {
      hint: "Name the backup file, e.g. <folder>/loopd-$(date +%F).db.",
    });
  }
  return { ...(await backupSqlite(store.file, file)), source: store.file };
}

/** The dump loopd recommends for a PostgreSQL store: custom format, only loopd's schema. */
export function pgDumpCommand(url: string, schema: string | undefined, file: string): string {
  const words = ["pg_dump", "--format=custom", `--file=${file}`];
  if (schema) words.push(`--schema=${schema}`);
  words.push(redactUrl(url));
  return words.map(shellQuote).join(" ");
}

function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}
