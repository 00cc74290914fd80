/** Settings: config-wide documents (`models`, `budgets`, `channels`, `dates`) that `apply` keeps in step. */
import type { Db } from "./store.js";

/** The config-wide sections of loopd.yaml, kept in step by `loopd apply`. */
export const CONFIG_SETTING = "config";

export async function getSetting<T>(db: Db, key: string): Promise<T | undefined> {
  const row = await db.selectFrom("settings").select("value").where("key", "=", key).executeTakeFirst();
  return row ? (JSON.parse(row.value) as T) : undefined;
}

export async function putSetting(db: Db, key: string, value: unknown, now: number): Promise<void> {
  const json = JSON.stringify(value);
  await db
    .insertInto("settings")
    .values({ key, value: json, updated_at: now })
    .onConflict((conflict) => conflict.column("key").doUpdateSet({ value: json, updated_at: now }))
    .execute();
}
