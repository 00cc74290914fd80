/**
 * `loopd feedback`: the clusters of feedback-triage routines as their last tick left them
 * (store/feedback.ts) — active themes largest first, then resolved ones with `all`. The view
 * is declared here as a zod schema, like app/view-schemas.ts, for the API and the faces.
 */
import { z } from "zod";
import { feedbackClusters } from "../store/feedback.js";
import { listRoutines } from "../store/routines.js";
import type { Store } from "../store/store.js";
import { requireRoutine } from "./routines.js";

export const FeedbackClusterViewSchema = z.object({
  routine: z.string(),
  id: z.string().meta({ description: "Stable across ticks: `c<n>`, never reused.", example: "c3" }),
  label: z.string().meta({ description: "Top terms.", example: "photo · upload · crash" }),
  title: z.string().nullable(),
  size: z.int().meta({ description: "Items in the theme (duplicates folded)." }),
  previousSize: z.int().meta({ description: "Its size after the tick before the last change." }),
  status: z.enum(["new", "growing", "shrinking", "steady", "resolved"]),
  representatives: z
    .array(z.object({ key: z.string(), text: z.string(), url: z.string().nullable() }))
    .meta({ description: "Up to 3 items nearest the centroid." }),
  firstSeen: z.string().meta({ description: "ISO 8601." }),
  updatedAt: z.string().meta({ description: "ISO 8601: the tick that last changed it." }),
});

export type FeedbackClusterView = z.infer<typeof FeedbackClusterViewSchema>;

export async function feedbackClusterViews(
  store: Store,
  options: { routine?: string; all?: boolean } = {},
): Promise<FeedbackClusterView[]> {
  const routines =
    options.routine !== undefined
      ? [await requireRoutine(store, options.routine)]
      : (await listRoutines(store.db)).filter((routine) => routine.spec.loop?.kind === "feedback-triage");
  const views: FeedbackClusterView[] = [];
  for (const routine of routines) {
    for (const cluster of await feedbackClusters(store.db, routine.id)) {
      if (cluster.status === "resolved" && !options.all) continue;
      views.push({
        routine: routine.name,
        id: cluster.id,
        label: cluster.label,
        title: cluster.title,
        size: cluster.size,
        previousSize: cluster.previousSize,
        status: cluster.status,
        representatives: cluster.representatives,
        firstSeen: new Date(cluster.firstSeen).toISOString(),
        updatedAt: new Date(cluster.updatedAt).toISOString(),
      });
    }
  }
  return views;
}
