/**
 * `npm run bench:scheduler`: what the loopd scheduler costs, next to two PostgreSQL job
 * queues and the bare SKIP LOCKED loop that bounds this design on this machine.
 *
 *   (a) drain throughput on PostgreSQL, 1 and 4 workers: loopd, graphile-worker, pg-boss, bare loop
 *   (b) the same loopd drain on SQLite (one writer: one Engine)
 *   (c) due → claimed lateness: 1,000 routines `every: 1s` for 30 s; croner in-process baseline
 *   (d) idle cost: 1,000 routines due in a day; queries/min, CPU %, RSS
 *
 * A benchmark, not a test: it prints a Markdown table (and writes bench/results/scheduler.md).
 * Knobs (environment): BENCH_RUNS, BENCH_REPS, BENCH_LOOPD_PG_REPS, BENCH_LATENESS_SECONDS,
 * BENCH_IDLE_SECONDS, BENCH_DATABASE_URL.
 *
 * `--scale` (bench/lib/scale.ts): 100,000 routines `every: 1m` on PostgreSQL, 1 scheduler + 4
 * workers, 5 minutes, retention on; writes only its own section of bench/results/scheduler.md.
 *
 * `--quick` (bench/lib/quick.ts): only the two headline figures, in under 3 minutes, ending in
 * `drain-ratio <x>` and `lateness-p99-ms sqlite=<ms> postgres=<ms>`; writes nothing.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import {
  delay,
  fmt,
  log,
  median,
  PG_URL,
  perSecond,
  type Rep,
  withAdmin,
  writeResultsSection,
} from "./lib/common.js";
import { type CronerResult, cronerLateness } from "./lib/croner.js";
import { startIdleDaemon } from "./lib/idle-daemon.js";
import { type LatenessResult, loopdDrain, loopdLateness } from "./lib/loopd.js";
import { bareDrain, graphileDrain, pgBossDrain } from "./lib/peers.js";
import { quick } from "./lib/quick.js";
import { scale, scaleResultsFile } from "./lib/scale.js";

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const RUNS = env("BENCH_RUNS", 20_000);
/** Repetitions of every drain (a)/(b); the short pg-boss polling and hot-routine rows run once. */
const REPS = env("BENCH_REPS", 3);
const LATENESS_SECONDS = env("BENCH_LATENESS_SECONDS", 30);
const IDLE_SECONDS = env("BENCH_IDLE_SECONDS", 60);
const CONCURRENCY = 32;
const DRAIN_ROUTINES = 1000;
const ROUTINES = 1000;

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const packageVersion = (name: string) =>
  (JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")) as { version: string })
    .version;

/** The loopd source measured: commit, and whether the work tree differed from it. */
function gitRevision(): string {
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
      cwd: root,
      encoding: "utf8",
    }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "src"], {
      cwd: root,
      encoding: "utf8",
    }).trim();
    return dirty ? `${head} + uncommitted src changes` : head;
  } catch {
    return "unknown";
  }
}

interface Scenario {
  key: string;
  system: string;
  store: "PostgreSQL" | "SQLite";
  workers: number;
  runs: number;
  reps: number;
  note?: string;
  run(): Promise<Rep>;
  results: Rep[];
}

function scenarios(): Scenario[] {
  const list: Array<Omit<Scenario, "results">> = [];
  const gw = `graphile-worker ${packageVersion("graphile-worker")}`;
  const boss = `pg-boss ${packageVersion("pg-boss")}`;
  for (const workers of [1, 4]) {
    const peer = { workers, runs: RUNS, concurrency: CONCURRENCY };
    list.push(
      {
        key: `loopd-pg-${workers}`,
        system: "loopd Engine",
        store: "PostgreSQL",
        workers,
        runs: RUNS,
        reps: REPS,
        run: () =>
          loopdDrain({
            dialect: "postgres",
            workers,
            runs: RUNS,
            routines: DRAIN_ROUTINES,
            concurrency: CONCURRENCY,
          }),
      },
      {
        key: `gw-${workers}`,
        system: gw,
        store: "PostgreSQL",
        workers,
        runs: RUNS,
        reps: REPS,
        run: () => graphileDrain(peer),
      },
      {
        key: `boss-${workers}`,
        system: `${boss}, refetch when batch full`,
        store: "PostgreSQL",
        workers,
        runs: RUNS,
        reps: REPS,
        run: () => pgBossDrain({ ...peer, refetch: true }),
      },
      {
        key: `bare-${workers}`,
        system: "bare SKIP LOCKED loop",
        store: "PostgreSQL",
        workers,
        runs: RUNS,
        reps: REPS,
        run: () => bareDrain(peer),
      },
    );
  }
  list.push({
    key: "loopd-sqlite-1",
    system: "loopd Engine",
    store: "SQLite",
    workers: 1,
    runs: RUNS,
    reps: REPS,
    run: () =>
      loopdDrain({
        dialect: "sqlite",
        workers: 1,
        runs: RUNS,
        routines: DRAIN_ROUTINES,
        concurrency: CONCURRENCY,
      }),
  });
  // Stock pg-boss 10 sleeps pollingIntervalSeconds (≥ 0.5 s) after every fetch: a short run shows the bound.
  for (const workers of [1, 4]) {
    const runs = 200 * workers;
    list.push({
      key: `boss-poll-${workers}`,
      system: `${boss}, stock polling (0.5 s)`,
      store: "PostgreSQL",
      workers,
      runs,
      reps: 1,
      run: () => pgBossDrain({ workers, runs, concurrency: CONCURRENCY, refetch: false }),
    });
  }
  // All runs on one routine: the routine row every claim locks and every completion updates.
  const hotRuns = Math.min(RUNS, 1000);
  list.push({
    key: "loopd-pg-hot-4",
    system: "loopd Engine, all runs on 1 routine",
    store: "PostgreSQL",
    workers: 4,
    runs: hotRuns,
    reps: 1,
    run: () =>
      loopdDrain({ dialect: "postgres", workers: 4, runs: hotRuns, routines: 1, concurrency: CONCURRENCY }),
  });
  return list.map((scenario) => ({ ...scenario, results: [] }));
}

