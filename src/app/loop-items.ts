/**
 * What a built-in loop watches, for the faces: one line per item (`#12`) with the state the
 * loop's last look left (a pull request of `pr-babysit`: green, behind, pending, red, fixing,
 * gave-up, refused, conflict, error; an issue of `issue-to-pr`: waiting, pr-open, gave-up,
 * error), what it did or saw, and when it looks again.
 */
import type { z } from "zod";
import { loopItems } from "../store/loop-items.js";
import type { Store } from "../store/store.js";
import type { WatchedItemViewSchema } from "./view-schemas.js";

export type WatchedItemView = z.infer<typeof WatchedItemViewSchema>;

interface StoredItemState {
  url?: string;
  status?: string;
  note?: string;
  head?: string | null;
  nextCheckAt?: number;
  gaveUp?: boolean;
}

const KINDS = { "pr:": "pull-request", "issue:": "issue" } as const;

/**
 * Pull requests (items `pr:<n>`) and issues (`issue:<n>`), lowest number first; the loop's own
 * bookkeeping items are left out.
 */
export async function watchedItems(store: Store, routineId: number): Promise<WatchedItemView[]> {
  const items = await loopItems(store.db, routineId);
  return [...items.entries()]
    .flatMap(([key, value]) => {
      const prefix = (Object.keys(KINDS) as (keyof typeof KINDS)[]).find((candidate) =>
        key.startsWith(candidate),
      );
      if (prefix === undefined) return [];
      const state = value as StoredItemState;
      return [
        {
          item: `#${key.slice(prefix.length)}`,
          kind: KINDS[prefix],
          status: state.status ?? "new",
          note: state.note ?? "",
          head: state.head ?? null,
          url: state.url ?? null,
          nextLookAt: state.gaveUp || !state.nextCheckAt ? null : new Date(state.nextCheckAt).toISOString(),
        },
      ];
    })
    .sort((a, b) => Number(a.item.slice(1)) - Number(b.item.slice(1)));
}
