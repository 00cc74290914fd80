/** Routine memory: one markdown document per routine (see domain/memory.ts for its rules). */
import type { Db } from "./store.js";

export async function getMemory(
  db: Db,
  routineId: number,
): Promise<{ content: string; updatedAt: number } | null> {
  const row = await db
    .selectFrom("memory")
    .select(["content", "updated_at"])
    .where("routine_id", "=", routineId)
    .executeTakeFirst();
  return row ? { content: row.content, updatedAt: Number(row.updated_at) } : null;
}

export async function putMemory(db: Db, routineId: number, content: string, now: number): Promise<void> {
  await db
    .insertInto("memory")
    .values({ routine_id: routineId, content, updated_at: now })
    .onConflict((conflict) => conflict.column("routine_id").doUpdateSet({ content, updated_at: now }))
    .execute();
}

export async function clearMemory(db: Db, routineId: number): Promise<boolean> {
  const result = await db.deleteFrom("memory").where("routine_id", "=", routineId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