interface IdleRow {
  store: string;
  startupQueries: number;
  queriesPerMinute: number;
}

interface IdleResult {
  rows: IdleRow[];
  seconds: number;
  cpuPercent: number;
  rssBaselineMb: number;
  rssMb: number;
  rssMaxMb: number;
}

/** (d): both idle engines at once in this process; queries are counted per store. */
async function idle(): Promise<IdleResult> {
  const rssBaseline = process.memoryUsage().rss;
  const engines = [
    // The whole `loopd serve` composition (engine, delivery worker, presence, API), not the Engine alone.
    { store: "PostgreSQL", engine: await startIdleDaemon({ dialect: "postgres", routines: ROUTINES }) },
    { store: "SQLite", engine: await startIdleDaemon({ dialect: "sqlite", routines: ROUTINES }) },
  ];
  await delay(2000); // the startup pass
  const startup = engines.map(({ engine }) => engine.queries());
  const cpu = process.cpuUsage();
  const started = performance.now();
  let rssMax = 0;
  const sampler = setInterval(() => {
    rssMax = Math.max(rssMax, process.memoryUsage().rss);
  }, 1000);
  await delay(IDLE_SECONDS * 1000);
  clearInterval(sampler);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const rss = process.memoryUsage().rss;
  const rows = engines.map(({ store, engine }, index) => ({
    store,
    startupQueries: startup[index]!,
    queriesPerMinute: ((engine.queries() - startup[index]!) / seconds) * 60,
  }));
  for (const { engine } of engines) await engine.dispose();
  const mb = (bytes: number) => bytes / 1024 / 1024;
  return {
    rows,
    seconds,
    cpuPercent: ((used.user + used.system) / 1000 / (seconds * 1000)) * 100,
    rssBaselineMb: mb(rssBaseline),
    rssMb: mb(rss),
    rssMaxMb: mb(Math.max(rssMax, rss)),
  };
}

