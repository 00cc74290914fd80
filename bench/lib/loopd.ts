/** loopd scenarios: drain throughput, schedule lateness, idle cost. All through the real Engine. */
import { type Insertable, type LogEvent, sql } from "kysely";
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
  startTiming,
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
  /** Log the statements by total time (their count, mean duration and size). */
  profile?: boolean;
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
    let bytes = 0;
    let counting = false;
    const statements = new Map<string, { count: number; ms: number; bytes: number }>();
    const onQuery = (event: LogEvent) => {
      if (!counting) return;
      queries++;
      // What goes over the wire, roughly: the statement text and its parameters.
      const size = event.query.sql.length + JSON.stringify(event.query.parameters).length;
      bytes += size;
      if (!options.profile) return;
      const key = event.query.sql.replace(/\s+/g, " ").slice(0, 90);
      const entry = statements.get(key) ?? { count: 0, ms: 0, bytes: 0 };
      entry.count++;
      entry.ms += event.queryDurationMillis;
      entry.bytes += size;
      statements.set(key, entry);
    };
    let finished = 0;
    let errors = 0;
    let firstError: unknown;
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => {
      resolveDone = resolve;
    });
    let inFlight = 0;
    const onEvent = (event: EngineEvent) => {
      if (event.type === "run-started") inFlight++;
      else if (event.type === "run-finished") inFlight--;
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
    const timing = startTiming(options.runs);
    counting = true;
    // Occupancy: runs between claim and recorded completion, sampled every 10 ms.
    let samples = 0;
    let occupied = 0;
    const sampler = setInterval(() => {
      samples++;
      occupied += inFlight;
    }, 10);
    await Promise.all(workers.map(({ engine }) => engine.start()));
    const timeout = setTimeout(() => resolveDone(), 300_000);
    await done;
    clearTimeout(timeout);
    clearInterval(sampler);
    const rep = timing.stop();
    counting = false;
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
    if (options.profile) {
      for (const [key, entry] of [...statements].sort((a, b) => b[1].ms - a[1].ms).slice(0, 15))
        log(
          `  ${entry.count} × ${(entry.ms / entry.count).toFixed(2)} ms = ${entry.ms.toFixed(0)} ms, ` +
            `${(entry.bytes / entry.count).toFixed(0)} B: ${key}`,
        );
    }
    return {
      ...rep,
      queriesPerRun: queries / options.runs,
      bytesPerRun: bytes / options.runs,
      occupancy: occupied / Math.max(1, samples) / (options.workers * options.concurrency),
    };
  } finally {
    for (const { store } of workers) await store.close();
    await setup.close();
    await dispose();
  }
}

export interface LatenessResult {
  dialect: "postgres" | "sqlite";
  /** Run slots of the engine. */
  concurrency: number;
  /** Runs due inside the window. */
  due: number;
  started: number;
  p50: number;
  p99: number;
  max: number;
  /** Due inside the window but still not started at its end. */
  unstarted: number;
  /** Median over the ticks of the earliest run's lateness: how late the engine woke up. */
  firstOfTick: number;
  /** Over every due run, an unstarted one counted as (window end − due): lower bounds. */
  allP50: number;
  allP99: number;
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
  /** Logs the statements by total time over the window (BENCH_PROFILE=1), per tick. */
  profile?: boolean;
}): Promise<LatenessResult> {
  const { target, dispose } = freshTarget(options.dialect, "loopd_late");
  const statements = new Map<string, { count: number; ms: number }>();
  const onQuery = (event: LogEvent) => {
    const key = event.query.sql.replace(/\s+/g, " ").slice(0, 90);
    const entry = statements.get(key) ?? { count: 0, ms: 0 };
    entry.count++;
    entry.ms += event.queryDurationMillis;
    statements.set(key, entry);
  };
  const store = await openStore(storeOptions(target, options.profile ? onQuery : undefined));
  try {
    // First occurrence on a whole second ≥ 2 s from now, so every routine fires on the same tick.
    const first = Math.ceil((Date.now() + 2000) / 1000) * 1000;
    await insertRoutines(store, options.routines, (index) => ({
      name: `tick-${index}`,
      spec: routineSpec(`tick-${index}`, { kind: "every", every: "1s", everyMs: 1000 }),
      nextDueAt: first,
    }));
    statements.clear(); // the window's statements only, not the set-up
    let errors = 0;
    const engine = new Engine({
      store,
      harnesses: noopHarnesses,
      roles: { schedule: true, work: true },
      concurrency: options.concurrency,
      leaseMs: 30_000,
      // BENCH_AHEAD_MS=0 measures materialising at the due time (before #23's horizon), same build.
      ...(process.env.BENCH_AHEAD_MS !== undefined ? { aheadMs: Number(process.env.BENCH_AHEAD_MS) } : {}),
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
    if (options.profile) {
      log(
        `profile ${options.dialect} lateness: statements by total time, ms per tick (${options.seconds} ticks)`,
      );
      for (const [key, entry] of [...statements].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12))
        log(
          `  ${(entry.count / options.seconds).toFixed(1)} × ${(entry.ms / entry.count).toFixed(2)} ms = ` +
            `${(entry.ms / options.seconds).toFixed(1)} ms/tick: ${key}`,
        );
    }
    const rows = await store.db
      .selectFrom("runs")
      .select(["due_at", "started_at", "status"])
      .where("due_at", ">=", first)
      .where("due_at", "<=", lastDue)
      .execute();
    const lateness = rows
      .filter((row) => row.started_at !== null && row.started_at <= end)
      .map((row) => row.started_at! - row.due_at);
    const earliest = new Map<number, number>();
    for (const row of rows) {
      if (row.started_at === null || row.started_at > end) continue;
      const late = row.started_at - row.due_at;
      earliest.set(row.due_at, Math.min(earliest.get(row.due_at) ?? late, late));
    }
    const skipped = rows.filter((row) => row.status === "skipped").length;
    const expected = options.routines * options.seconds;
    const censored = rows
      .filter((row) => row.status !== "skipped")
      .map((row) => (row.started_at !== null && row.started_at <= end ? row.started_at : end) - row.due_at);
    // Occurrences never materialised by the end count as late by (end − due) too.
    const dues = new Map<number, number>();
    for (const row of rows) dues.set(row.due_at, (dues.get(row.due_at) ?? 0) + 1);
    for (let due = first; due <= lastDue; due += 1000) {
      for (let missing = options.routines - (dues.get(due) ?? 0); missing > 0; missing--)
        censored.push(end - due);
    }
    return {
      dialect: options.dialect,
      concurrency: options.concurrency,
      due: expected,
      started: lateness.length,
      p50: quantile(lateness, 0.5),
      p99: quantile(lateness, 0.99),
      max: quantile(lateness, 1),
      unstarted: expected - lateness.length - skipped,
      firstOfTick: quantile([...earliest.values()], 0.5),
      allP50: quantile(censored, 0.5),
      allP99: quantile(censored, 0.99),
      skipped,
      errors,
    };
  } finally {
    await store.close();
    await dispose();
  }
}
