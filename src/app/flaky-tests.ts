/**
 * `loopd flaky`: the tests of ci-health routines, classified over each routine's window from
 * the recorded history (store/test-results.ts, domain/test-health.ts) — broken first, then
 * flaky by flake rate, new, recovered, passing.
 */
import type { z } from "zod";
import { classifyTests } from "../domain/test-health.js";
import { listRoutines } from "../store/routines.js";
import type { Store } from "../store/store.js";
import { recentTestResults } from "../store/test-results.js";
import { requireRoutine } from "./routines.js";
import type { FlakyTestViewSchema } from "./view-schemas.js";

export type FlakyTestView = z.infer<typeof FlakyTestViewSchema>;

const DEFAULT_WINDOW = 20;

export async function flakyTests(store: Store, options: { routine?: string } = {}): Promise<FlakyTestView[]> {
  const routines =
    options.routine !== undefined
      ? [await requireRoutine(store, options.routine)]
      : (await listRoutines(store.db)).filter((routine) => routine.spec.loop?.kind === "ci-health");
  const views: FlakyTestView[] = [];
  for (const routine of routines) {
    const window = routine.spec.loop?.window;
    const history = await recentTestResults(
      store.db,
      routine.id,
      typeof window === "number" ? window : DEFAULT_WINDOW,
    );
    for (const test of classifyTests(history)) {
      views.push({
        routine: routine.name,
        testId: test.testId,
        class: test.class,
        flakeRate: test.flakeRate,
        runs: test.runs,
        lastFailure: test.lastFailure?.message ?? null,
        lastFailedAt: test.lastFailure ? iso(test.lastFailure.at) : null,
        since: test.since ? iso(test.since.at) : null,
        sinceCommit: test.since?.commit ?? null,
        firstSeen: iso(test.firstSeen),
        lastSeen: iso(test.lastSeen),
      });
    }
  }
  return views;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