async function main(): Promise<void> {
  const began = performance.now();
  const pgVersion = await withAdmin(async (client) => {
    const { rows } = await client.query<{ v: string; s: string; c: string }>(
      "select current_setting('server_version') as v, current_setting('synchronous_commit') as s, current_setting('fsync') as c",
    );
    return rows[0]!;
  });
  const revision = gitRevision();
  const sqliteVersion = (
    new Database(":memory:").prepare("select sqlite_version() as v").get() as { v: string }
  ).v;
  const list = scenarios();
  log(
    `PostgreSQL ${pgVersion.v} at ${new URL(PG_URL).host}; loopd ${revision}; ${REPS} repetitions per drain`,
  );

  log(`(d) idle: ${ROUTINES} routines due in 1 day, ${IDLE_SECONDS} s`);
  const idleResult = await idle();

  log(`(c) lateness: ${ROUTINES} routines every 1s for ${LATENESS_SECONDS} s`);
  const lateness: LatenessResult[] = [];
  // 64 slots: the burst of 1,000 queues for capacity. 1,000 slots: every run of a tick can
  // start at once, so the figures are the scheduler's own (materialise + claim) latency.
  for (const concurrency of [64, 1000]) {
    for (const dialect of ["sqlite", "postgres"] as const) {
      lateness.push(
        await loopdLateness({ dialect, routines: ROUTINES, seconds: LATENESS_SECONDS, concurrency }),
      );
      log(
        `  loopd ${dialect} ×${concurrency} slots: p50 ${fmt(lateness.at(-1)!.p50)} ms, p99 ${fmt(lateness.at(-1)!.p99)} ms`,
      );
    }
  }
  const croner = await cronerLateness({ jobs: ROUTINES, seconds: LATENESS_SECONDS });
  log(`  croner: p50 ${fmt(croner.p50, 1)} ms, p99 ${fmt(croner.p99, 1)} ms`);

  // (a)/(b): repetitions interleaved, so drift in the machine or the database hits every system alike.
  const maxReps = Math.max(...list.map((s) => s.reps));
  for (let rep = 1; rep <= maxReps; rep++) {
    for (const scenario of list) {
      if (rep > scenario.reps) continue;
      const result = await scenario.run();
      scenario.results.push(result);
      log(
        `(a/b) rep ${rep}/${scenario.reps} ${scenario.system} ${scenario.store} ×${scenario.workers}: ` +
          `${fmt(perSecond(result))} runs/s (${result.seconds.toFixed(1)} s, ${result.cpuMsPerRun.toFixed(2)} CPU ms/run)`,
      );
    }
  }

  const markdown = report({
    list,
    lateness,
    croner,
    idle: idleResult,
    pgVersion,
    sqliteVersion,
    revision,
    minutes: (performance.now() - began) / 60_000,
  });
  process.stdout.write(markdown);
  const out = join(root, "bench", "results", "scheduler.md");
  mkdirSync(dirname(out), { recursive: true });
  // Its own section only: the #23 before/after and scale sections below it stay.
  writeResultsSection(out, "full", markdown);
  log(`wrote the full run's section of ${out}`);
}

