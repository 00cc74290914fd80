/**
 * The catch-up × overlap rules run through domain/ alone, as a model of what the engine does:
 * domain/overlap.test.ts tables its answers, and src/engine/catch-up-overlap.test.ts proves
 * the engine (materialise, claim, execute, on both stores) gives the same answer for every
 * pair of policies, without restating the table.
 */
import type { CatchUpPolicy, OverlapPolicy } from "../../src/domain/config-schema.js";
import { planOccurrences } from "../../src/domain/occurrences.js";
import { decideOverlap, isInLine, onTimeMayQueue } from "../../src/domain/overlap.js";

/**
 * Catch-up × overlap, end to end in miniature: `every: 2s` after 29 s asleep (15 occurrences
 * due: the newest on time, 14 missed, maxCatchup 10), materialised by planOccurrences, then
 * claimed by a worker with room for 4 runs per pass whose runs take one pass each. Which
 * occurrences execute, in which order, is fixed by the two policies alone.
 */
export function catchUpOverlapModel(
  catchUp: CatchUpPolicy,
  overlap: OverlapPolicy,
): { executed: number[]; skipped: number[] } {
  const T0 = 1_000_000;
  const plan = planOccurrences(
    {
      trigger: { kind: "every", every: "2s", everyMs: 2000 },
      until: undefined,
      catchUp,
      maxCatchup: 10,
      nextDueAt: T0,
      scheduledRuns: 0,
    },
    T0 + 29_000,
  );
  type Run = { id: number; dueAt: number; trigger: string; startedBefore: boolean; status: string };
  const runs: Run[] = [];
  let onTimeWaiting = false;
  for (const occurrence of plan.run) {
    const run = {
      id: runs.length + 1,
      dueAt: occurrence.dueAt,
      trigger: occurrence.trigger,
      startedBefore: false,
    };
    if (!isInLine(run) && !onTimeMayQueue(overlap, onTimeWaiting)) continue;
    if (!isInLine(run)) onTimeWaiting = true;
    runs.push({ ...run, status: "queued" });
  }
  const executed: number[] = [];
  for (let pass = 0; pass < 50 && runs.some((run) => run.status === "queued"); pass++) {
    // Claim order: runs in line first, then by due time (claim-runs.ts).
    const candidates = runs
      .filter((run) => run.status === "queued")
      .sort((a, b) => Number(isInLine(b)) - Number(isInLine(a)) || a.dueAt - b.dueAt)
      .slice(0, 4);
    const running = runs
      .filter((run) => run.status === "running")
      .map((run) => ({ id: run.id, inLine: isInLine(run) }));
    for (const run of candidates) {
      const ahead = runs.find(
        (other) => other.status === "queued" && other !== run && isInLine(other) && other.dueAt < run.dueAt,
      );
      const decision = decideOverlap({
        policy: overlap,
        candidate: { id: run.id, inLine: isInLine(run) },
        running,
        lineAhead: ahead?.id ?? null,
      });
      if (decision.action === "skip") run.status = "skipped";
      if (decision.action === "start") {
        for (const id of decision.cancel) {
          runs.find((other) => other.id === id)!.status = "canceled";
          running.splice(
            running.findIndex((other) => other.id === id),
            1,
          );
        }
        run.status = "running";
        running.push({ id: run.id, inLine: isInLine(run) });
      }
    }
    for (const run of runs) {
      if (run.status !== "running") continue;
      run.status = "succeeded";
      executed.push((run.dueAt - T0) / 1000);
    }
  }
  return {
    executed,
    skipped: runs.filter((run) => run.status === "skipped").map((run) => (run.dueAt - T0) / 1000),
  };
}
