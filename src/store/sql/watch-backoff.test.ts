/**
 * A backing-off watch on both stores: the completion of an evaluation counts the verdicts
 * that repeat (`routines.unchanged_verdicts`) and moves the next look it left behind; the
 * scheduler steps with the interval reached so far; a changed verdict brings it back.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { addRoutine } from "../../../test/helpers/routines.js";
import { openTestStore, type TestStore, testDialects } from "../../../test/helpers/stores.js";
import type { Verdict } from "../../domain/check.js";
import { decideWatch } from "../../domain/watch.js";
import { findRoutineByName } from "../routines.js";
import { completeRun } from "./complete-run.js";
import { materialiseDue } from "./materialise-due.js";

const T0 = Date.parse("2026-12-04T12:00:00Z");
const MINUTE = 60_000;

describe.each(await testDialects())("%s: watch backoff", (dialect) => {
  let ctx: TestStore;
  beforeEach(async () => {
    ctx = await openTestStore(dialect);
  });
  afterEach(async () => {
    await ctx?.dispose();
  });

  async function watch(fields: Record<string, unknown>) {
    return addRoutine(
      ctx.store,
      { name: "ci", check: { command: "true" }, every: "5m", ...fields },
      { repo: "/tmp", nextDueAt: T0, now: T0 - MINUTE },
    );
  }

  /** Materialises the occurrence due at `at`, runs it as worker w and completes it with `verdict`. */
  async function evaluate(at: number, verdict: Verdict) {
    expect(await materialiseDue(ctx.store, at)).toMatchObject({ queued: 1 });
    const run = await ctx.store.db
      .updateTable("runs")
      .set({ status: "running", attempt: 1, worker_id: "w", started_at: at, lease_until: at + MINUTE })
      .where("due_at", "=", at)
      .returning(["id", "routine_id"])
      .executeTakeFirstOrThrow();
    const routine = (await findRoutineByName(ctx.store.db, "ci"))!;
    const spec = routine.spec;
    const result = await completeRun(ctx.store, {
      runId: run.id,
      attempt: 1,
      workerId: "w",
      now: at + 1000,
      outcome: "succeeded",
      exitCode: 0,
      summary: verdict,
      error: null,
      watch: {
        routineName: "ci",
        verdict,
        decision: decideWatch(spec, at, verdict),
        summary: verdict,
        check: "true",
        deadline: null,
        fix: null,
      },
    });
    expect(result).toMatchObject({ accepted: true, final: true });
    const after = (await ctx.store.db
      .selectFrom("routines")
      .select(["next_due_at", "unchanged_verdicts"])
      .where("name", "=", "ci")
      .executeTakeFirstOrThrow())!;
    return { nextDueAt: after.next_due_at, unchanged: after.unchanged_verdicts };
  }

  it("doubles the interval while the verdict repeats, up to the backoff, and comes back on a change", async () => {
    await watch({ backoff: "40m" });
    let at = T0;
    const gaps: number[] = [];
    const unchanged: number[] = [];
    for (const verdict of [
      "unsatisfied",
      "unsatisfied",
      "unsatisfied",
      "unsatisfied",
      "unsatisfied",
    ] as const) {
      const next = await evaluate(at, verdict);
      gaps.push((next.nextDueAt! - at) / MINUTE);
      unchanged.push(next.unchanged);
      at = next.nextDueAt!;
    }
    expect(gaps).toEqual([5, 10, 20, 40, 40]);
    expect(unchanged).toEqual([0, 1, 2, 3, 4]);

    const changed = await evaluate(at, "satisfied");
    expect(changed).toEqual({ nextDueAt: at + 5 * MINUTE, unchanged: 0 });
  });

  it("keeps a written `every` with no backoff, while still counting", async () => {
    await watch({});
    let at = T0;
    for (const expected of [0, 1, 2]) {
      const next = await evaluate(at, "unsatisfied");
      expect(next).toEqual({ nextDueAt: at + 5 * MINUTE, unchanged: expected });
      at = next.nextDueAt!;
    }
  });
});
