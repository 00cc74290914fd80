/**
 * Catch-up × overlap through the engine, against both stores: `every: 2s` after 29 s asleep
 * (15 occurrences due: the newest on time, 14 missed, maxCatchup 10), executed by a worker with
 * room for four runs at once. What runs, in which order, and what is skipped is the same every
 * time (domain/overlap.ts): catch-up runs all execute, one after another; the on-time
 * occurrence is skipped behind them under `skip` and runs after them otherwise.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { addRoutine, FakeClock } from "../../test/helpers/routines.js";
import { openTestStore, type TestStore, testDialects } from "../../test/helpers/stores.js";
import { shellHarness } from "../harness/shell.js";
import { findRoutineByName } from "../store/routines.js";
import { listRuns } from "../store/runs.js";
import { Engine } from "./engine.js";

const T0 = Date.parse("2026-11-28T08:00:00Z");
const CATCH_UPS = [8, 10, 12, 14, 16, 18, 20, 22, 24, 26];

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

  it.each([
    // catchUp, overlap, executed (seconds after T0, in order), skipped by overlap
    ["latest", "skip", [28], []],
    ["latest", "queue", [28], []],
    ["latest", "cancel-previous", [28], []],
    ["latest", "allow", [28], []],
    ["none", "skip", [28], []],
    ["none", "queue", [28], []],
    ["none", "cancel-previous", [28], []],
    ["none", "allow", [28], []],
    ["all", "skip", CATCH_UPS, [28]],
    ["all", "queue", [...CATCH_UPS, 28], []],
    ["all", "cancel-previous", [...CATCH_UPS, 28], []],
    ["all", "allow", [...CATCH_UPS, 28], []],
  ] as const)("catchUp %s, overlap %s", async (catchUp, overlap, executed, skippedByOverlap) => {
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
