/** The last preflight of each harness (any worker): what `loopd doctor` reports as history. */
import type { Db } from "./store.js";

export interface HarnessHealth {
  harness: string;
  checkedAt: number;
  workerId: string;
  installed: boolean;
  version: string | null;
  auth: string;
  lastError: { code: string; message: string; at: number } | null;
}

export async function recordHarnessHealth(
  db: Db,
  health: Omit<HarnessHealth, "lastError"> & { error: { code: string; message: string } | null },
): Promise<void> {
  const row = {
    checked_at: health.checkedAt,
    worker_id: health.workerId,
    installed: health.installed ? 1 : 0,
    // An error seen mid-run does not know the version: keep the one preflight found.
    ...(health.version !== null ? { version: health.version } : {}),
    auth: health.auth,
    // A later success keeps the last error, so doctor can say what went wrong and when.
    ...(health.error
      ? { error_code: health.error.code, error_message: health.error.message, error_at: health.checkedAt }
      : {}),
  };
  await db
    .insertInto("harness_health")
    .values({
      harness: health.harness,
      version: null,
      error_code: null,
      error_message: null,
      error_at: null,
      ...row,
    })
    .onConflict((conflict) => conflict.column("harness").doUpdateSet(row))
    .execute();
}

export async function listHarnessHealth(db: Db): Promise<HarnessHealth[]> {
  const rows = await db.selectFrom("harness_health").selectAll().orderBy("harness").execute();
  return rows.map((row) => ({
    harness: row.harness,
    checkedAt: Number(row.checked_at),
    workerId: row.worker_id,
    installed: row.installed === 1,
    version: row.version,
    auth: row.auth,
    lastError:
      row.error_code !== null && row.error_at !== null
        ? { code: row.error_code, message: row.error_message ?? "", at: Number(row.error_at) }
        : null,
  }));
}
