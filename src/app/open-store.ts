/**
 * Picks the store from the environment: LOOPD_DATABASE_URL (postgres://…, optional
 * LOOPD_DATABASE_SCHEMA) for scale-out, otherwise the SQLite file in the data dir.
 */
import { join } from "node:path";
import { LoopdError } from "../domain/errors.js";
import type { Store, StoreOptions } from "../store/store.js";

/** The handle faces receive and pass to use-cases; they never query it themselves (store/ is below them). */
export type { Store };

export const SQLITE_FILE = "loopd.db";

export function storeOptionsFromEnv(home: string, env: NodeJS.ProcessEnv = process.env): StoreOptions {
  const url = env.LOOPD_DATABASE_URL?.trim();
  if (!url) return { kind: "sqlite", file: join(home, SQLITE_FILE) };
  if (!/^postgres(ql)?:\/\//i.test(url)) {
    throw new LoopdError("LOOPD_DATABASE_URL_INVALID", `LOOPD_DATABASE_URL must be a postgres:// URL`);
  }
  const schema = env.LOOPD_DATABASE_SCHEMA?.trim();
  return { kind: "postgres", url, ...(schema ? { schema } : {}) };
}

/** The store (and kysely with it) loads here, on open: `loopd mcp` answers `initialize` without it. */
export async function openStoreFromEnv(home: string, env: NodeJS.ProcessEnv = process.env): Promise<Store> {
  const options = storeOptionsFromEnv(home, env);
  const { openStore } = await import("../store/store.js");
  return openStore(options);
}
