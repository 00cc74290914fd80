/** ci-health's test history on both stores: recorded per run, read back by window, pruned by runs. */
import { tmpdir } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addRoutine } from "../../test/helpers/routines.js";
import { openTestStore, type TestStore, testDialects } from "../../test/helpers/stores.js";
import type { TestObservation } from "../domain/test-health.js";
import { pruneTestResults, recentTestResults, recordTestResults } from "./test-results.js";

const NOW = Date.parse("2026-12-04T10:00:00Z");

describe.each(await testDialects())("%s: test results", (dialect) => {
  let ctx: TestStore;
  beforeAll(async () => {
    ctx = await openTestStore(dialect);
  });
  afterAll(async () => {
    await ctx?.dispose();
  });

  const observation = (
    runId: number,
    testId: string,
    attempt: number,
    outcome: TestObservation["outcome"],
  ) => ({
    runId,
    testId,
    try: attempt,
    outcome,
    commit: "a".repeat(40),
    message: outcome === "failed" ? `run ${runId} failed` : null,
    at: NOW + runId * 1000 + attempt,
  });

  it("keeps each try of each run, reads the last N runs oldest first, and prunes whole runs", async () => {
    const routine = await addRoutine(
      ctx.store,
      { name: "health", template: "ci-health", params: { test: "npm test", junit: "junit.xml" } },
      { repo: tmpdir(), nextDueAt: null, now: NOW },
    );
    for (const runId of [11, 12, 13]) {
      await recordTestResults(ctx.store.db, routine.id, runId, [
        observation(runId, "suite::a", 0, "failed"),
        observation(runId, "suite::a", 1, "passed"),
        observation(runId, "suite::b", 0, "passed"),
      ]);
    }
    // A large suite goes in chunks under SQLite's bound-variable cap.
    await recordTestResults(
      ctx.store.db,
      routine.id,
      14,
      Array.from({ length: 1200 }, (_, index) => observation(14, `bulk::t${index}`, 0, "passed")),
    );

    const lastTwo = await recentTestResults(ctx.store.db, routine.id, 2);
    expect(new Set(lastTwo.map((row) => row.runId))).toEqual(new Set([13, 14]));
    expect(lastTwo.filter((row) => row.runId === 13)).toEqual([
      observation(13, "suite::a", 0, "failed"),
      observation(13, "suite::b", 0, "passed"),
      observation(13, "suite::a", 1, "passed"),
    ]);
    expect(lastTwo.filter((row) => row.runId === 14)).toHaveLength(1200);

    await pruneTestResults(ctx.store.db, routine.id, 2);
    const left = await recentTestResults(ctx.store.db, routine.id, 10);
    expect([...new Set(left.map((row) => row.runId))].sort()).toEqual([13, 14]);
  });
});
