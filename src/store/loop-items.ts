/** A built-in loop's per-item memory (table `loop_items`): one JSON document per routine and item. */
import type { Db } from "./store.js";

export async function loopItems(db: Db, routineId: number): Promise<Map<string, unknown>> {
  const rows = await db
    .selectFrom("loop_items")
    .select(["item", "state"])
    .where("routine_id", "=", routineId)
    .execute();
  return new Map(rows.map((row) => [row.item, JSON.parse(row.state) as unknown]));
}

export async function putLoopItem(
  db: Db,
  routineId: number,
  item: string,
  state: unknown,
  now: number,
): Promise<void> {
  const json = JSON.stringify(state);
  await db
    .insertInto("loop_items")
    .values({ routine_id: routineId, item, state: json, updated_at: now })
    .onConflict((conflict) =>
      conflict.columns(["routine_id", "item"]).doUpdateSet({ state: json, updated_at: now }),
    )
    .execute();
}

/** Forgets the items a loop no longer watches (merged or closed pull requests). */
export async function deleteLoopItems(db: Db, routineId: number, items: string[]): Promise<void> {
  if (items.length === 0) return;
  await db.deleteFrom("loop_items").where("routine_id", "=", routineId).where("item", "in", items).execute();
}
