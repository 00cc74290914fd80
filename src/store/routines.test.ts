import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shellSpec } from "../../test/helpers/specs.js";
import { openTestStore, type TestStore, testDialects } from "../../test/helpers/stores.js";
import {
  deleteRoutine,
  findRoutineByName,
  insertRoutine,
  listRoutines,
  setRoutineState,
  updateRoutineSpec,
} from "./routines.js";
import { appendRunEvents, listRunEvents } from "./run-events.js";
import { findRun, insertRun, listRuns } from "./runs.js";
import { getSetting, putSetting } from "./settings.js";

const NOW = Date.parse("2026-11-28T12:00:00Z");

const spec = (name: string) => shellSpec(name, { task: { kind: "command", command: "echo hi" }, retries: 2 });

const newRoutine = (name: string) => ({
  name,
  source: "/repo/loopd.yaml",
  spec: spec(name),
  specHash: `hash-${name}`,
  state: "active" as const,
  pausedReason: null,
  nextDueAt: NOW + 10_000,
  now: NOW,
});

describe.each(await testDialects())("%s: routines and runs", (dialect) => {
  let ctx: TestStore;
  beforeAll(async () => {
    ctx = await openTestStore(dialect);
  });
  afterAll(async () => {
    await ctx?.dispose();
  });

  it("inserts a routine and reads it back by name with its spec", async () => {
    const created = await insertRoutine(ctx.store.db, newRoutine("alpha"));
    expect(created).toMatchObject({
      name: "alpha",
      state: "active",
      nextDueAt: NOW + 10_000,
      consecutiveFailures: 0,
    });
    const found = await findRoutineByName(ctx.store.db, "alpha");
    expect(found?.spec).toEqual(spec("alpha"));
    expect(typeof found?.id).toBe("number");
  });

  it("refuses a second routine with the same name", async () => {
    await expect(insertRoutine(ctx.store.db, newRoutine("alpha"))).rejects.toThrow();
  });

  it("lists routines by name", async () => {
    await insertRoutine(ctx.store.db, newRoutine("beta"));
    expect((await listRoutines(ctx.store.db)).map((routine) => routine.name)).toEqual(["alpha", "beta"]);
  });

  it("updates the spec and the state", async () => {
    const beta = (await findRoutineByName(ctx.store.db, "beta"))!;
    await updateRoutineSpec(ctx.store.db, beta.id, {
      spec: { ...spec("beta"), timeout: "5m", timeoutMs: 300_000 },
      specHash: "hash-beta-2",
      source: null,
      nextDueAt: NOW + 5,
      now: NOW + 1,
    });
    await setRoutineState(ctx.store.db, beta.id, {
      state: "paused",
      pausedReason: "by hand",
      nextDueAt: NOW + 5,
      now: NOW + 2,
    });
    expect(await findRoutineByName(ctx.store.db, "beta")).toMatchObject({
      specHash: "hash-beta-2",
      source: null,
      state: "paused",
      pausedReason: "by hand",
      nextDueAt: NOW + 5,
      updatedAt: NOW + 2,
      spec: expect.objectContaining({ timeout: "5m" }),
    });
  });

  it("a pause's code is the latest pause's: a resume clears it, so an old auth pause never lingers", async () => {
    const twice = await insertRoutine(ctx.store.db, newRoutine("paused-twice"));
    // As the engine's auth pause leaves it (sql/pause-routine.ts).
    await ctx.store.db
      .updateTable("routines")
      .set({ state: "paused", paused_code: "LOOPD_AUTH_EXPIRED" })
      .where("id", "=", twice.id)
      .execute();
    const state = (state: "active" | "paused", pausedCode?: string) => ({
      state,
      pausedReason: state === "paused" ? "by hand" : null,
      ...(pausedCode !== undefined ? { pausedCode } : {}),
      nextDueAt: NOW,
      now: NOW,
    });
    expect((await findRoutineByName(ctx.store.db, "paused-twice"))?.pausedCode).toBe("LOOPD_AUTH_EXPIRED");
    await setRoutineState(ctx.store.db, twice.id, state("active"));
    expect((await findRoutineByName(ctx.store.db, "paused-twice"))?.pausedCode).toBeNull();
    await setRoutineState(ctx.store.db, twice.id, state("paused", "user"));
    expect((await findRoutineByName(ctx.store.db, "paused-twice"))?.pausedCode).toBe("user");
    await setRoutineState(ctx.store.db, twice.id, state("paused"));
    expect((await findRoutineByName(ctx.store.db, "paused-twice"))?.pausedCode).toBeNull();
  });

  it("creates exactly one run per (routine, due time), however often it is materialised", async () => {
    const alpha = (await findRoutineByName(ctx.store.db, "alpha"))!;
    const run = {
      routineId: alpha.id,
      dueAt: NOW,
      trigger: "schedule" as const,
      status: "queued" as const,
      maxAttempts: 3,
      now: NOW,
    };
    const results = await Promise.all([1, 2, 3, 4].map(() => insertRun(ctx.store.db, run)));
    expect(results.filter((id) => id !== undefined)).toHaveLength(1);
    const stored = await listRuns(ctx.store.db, { routineId: alpha.id });
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({
      routineName: "alpha",
      dueAt: NOW,
      status: "queued",
      attempt: 0,
      notBefore: NOW,
    });
  });

  it("lists runs newest first with filters", async () => {
    const alpha = (await findRoutineByName(ctx.store.db, "alpha"))!;
    const skipped = await insertRun(ctx.store.db, {
      routineId: alpha.id,
      dueAt: NOW + 10_000,
      trigger: "catch-up",
      status: "skipped",
      reason: "catch-up: latest",
      maxAttempts: 3,
      now: NOW,
    });
    const runs = await listRuns(ctx.store.db, { routineId: alpha.id });
    expect(runs.map((run) => run.id)).toEqual([skipped, runs[1]!.id]);
    expect(await listRuns(ctx.store.db, { status: "skipped" })).toEqual([
      expect.objectContaining({ id: skipped, reason: "catch-up: latest", finishedAt: NOW }),
    ]);
    expect(await listRuns(ctx.store.db, { limit: 1 })).toHaveLength(1);
  });

  it("appends run events and reads them in order, or only the new ones", async () => {
    const [run] = await listRuns(ctx.store.db, { limit: 1 });
    const events = ["one", "two", "three"].map((data, i) => ({
      runId: run!.id,
      attempt: 1,
      at: NOW + i,
      type: "log",
      stream: "stdout",
      data,
    }));
    await appendRunEvents(ctx.store.db, events);
    const all = await listRunEvents(ctx.store.db, run!.id);
    expect(all.map((event) => event.data)).toEqual(["one", "two", "three"]);
    expect((await listRunEvents(ctx.store.db, run!.id, { afterId: all[0]!.id })).map((e) => e.data)).toEqual([
      "two",
      "three",
    ]);
  });

  it("keeps settings as JSON documents", async () => {
    expect(await getSetting(ctx.store.db, "config")).toBeUndefined();
    await putSetting(ctx.store.db, "config", { models: { fast: 1 } }, NOW);
    await putSetting(ctx.store.db, "config", { models: { fast: 2 } }, NOW);
    expect(await getSetting(ctx.store.db, "config")).toEqual({ models: { fast: 2 } });
  });

  it("rolls a write transaction back when it fails", async () => {
    await expect(
      ctx.store.writeTransaction(async (trx) => {
        await insertRoutine(trx, newRoutine("gamma"));
        throw new Error("abort");
      }),
    ).rejects.toThrow("abort");
    expect(await findRoutineByName(ctx.store.db, "gamma")).toBeUndefined();
  });

  it("deletes a routine with its runs and events", async () => {
    const alpha = (await findRoutineByName(ctx.store.db, "alpha"))!;
    const [run] = await listRuns(ctx.store.db, { routineId: alpha.id, limit: 1 });
    expect(await deleteRoutine(ctx.store.db, alpha.id)).toBe(true);
    expect(await findRun(ctx.store.db, run!.id)).toBeUndefined();
    expect(await listRunEvents(ctx.store.db, run!.id)).toEqual([]);
    expect(await deleteRoutine(ctx.store.db, alpha.id)).toBe(false);
  });
});
