/**
 * Catch-up × overlap through the engine, against both stores: `every: 2s` after 29 s asleep
 * (15 occurrences due: the newest on time, 14 missed, maxCatchup 10), executed by a worker with
 * room for four runs at once. What runs, in which order, and what is skipped is the same every
 * time and the same as the domain's model of it (test/helpers/catch-up-overlap-model.ts,
 * whose answers domain/overlap.test.ts tables): this proves the engine applies those rules.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { catchUpOverlapModel } from "../../test/helpers/catch-up-overlap-model.js";
import { addRoutine, FakeClock } from "../../test/helpers/routines.js";
import { openTestStore, type TestStore, testDialects } from "../../test/helpers/stores.js";
import { CATCH_UP_POLICIES, OVERLAP_POLICIES } from "../domain/config-values.js";
import { shellHarness } from "../harness/shell.js";
import { findRoutineByName } from "../store/routines.js";
import { listRuns } from "../store/runs.js";
import { Engine } from "./engine.js";

const T0 = Date.parse("2026-11-28T08:00:00Z");

describe.each(await testDialects())("%s: catch-up × overlap", (dialect) => {
  let ctx: TestStore;
  let repo: string;
  let engine: Engine | undefined;

  beforeEach(async () => {
    ctx = await openTestStore(dialect);
    repo = mkdtempSync(join(tmpdir(), "loopd-catchup-"));
  });
  afterEach(async () => {
    await engine?.stop(0);
    await ctx?.dispose();
    rmSync(repo, { recursive: true, force: true });
  });

  const PAIRS = CATCH_UP_POLICIES.flatMap((catchUp) =>
    OVERLAP_POLICIES.map((overlap) => [catchUp, overlap] as const),
  );
  it.each(PAIRS)("catchUp %s, overlap %s: as the domain model says", async (catchUp, overlap) => {
    // What should execute, in which order, and what overlap skips: domain/overlap.test.ts tables it.
    const { executed, skipped: skippedByOverlap } = catchUpOverlapModel(catchUp, overlap);
    const clock = new FakeClock(T0 + 29_000);
    await addRoutine(
      ctx.store,
      {
        name: "beat",
        every: "2s",
        catchUp,
        overlap,
        command: 'echo "start $LOOPD_DUE_AT" >> log; sleep 0.05; echo "end $LOOPD_DUE_AT" >> log',
      },
      { repo, nextDueAt: T0, now: T0 },
    );
    engine = new Engine({
      store: ctx.store,
      harnesses: new Map([["shell", shellHarness]]),
      roles: { schedule: true, work: true },
      concurrency: 4,
      clock,
    });
    const routine = (await findRoutineByName(ctx.store.db, "beat"))!;
    const runs = () => listRuns(ctx.store.db, { routineId: routine.id, limit: 100 });
    for (let pass = 0; pass < 30; pass++) {
      await engine.pass();
      await engine.idle();
      if (!(await runs()).some((run) => run.status === "queued" || run.status === "running")) break;
    }

    const seconds = (iso: string) => (Date.parse(iso) - T0) / 1000;
    const lines = readFileSync(join(repo, "log"), "utf8").trim().split("\n");
    const started = lines.filter((line) => line.startsWith("start")).map((line) => seconds(line.slice(6)));
    if (overlap === "allow") expect([...started].sort((a, b) => a - b)).toEqual(executed);
    else {
      expect(started).toEqual(executed); // oldest first…
      // …and one at a time: every start is followed by its own end.
      lines.forEach((line, index) => {
        if (line.startsWith("start")) expect(lines[index + 1]).toBe(line.replace("start", "end"));
      });
    }
    const final = await runs();
    expect(final.filter((run) => run.status === "succeeded")).toHaveLength(executed.length);
    const overlapSkips = final.filter((run) => run.status === "skipped" && run.reason?.startsWith("overlap"));
    expect(overlapSkips.map((run) => (run.dueAt - T0) / 1000)).toEqual(skippedByOverlap);
    expect(final.every((run) => run.status !== "canceled")).toBe(true);
  });
});
