/**
 * The engine with occurrences materialised ahead (issue #23, on-time bursts), on the real
 * clock and both stores: the next occurrence is queued before it is due, no run starts before
 * its due time, and with the option at 0 the engine materialises at the due time as before.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { addRoutine } from "../../test/helpers/routines.js";
import { openTestStore, type TestStore, testDialects } from "../../test/helpers/stores.js";
import { shellHarness } from "../harness/shell.js";
import { findRoutineByName } from "../store/routines.js";
import { listRuns } from "../store/runs.js";
import { Engine } from "./engine.js";

const harnesses = new Map([["shell", shellHarness]]);

describe.each(await testDialects())("%s: engine materialising ahead", (dialect) => {
  let ctx: TestStore;
  let repo: string;
  let engine: Engine | undefined;
  beforeEach(async () => {
    ctx = await openTestStore(dialect);
    repo = mkdtempSync(join(tmpdir(), "loopd-ahead-"));
  });
  afterEach(async () => {
    await engine?.stop(0);
    engine = undefined;
    await ctx?.dispose();
    rmSync(repo, { recursive: true, force: true });
  });

  const finished = async () => {
    const routine = await findRoutineByName(ctx.store.db, "tick");
    return (await listRuns(ctx.store.db, { routineId: routine!.id })).filter(
      (run) => run.status === "succeeded",
    );
  };

  it.each([
    ["1 s ahead", 1_000, true],
    ["off (0)", 0, false],
  ])("every 1s, %s: each run starts at or after its due time", async (_label, aheadMs, ahead) => {
    const now = Date.now();
    await addRoutine(
      ctx.store,
      { name: "tick", command: "true", every: "1s" },
      { repo, nextDueAt: Math.ceil(now / 1000) * 1000 + 1000, now },
    );
    engine = new Engine({ store: ctx.store, harnesses, roles: { schedule: true, work: true }, aheadMs });
    await engine.start();
    await expect
      .poll(async () => (await finished()).length, { timeout: 15_000, interval: 100 })
      .toBeGreaterThanOrEqual(3);

    const runs = await finished();
    for (const run of runs) {
      expect(run.trigger).toBe("schedule");
      // Never early: a run materialised ahead waits for its due time.
      expect(run.startedAt!).toBeGreaterThanOrEqual(run.dueAt);
    }
    // Ahead, the runs after the first were queued before they were due; off, at or after it.
    const queuedEarly = runs.filter((run) => run.queuedAt < run.dueAt).length;
    if (ahead) expect(queuedEarly).toBeGreaterThanOrEqual(1);
    else expect(queuedEarly).toBe(0);
  });
});
