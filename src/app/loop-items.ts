/**
 * What a built-in loop watches, for the faces: one line per item (`#12` for a pull request)
 * with the state the loop's last look left (green, behind, pending, red, fixing, gave-up,
 * refused, conflict, error), what it did or saw, and when it looks again.
 */
import { loopItems } from "../store/loop-items.js";
import type { Store } from "../store/store.js";

export interface WatchedItemView {
  item: string;
  status: string;
  note: string;
  /** The head commit the state is about (pull requests). */
  head: string | null;
  /** The pull request on GitHub. */
  url: string | null;
  /** ISO time of the next look; null when the next tick looks (or the loop waits for a new head). */
  nextLookAt: string | null;
}

/** Pull requests (items `pr:<n>`), lowest number first; the loop's own bookkeeping items are left out. */
export async function watchedItems(store: Store, routineId: number): Promise<WatchedItemView[]> {
  const items = await loopItems(store.db, routineId);
  return [...items.entries()]
    .filter(([key]) => key.startsWith("pr:"))
    .map(([key, value]) => {
      const state = value as {
        url?: string;
        status?: string;
        note?: string;
        head?: string;
        nextCheckAt?: number;
        gaveUp?: boolean;
      };
      return {
        item: `#${key.slice("pr:".length)}`,
        status: state.status ?? "new",
        note: state.note ?? "",
        head: state.head ?? null,
        url: state.url ?? null,
        nextLookAt: state.gaveUp || !state.nextCheckAt ? null : new Date(state.nextCheckAt).toISOString(),
      };
    })
    .sort((a, b) => Number(a.item.slice(1)) - Number(b.item.slice(1)));
}
