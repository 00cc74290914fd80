/**
 * `loopd run` with no daemon serving an SQLite data dir: nothing else would ever start the
 * run, so the calling process claims it (with the same lease and fencing a daemon uses) and
 * executes it, attempt after attempt (retries, escalation to a stronger tier) until it is final.
 */
import { findRun } from "../../store/runs.js";
import { type ClaimedRun, claimRuns } from "../../store/sql/claim-runs.js";
import type { Store } from "../../store/store.js";

const LEASE_MS = 30_000;

/** Claims run `runId` here; null when something else took it first. `done` settles when it is final. */
export async function executeInline(
  store: Store,
  runId: number,
  options: { home: string; now: () => number },
): Promise<{ done: Promise<void> } | null> {
  // Loaded on use: only a run executed in this process needs the engine and the harnesses.
  const [{ workerRuntime }, { Engine }] = await Promise.all([
    import("../worker-runtime.js"),
    import("../../engine/engine.js"),
  ]);
  const runtime = await workerRuntime(store, options.home);
  const engine = new Engine({
    store,
    harnesses: runtime.harnesses,
    workspaces: runtime.workspaces,
    roles: { schedule: false, work: false },
    clock: { now: options.now },
  });
  const claim = async () =>
    (
      await claimRuns(store, {
        workerId: engine.workerId,
        now: options.now(),
        limit: 1,
        leaseMs: LEASE_MS,
        runId,
      })
    ).claimed[0];
  const first = await claim();
  if (!first) return null;
  const done = (async () => {
    // The process exits when the run is done: the metering gateway must not hold it open.
    try {
      await runUntilDone(first);
    } finally {
      await engine.closeGateway();
    }
  })();
  async function runUntilDone(claimed: ClaimedRun): Promise<void> {
    let run: ClaimedRun | undefined = claimed;
    while (run) {
      await engine.startRun(run);
      const after = await findRun(store.db, runId);
      if (after?.status !== "queued") return;
      // Timers may fire a moment early: wait again until the claim takes it.
      await new Promise((resolve) => setTimeout(resolve, Math.max(10, after.notBefore - options.now() + 5)));
      run = await claim();
      while (!run && (await findRun(store.db, runId))?.status === "queued") {
        await new Promise((resolve) => setTimeout(resolve, 50));
        run = await claim();
      }
    }
  }
  return { done };
}