function report(input: {
  list: Scenario[];
  lateness: LatenessResult[];
  croner: CronerResult;
  idle: IdleResult;
  pgVersion: { v: string; s: string; c: string };
  sqliteVersion: string;
  revision: string;
  minutes: number;
}): string {
  const { list, lateness, croner, idle: idleResult } = input;
  const rate = (s: Scenario) => median(s.results.map(perSecond));
  const byKey = new Map(list.map((s) => [s.key, s]));
  const lines: string[] = [];
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  lines.push(
    "# loopd scheduler benchmark",
    "",
    `loopd ${input.revision} · ${new Date().toISOString().slice(0, 10)} · ${availableParallelism()} cores (${cpu}) · Node ${process.version} · ` +
      `PostgreSQL ${input.pgVersion.v} on 127.0.0.1 (fsync ${input.pgVersion.c}, synchronous_commit ${input.pgVersion.s}) · ` +
      `SQLite ${input.sqliteVersion} (WAL, synchronous=NORMAL) · graphile-worker ${packageVersion("graphile-worker")} · ` +
      `pg-boss ${packageVersion("pg-boss")} · one process, ${input.minutes.toFixed(1)} min`,
    "",
    "## (a) + (b) Drain throughput: no-op runs claimed + completed per second",
    "",
    `N runs queued up front (distinct due times; loopd: spread over ${DRAIN_ROUTINES} routines, \`overlap: allow\`), ` +
      `then W workers started; timed until every run is completed in the store. Each worker has its own ` +
      `connection pool (10 connections) and ${CONCURRENCY} runs in flight (pg-boss: \`batchSize\` ${CONCURRENCY}); all ` +
      "workers share this one Node process. runs/s is the median of the repetitions (min–max beside it). " +
      "CPU ms/run is busy CPU of the whole machine (Node + PostgreSQL) per run; Node ms/run is this process alone; " +
      "cores busy = that CPU ÷ wall time (2 = the machine is saturated). loopd only: store queries per run " +
      "(counted with `onQuery`) and slots in use = mean share of the W × 32 run slots holding a claimed run " +
      "whose completion is not yet recorded (sampled every 10 ms); above 100 %: a run's slot frees when its " +
      "executor returns, so the next claim overlaps the completions still being written.",
    "",
    "| system | store | W | N | reps | runs/s (median) | min–max | CPU ms/run | Node ms/run | cores busy | queries/run | slots in use | loopd ÷ system |",
    "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
  );
  for (const s of list) {
    if (s.results.length === 0) continue;
    const rates = s.results.map(perSecond);
    const loopd = s.store === "PostgreSQL" ? byKey.get(`loopd-pg-${s.workers}`) : undefined;
    const ratio =
      loopd && loopd !== s && !s.key.startsWith("loopd") ? (rate(loopd) / rate(s)).toFixed(2) : "";
    const qpr = s.results[0]!.queriesPerRun;
    lines.push(
      `| ${s.system} | ${s.store} | ${s.workers} | ${fmt(s.runs)} | ${s.results.length} | **${fmt(rate(s))}** | ` +
        `${fmt(Math.min(...rates))}–${fmt(Math.max(...rates))} | ${median(s.results.map((r) => r.cpuMsPerRun)).toFixed(2)} | ` +
        `${median(s.results.map((r) => r.nodeCpuMsPerRun)).toFixed(2)} | ${(median(s.results.map((r) => r.busy)) * availableParallelism()).toFixed(1)} | ` +
        `${qpr === undefined ? "" : median(s.results.map((r) => r.queriesPerRun ?? 0)).toFixed(2)} | ` +
        `${qpr === undefined ? "" : `${(median(s.results.map((r) => r.occupancy ?? 0)) * 100).toFixed(0)} %`} | ${ratio} |`,
    );
  }
  lines.push(
    "",
    "loopd ÷ system: loopd's median runs/s over the peer's with the same W on PostgreSQL (below 1: loopd is slower).",
    "",
    "## (c) Lateness due → claimed: 1,000 routines `every: 1s`",
    "",
    `${ROUTINES} routines on the same whole-second grid for ${LATENESS_SECONDS} s (${fmt(ROUTINES * LATENESS_SECONDS)} ` +
      "occurrences), one Engine with `roles: { schedule: true, work: true }` and 64 or 1,000 run slots, no-op harness. " +
      "Lateness = runs.started_at − runs.due_at over the runs started by the end of the window; the last two " +
      "columns count every occurrence, an unstarted one as (window end − due): lower bounds when the scheduler fell behind. " +
      "First of each tick: the earliest run of every second, i.e. how late the engine woke; the rest is the " +
      "burst of 1,000 runs queueing for the slots (with 1,000 slots there is no queueing: the scheduler's own latency). " +
      'croner: 1,000 in-process `new Cron("* * * * * *")` jobs, lateness = Date.now() − the scheduled second.',
    "",
    "| scheduler | store | slots | occurrences | started in window | not started | first of each tick, median ms | p50 ms | p99 ms | max ms | p50 ms, all (≥) | p99 ms, all (≥) |",
    "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
  );
  for (const l of lateness) {
    lines.push(
      `| loopd Engine | ${l.dialect === "postgres" ? "PostgreSQL" : "SQLite"} | ${fmt(l.concurrency)} | ${fmt(l.due)} | ${fmt(l.started)} | ` +
        `${fmt(l.unstarted)} | ${fmt(l.firstOfTick)} | ${fmt(l.p50)} | ${fmt(l.p99)} | ${fmt(l.max)} | ${fmt(l.allP50)} | ${fmt(l.allP99)} |`,
    );
  }
  lines.push(
    `| croner ${packageVersion("croner")} | (memory) | | ${fmt(croner.expected)} | ${fmt(croner.fired)} | ` +
      `${fmt(croner.expected - croner.fired)} | ${fmt(croner.firstOfTick, 1)} | ${fmt(croner.p50, 1)} | ${fmt(croner.p99, 1)} | ${fmt(croner.max, 1)} | | |`,
    "",
    "## (d) Idle: 1,000 routines whose next due time is a day away",
    "",
    `One \`loopd serve\` daemon per store (src/daemon/daemon.ts: engine with scheduler + worker, concurrency 64, delivery worker, HTTP API), both idle at once in this process for ` +
      `${idleResult.seconds.toFixed(0)} s after a 2 s startup pass. Queries counted with \`openStore({ onQuery })\`; ` +
      "CPU % = process.cpuUsage() delta ÷ wall time, for the process holding both engines (so an upper bound for each).",
    "",
    "| store | routines | startup pass queries | queries/min idle | CPU % (process) | RSS MB (process: before engines → end, max) |",
    "|---|--:|--:|--:|--:|--:|",
  );
  for (const row of idleResult.rows) {
    lines.push(
      `| ${row.store} | ${fmt(ROUTINES)} | ${row.startupQueries} | ${row.queriesPerMinute.toFixed(1)} | ` +
        `${idleResult.cpuPercent.toFixed(2)} | ${idleResult.rssBaselineMb.toFixed(0)} → ${idleResult.rssMb.toFixed(0)}, max ${idleResult.rssMaxMb.toFixed(0)} |`,
    );
  }
  lines.push(
    "",
    `Command: \`npm run bench:scheduler\`. p-values are exact quantiles (linear interpolation).`,
    "",
  );
  return `${lines.join("\n")}\n`;
}

if (process.argv.includes("--quick")) await quick();
else if (process.argv.includes("--scale")) {
  // Only on request: 100,000 routines for 5 minutes is not part of the plain run or --quick.
  const section = await scale();
  process.stdout.write(section);
  writeResultsSection(scaleResultsFile(root), "scale", section);
  log(`wrote the scale section of ${scaleResultsFile(root)}`);
} else await main();
