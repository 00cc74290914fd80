/** Settings: config-wide documents (`models`, `budgets`, `channels`, `dates`) that `apply` keeps in step. */
import type { CodexSandbox } from "../domain/config-sections.js";
import type { Db } from "./store.js";

/** The config-wide sections of loopd.yaml, kept in step by `loopd apply`. */
export const CONFIG_SETTING = "config";

export interface ConfigSettings {
  dates?: Record<string, string>;
  models?: Record<string, unknown>;
  budgets?: { daily?: number; monthly?: number; perRun?: number; tokensPerMinute?: number };
  channels?: Record<string, unknown>;
  limits?: { concurrency?: number; perRepo?: number };
  workspaces?: { pool?: number; keep?: "failed" | "always" | "never"; pruneAfter?: string };
  context?: { maxBytes?: number; memoryMaxBytes?: number };
  auth?: { pauseAfter?: number };
  failures?: { pauseAfter?: number };
  harnesses?: Partial<Record<string, { command?: string; args?: string[]; sandbox?: CodexSandbox }>>;
  pricing?: Record<string, { input: number; cachedInput: number; output: number }>;
  github?: { webhookSecretEnv?: string; apiUrl?: string };
  /** How loopd commits and pushes a run's work (`deliver`). */
  git?: { author?: string; noVerify?: boolean };
  routing?: {
    rules?: Array<{ name: string; when: Record<string, unknown>; tier: string }>;
    explore?: number;
  };
}

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
