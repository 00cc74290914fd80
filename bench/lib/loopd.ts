/** loopd scenarios: drain throughput, schedule lateness, idle cost. All through the real Engine. */
import { performance } from "node:perf_hooks";
import { type Insertable, sql } from "kysely";
import { Engine, type EngineEvent } from "../../src/engine/engine.js";
import { insertRoutine } from "../../src/store/routines.js";
import type { RunsTable } from "../../src/store/schema.js";
import { openStore, type Store } from "../../src/store/store.js";
import {
  type BenchStore,
  delay,
  dropSchema,
  log,
  noopHarnesses,
  quantile,
  type Rep,
  routineSpec,
  schemaName,
  sqliteFile,
  storeOptions,
} from "./common.js";

/** Fresh store target (PostgreSQL schema or SQLite file) and how to throw it away. */
function freshTarget(
  dialect: "postgres" | "sqlite",
  label: string,
): { target: BenchStore; dispose(): Promise<void> } {
  if (dialect === "postgres") {
    const schema = schemaName(label);
    return { target: { kind: "postgres", schema }, dispose: () => dropSchema(schema) };
  }
  const tmp = sqliteFile();
  return { target: { kind: "sqlite", file: tmp.file }, dispose: async () => tmp.dispose() };
}

async function insertRoutines(
  store: Store,
  count: number,
  make: (index: number) => { name: string; spec: ReturnType<typeof routineSpec>; nextDueAt: number | null },
): Promise<number[]> {
  const now = Date.now();
  const ids: number[] = [];
  await store.writeTransaction(async (trx) => {
    for (let index = 0; index < count; index++) {
      const { name, spec, nextDueAt } = make(index);
      const routine = await insertRoutine(trx, {
        name,
        source: null,
        spec,
        specHash: `bench-${name}`,
        state: "active",
        pausedReason: null,
        nextDueAt,
        now,
      });
      ids.push(routine.id);
    }
  });
  return ids;
}

export interface DrainOptions {
  dialect: "postgres" | "sqlite";
  workers: number;
  runs: number;
  /** Runs are spread round-robin over this many routines. */
  routines: number;
  concurrency: number;
}

/**
 * (a)/(b): `runs` queued runs with distinct due times, drained by `workers` engines (each
 * with its own Store, i.e. its own connection pool) until every run succeeded.
 */
export async function loopdDrain(options: DrainOptions): Promise<Rep> {
  const { target, dispose } = freshTarget(options.dialect, `loopd_w${options.workers}`);
  const setup = await openStore(storeOptions(target));
  const workers: Array<{ store: Store; engine: Engine }> = [];
  try {
    const routineIds = await insertRoutines(setup, options.routines, (index) => ({
      name: `drain-${index}`,
      spec: routineSpec(`drain-${index}`, { kind: "every", every: "1d", everyMs: 86_400_000 }),
      nextDueAt: null,
    }));
    const now = Date.now();
    const base = now - options.runs - 60_000;
    await setup.writeTransaction(async (trx) => {
      for (let start = 0; start < options.runs; start += 1000) {
        const rows: Array<Insertable<RunsTable>> = [];
        for (let k = start; k < Math.min(options.runs, start + 1000); k++) {
          rows.push({
            routine_id: routineIds[k % routineIds.length]!,
            due_at: base + k,
            trigger: "schedule",
            status: "queued",
            max_attempts: 1,
            not_before: base + k,
            queued_at: now,
          });
        }
        await trx.insertInto("runs").values(rows).execute();
      }
    });
    if (setup.dialect === "postgres") await sql`analyze routines, runs`.execute(setup.db);

    let queries = 0;
    let counting = false;
    const onQuery = () => {
      if (counting) queries++;
    };
    let finished = 0;
    let errors = 0;
    let firstError: unknown;
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => {
      resolveDone = resolve;
    });
    const onEvent = (event: EngineEvent) => {
      if (event.type === "run-finished" && event.accepted) {
        finished++;
        if (finished === options.runs) resolveDone();
      } else if (event.type === "error") {
        errors++;
        firstError ??= event.error;
      }
    };
    for (let index = 0; index < options.workers; index++) {
      const store = await openStore(storeOptions(target, onQuery));
      workers.push({
        store,
        engine: new Engine({
          store,
          harnesses: noopHarnesses,
          roles: { schedule: false, work: true },
          concurrency: options.concurrency,
          leaseMs: 30_000,
          workerId: `bench-${index}`,
          onEvent,
        }),
      });
    }
    // Count queries only on the workers' pools, from the start of the timed section.
    const started = performance.now();
    counting = true;
    await Promise.all(workers.map(({ engine }) => engine.start()));
    const timeout = setTimeout(() => resolveDone(), 300_000);
    await done;
    clearTimeout(timeout);
    const seconds = (performance.now() - started) / 1000;
    await Promise.all(workers.map(({ engine }) => engine.stop(1000)));
    if (finished !== options.runs)
      throw new Error(`loopd finished ${finished}/${options.runs} runs in 300 s`);

    const check = await setup.db
      .selectFrom("runs")
      .select((eb) => [
        eb.fn.countAll<number>().as("total"),
        eb.fn.sum<number>("attempt").as("attempts"),
        eb.fn.count<number>("finished_at").as("finished"),
      ])
      .where("status", "=", "succeeded")
      .executeTakeFirstOrThrow();
    if (Number(check.total) !== options.runs || Number(check.attempts) !== options.runs) {
      throw new Error(`loopd: expected ${options.runs} runs succeeded once, got ${JSON.stringify(check)}`);
    }
    if (errors > 0) log(`loopd: ${errors} engine errors, first: ${String(firstError)}`);
    return { runs: options.runs, seconds, queriesPerRun: queries / options.runs };
  } finally {
    for (const { store } of workers) await store.close();
    await setup.close();
    await dispose();
  }
}

export interface LatenessResult {
  dialect: "postgres" | "sqlite";
  /** Runs due inside the window. */
  due: number;
  started: number;
  p50: number;
  p99: number;
  max: number;
  /** Due inside the window but still not started at its end. */
  unstarted: number;
  skipped: number;
  errors: number;
}

/**
 * (c): `routines` routines `every: 1s`, all on the same second grid, one Engine scheduling
 * and working; lateness = started_at − due_at (started_at is the claim time).
 */
export async function loopdLateness(options: {
  dialect: "postgres" | "sqlite";
  routines: number;
  seconds: number;
  concurrency: number;
}): Promise<LatenessResult> {
  const { target, dispose } = freshTarget(options.dialect, "loopd_late");
  const store = await openStore(storeOptions(target));
  try {
    // First occurrence on a whole second ≥ 2 s from now, so every routine fires on the same tick.
    const first = Math.ceil((Date.now() + 2000) / 1000) * 1000;
    await insertRoutines(store, options.routines, (index) => ({
      name: `tick-${index}`,
      spec: routineSpec(`tick-${index}`, { kind: "every", every: "1s", everyMs: 1000 }),
      nextDueAt: first,
    }));
    let errors = 0;
    const engine = new Engine({
      store,
      harnesses: noopHarnesses,
      roles: { schedule: true, work: true },
      concurrency: options.concurrency,
      leaseMs: 30_000,
      onEvent: (event) => {
        if (event.type === "error") errors++;
      },
    });
    await engine.start();
    // Window: occurrences first … first + (seconds − 1) s; stop just after the last one is due + 1 s.
    const lastDue = first + (options.seconds - 1) * 1000;
    await delay(lastDue + 1000 - Date.now());
    const end = Date.now();
    await engine.stop(5000);
    const rows = await store.db
      .selectFrom("runs")
      .select(["due_at", "started_at", "status"])
      .where("due_at", ">=", first)
      .where("due_at", "<=", lastDue)
      .execute();
    const lateness = rows
      .filter((row) => row.started_at !== null && row.started_at <= end)
      .map((row) => row.started_at! - row.due_at);
    const skipped = rows.filter((row) => row.status === "skipped").length;
    const expected = options.routines * options.seconds;
    return {
      dialect: options.dialect,
      due: expected,
      started: lateness.length,
      p50: quantile(lateness, 0.5),
      p99: quantile(lateness, 0.99),
      max: quantile(lateness, 1),
      unstarted: expected - lateness.length - skipped,
      skipped,
      errors,
    };
  } finally {
    await store.close();
    await dispose();
  }
}

export interface IdleResult {
  dialect: "postgres" | "sqlite";
  seconds: number;
  startupQueries: number;
  queries: number;
}

/**
 * (d): an engine with `routines` routines due a day from now. Returns the queries of the
 * first pass (startup) and of the `seconds` that follow. CPU and RSS are measured by the caller
 * for the whole process.
 */
export async function loopdIdle(options: {
  dialect: "postgres" | "sqlite";
  routines: number;
  warmupMs: number;
  measure: () => Promise<number>;
}): Promise<IdleResult & { dispose(): Promise<void> }> {
  const { target, dispose } = freshTarget(options.dialect, "loopd_idle");
  let queries = 0;
  const store = await openStore(storeOptions(target, () => queries++));
  const nextDue = Date.now() + 86_400_000;
  await insertRoutines(store, options.routines, (index) => ({
    name: `daily-${index}`,
    spec: routineSpec(`daily-${index}`, { kind: "every", every: "1d", everyMs: 86_400_000 }, "skip"),
    nextDueAt: nextDue,
  }));
  queries = 0;
  const engine = new Engine({
    store,
    harnesses: noopHarnesses,
    roles: { schedule: true, work: true },
    concurrency: 64,
    leaseMs: 30_000,
  });
  await engine.start();
  await delay(options.warmupMs);
  const startupQueries = queries;
  queries = 0;
  const seconds = await options.measure();
  const measured = queries;
  return {
    dialect: options.dialect,
    seconds,
    startupQueries,
    queries: measured,
    async dispose() {
      await engine.stop(1000);
      await store.close();
      await dispose();
    },
  };
}
