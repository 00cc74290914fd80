/**
 * `npm run bench:scheduler -- --scale` (issue #23, item 4): 100,000 routines `every: 1m` on
 * PostgreSQL, one scheduler Engine and 4 worker Engines (each with its own pool and LISTEN
 * connection, as separate `loopd serve --worker` processes would have) in this process, no-op
 * runs, for 5 minutes, with run retention on (`runs.keepFor: 1m`, `keepPerRoutine: 1`, a sweep
 * every 30 s) so the retention sweep is exercised at the load it is meant for.
 *
 * Due times are spread evenly over the minute (routine i first due at T0 + i·60 s / N): what
 * 100,000 independently applied `every: 1m` routines look like, and the steady 1,667 runs/s
 * the issue asks about. (All on the same second would be a burst of 100,000, which is the
 * lateness scenario's question at 1,000, not this one's.)
 *
 * Reported: lateness (claim − due, from the run-started events: retention deletes the rows),
 * p50/p99/max overall and after the first minute; runs/s; runs never started; PostgreSQL CPU
 * (utime + stime from /proc of the backends serving this bench, found by application_name,
 * and of all postgres processes, which includes autovacuum and other users of the server);
 * this process's RSS (the "daemon": 5 engines); start-up with 100,000 routines (engine
 * start() → the scheduler's first pass done; inserting the routines is setup); rows and
 * pg_total_relation_size of the tables before, during and after.
 *
 * Knobs: BENCH_SCALE_ROUTINES (100000), BENCH_SCALE_MINUTES (5), BENCH_SCALE_CONCURRENCY (64
 * slots per worker), BENCH_SCALE_KEEP_FOR (1m), BENCH_SCALE_SWEEP_MS (30000), BENCH_PROFILE=1
 * (statements by total time). Prints a Markdown section and puts it into
 * bench/results/scheduler.md between the `scale` markers.
 */
import { readdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { type LogEvent, sql } from "kysely";
import { Engine, type EngineEvent } from "../../src/engine/engine.js";
import { PostgresWakeBus, wakeChannel } from "../../src/engine/wake.js";
import { CONFIG_SETTING, putSetting } from "../../src/store/settings.js";
import { openStore, type Store } from "../../src/store/store.js";
import {
  delay,
  dropSchema,
  fmt,
  log,
  noopHarnesses,
  PG_URL,
  quantile,
  routineSpec,
  schemaName,
} from "./common.js";

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const TABLES = ["routines", "runs", "run_events", "run_artifacts", "outbox", "ledger"] as const;
const APP = "loopd-bench-scale";
const CLK_TCK = 100;

interface TableSize {
  table: string;
  rows: number;
  bytes: number;
}

async function tableSizes(store: Store): Promise<TableSize[]> {
  const sizes: TableSize[] = [];
  for (const table of TABLES) {
    const result = await sql<{ rows: string; bytes: string }>`
      select (select count(*) from ${sql.table(table)}) as rows,
        pg_total_relation_size(${sql.lit(`${table}`)}::regclass) as bytes`.execute(store.db);
    sizes.push({ table, rows: Number(result.rows[0]!.rows), bytes: Number(result.rows[0]!.bytes) });
  }
  return sizes;
}

/** utime + stime (ms) of a process, or null when it is gone. */
function cpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return null;
  }
}

function postgresPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").startsWith("postgres")) pids.push(Number(entry));
    } catch {}
  }
  return pids;
}

/** CPU of a changing set of processes: per pid, the growth since first seen (0 for pids born after the start). */
class CpuMeter {
  private readonly first = new Map<number, number>();
  private readonly last = new Map<number, number>();
  constructor(private started = false) {}
  sample(pids: number[]): void {
    for (const pid of pids) {
      const ms = cpuMs(pid);
      if (ms === null) continue;
      if (!this.first.has(pid)) this.first.set(pid, this.started ? 0 : ms);
      this.last.set(pid, ms);
    }
  }
  begin(): void {
    this.started = true;
  }
  totalMs(): number {
    let total = 0;
    for (const [pid, last] of this.last) total += last - (this.first.get(pid) ?? 0);
    return total;
  }
}

export async function scale(): Promise<string> {
  const routines = env("BENCH_SCALE_ROUTINES", 100_000);
  const minutes = env("BENCH_SCALE_MINUTES", 5);
  const concurrency = env("BENCH_SCALE_CONCURRENCY", 64);
  const sweepMs = env("BENCH_SCALE_SWEEP_MS", 30_000);
  const keepFor = process.env.BENCH_SCALE_KEEP_FOR ?? "1m";
  const workers = 4;
  const profile = Boolean(process.env.BENCH_PROFILE);
  const loadStart = loadavg();
  log(
    `--scale: ${fmt(routines)} routines every 1m, ${minutes} min, load ${loadStart.map((l) => l.toFixed(2)).join(" ")}`,
  );

  const schema = schemaName("scale");
  const url = `${PG_URL}${PG_URL.includes("?") ? "&" : "?"}application_name=${APP}`;
  const statements = new Map<string, { count: number; ms: number }>();
  const onQuery = (event: LogEvent) => {
    if (!profile) return;
    const key = event.query.sql.replace(/\s+/g, " ").slice(0, 100);
    const entry = statements.get(key) ?? { count: 0, ms: 0 };
    entry.count++;
    entry.ms += event.queryDurationMillis;
    statements.set(key, entry);
  };
  const open = () => openStore({ kind: "postgres", url, schema, onQuery });
  const setup = await open();
  const stores: Store[] = [];
  const engines: Engine[] = [];
  try {
    // Setup (not start-up): the routines in batches, then their first due times spread over a minute.
    const setupBegan = performance.now();
    const spec = JSON.stringify(
      routineSpec("scale", { kind: "every", every: "1m", everyMs: 60_000 }, "skip"),
    );
    const now = Date.now();
    // The first due time, far enough ahead for the inserts (a second per ~7,000 routines
    // measured under load) and a quiet start 2 s before it, so start-up is measured alone.
    const t0Planned = now + 20_000 + Math.ceil(routines / 5000) * 1000;
    for (let start = 0; start < routines; start += 2000) {
      const rows = [];
      for (let index = start; index < Math.min(routines, start + 2000); index++) {
        const name = `scale-${index}`;
        rows.push({
          name,
          source: null,
          spec: spec.replace('"name":"scale"', `"name":"${name}"`),
          spec_hash: `bench-${name}`,
          repo: "/tmp",
          state: "active" as const,
          paused_reason: null,
          next_due_at: t0Planned + Math.floor((index * 60_000) / routines),
          created_at: now,
          updated_at: now,
        });
      }
      await setup.db.insertInto("routines").values(rows).execute();
    }
    await putSetting(setup.db, CONFIG_SETTING, { runs: { keepFor, keepPerRoutine: 1 } }, now);
    await sql`analyze routines`.execute(setup.db);
    log(`setup: ${fmt(routines)} routines inserted in ${fmt((performance.now() - setupBegan) / 1000, 1)} s`);
    const before = await tableSizes(setup);

    const latenessAll: number[] = [];
    const latenessSteady: number[] = [];
    let finished = 0;
    let errors = 0;
    let skipped = 0;
    let firstError: unknown;
    let pruned = 0;
    let startedInWindow = 0;
    let end = Number.POSITIVE_INFINITY;
    let schedulerFirstIdle = 0;
    let firstStarted = 0;
    const t0 = t0Planned;
    let startCalled = 0;
    const onEvent = (event: EngineEvent) => {
      if (event.type === "run-started") {
        const late = Date.now() - event.run.dueAt;
        latenessAll.push(late);
        if (event.run.dueAt <= end - 2000) startedInWindow++;
        if (event.run.dueAt >= t0 + 60_000) latenessSteady.push(late);
        if (firstStarted === 0) firstStarted = performance.now() - startCalled;
      } else if (event.type === "run-finished" && event.accepted) finished++;
      else if (event.type === "materialised") skipped += event.skipped;
      else if (event.type === "runs-pruned") pruned += event.runs;
      else if (event.type === "error") {
        errors++;
        firstError ??= event.error;
      }
    };
    for (let index = 0; index <= workers; index++) {
      const store = await open();
      stores.push(store);
      const scheduler = index === 0;
      engines.push(
        new Engine({
          store,
          harnesses: noopHarnesses,
          roles: { schedule: scheduler, work: !scheduler },
          concurrency,
          leaseMs: 30_000,
          workerId: scheduler ? "scale-scheduler" : `scale-worker-${index}`,
          retentionSweepMs: sweepMs,
          wake: new PostgresWakeBus(store, url, wakeChannel(schema)),
          onEvent: scheduler
            ? (event) => {
                if (event.type === "idle" && schedulerFirstIdle === 0)
                  schedulerFirstIdle = performance.now() - startCalled;
                onEvent(event);
              }
            : onEvent,
        }),
      );
    }

    // The database's CPU: this bench's backends, and every postgres process (an upper bound).
    const ours = new CpuMeter();
    const all = new CpuMeter();
    const backends = async () =>
      (
        await sql<{ pid: number }>`select pid from pg_stat_activity where application_name = ${APP}`.execute(
          setup.db,
        )
      ).rows.map((row) => Number(row.pid));
    ours.sample(await backends());
    all.sample(postgresPids());
    ours.begin();
    all.begin();
    const cpuBegan = process.cpuUsage();
    let rssMax = 0;
    const sizesDuring: Array<{ at: number; runs: number; events: number }> = [];
    let sampling = true;
    const sampler = (async () => {
      let tick = 0;
      while (sampling) {
        await delay(1000);
        ours.sample(await backends());
        all.sample(postgresPids());
        rssMax = Math.max(rssMax, process.memoryUsage().rss);
        if (++tick % 30 === 0) {
          const sizes = await tableSizes(setup);
          const rows = (table: string) => sizes.find((size) => size.table === table)!.rows;
          sizesDuring.push({ at: tick, runs: rows("runs"), events: rows("run_events") });
          log(
            `${tick} s: ${fmt(finished)} runs done, runs table ${fmt(rows("runs"))} rows, pruned ${fmt(pruned)}, rss ${fmt(process.memoryUsage().rss / 2 ** 20)} MB`,
          );
        }
      }
    })();

    // Start-up: start() to the scheduler's first pass done (its first idle), 2 s before the
    // first due time, so that pass is the start-up work alone and not the steady state.
    if (Date.now() > t0 - 2000)
      throw new Error("setup took longer than planned: raise the margin in scale.ts");
    await delay(t0 - 2000 - Date.now());
    startCalled = performance.now();
    await Promise.all(engines.map((engine) => engine.start()));
    const startReturned = performance.now() - startCalled;
    end = t0 + minutes * 60_000;
    await delay(end - Date.now());
    const seconds = (performance.now() - startCalled) / 1000;
    const finishedAtEnd = finished;
    sampling = false;
    await sampler;
    const nodeCpu = process.cpuUsage(cpuBegan);
    const rssEnd = process.memoryUsage().rss;
    await Promise.all(engines.splice(0).map((engine) => engine.stop(5000)));
    const after = await tableSizes(setup);

    // Occurrences due in the window (≥ 2 s before its end, so each had a fair chance) vs started.
    let due = 0;
    for (let index = 0; index < routines; index++) {
      const first = t0 + Math.floor((index * 60_000) / routines);
      if (first <= end - 2000) due += Math.floor((end - 2000 - first) / 60_000) + 1;
    }
    const started = startedInWindow;
    if (errors > 0) log(`engine errors: ${errors}, first: ${String(firstError)}`);
    if (profile) {
      log("profile: statements by total time (all engines)");
      for (const [key, entry] of [...statements].sort((a, b) => b[1].ms - a[1].ms).slice(0, 15))
        log(`  ${entry.count} × ${(entry.ms / entry.count).toFixed(2)} ms = ${fmt(entry.ms)} ms: ${key}`);
    }
    const loadEnd = loadavg();
    const ms = (value: number) => `${fmt(value)} ms`;
    const mb = (bytes: number) => `${fmt(bytes / 2 ** 20, 1)} MB`;
    const sizeRows = TABLES.map((table) => {
      const b = before.find((size) => size.table === table)!;
      const a = after.find((size) => size.table === table)!;
      return `| ${table} | ${fmt(b.rows)} | ${mb(b.bytes)} | ${fmt(a.rows)} | ${mb(a.bytes)} |`;
    });
    const markdown = [
      `## Scale (#23): ${fmt(routines)} routines \`every: 1m\`, PostgreSQL, 1 scheduler + ${workers} workers, ${fmt(seconds / 60, 1)} min`,
      "",
      `\`npm run bench:scheduler -- --scale\`${routines !== 100_000 || minutes !== 5 ? ` (BENCH_SCALE_ROUTINES=${routines} BENCH_SCALE_MINUTES=${minutes})` : ""}, ${new Date().toISOString().slice(0, 16)}Z. ` +
        `Due times spread evenly over the minute (${fmt(routines / 60)} runs/s asked); no-op runs, overlap \`skip\`, ` +
        `${concurrency} slots per worker; all engines in one Node process with their own pools and LISTEN connections; ` +
        `retention \`runs.keepFor: ${keepFor}\`, \`keepPerRoutine: 1\`, swept every ${sweepMs / 1000} s. ` +
        `Load average (1/5/15 min) at start ${loadStart.map((l) => l.toFixed(2)).join(" / ")}, at end ${loadEnd.map((l) => l.toFixed(2)).join(" / ")} (2 cores, shared).`,
      "",
      "| figure | measured | target |",
      "| --- | --- | --- |",
      `| lateness due → claimed, p50 / p99 / max (all ${fmt(latenessAll.length)} started runs) | ${ms(quantile(latenessAll, 0.5))} / ${ms(quantile(latenessAll, 0.99))} / ${ms(quantile(latenessAll, 1))} | p99 ≤ 1 s |`,
      `| same, runs due after the first minute (${fmt(latenessSteady.length)}) | ${ms(quantile(latenessSteady, 0.5))} / ${ms(quantile(latenessSteady, 0.99))} / ${ms(quantile(latenessSteady, 1))} | |`,
      `| runs/s completed (asked ${fmt(routines / 60)}) | ${fmt(finishedAtEnd / seconds)} | ${fmt(routines / 60)} |`,
      `| occurrences due in the window / started / skipped by catch-up | ${fmt(due)} / ${fmt(started)} / ${fmt(skipped)} | all started |`,
      `| start-up: start() → scheduler's first pass done (start() returned; first run claimed, its due time 2 s after start()) | ${ms(schedulerFirstIdle)} (${ms(startReturned)}; ${ms(firstStarted)}) | ≤ 2 s |`,
      `| PostgreSQL CPU, this bench's backends (all postgres processes) | ${fmt(ours.totalMs() / 1000 / seconds, 2)} cores (${fmt(all.totalMs() / 1000 / seconds, 2)}) | |`,
      `| loopd CPU (this process: 5 engines) | ${fmt((nodeCpu.user + nodeCpu.system) / 1e6 / seconds, 2)} cores | |`,
      `| RSS of this process, max / end | ${mb(rssMax)} / ${mb(rssEnd)} | |`,
      `| runs deleted by retention | ${fmt(pruned)} | |`,
      `| engine errors | ${errors} | 0 |`,
      "",
      "| table | rows before | size before | rows after | size after |",
      "| --- | --- | --- | --- | --- |",
      ...sizeRows,
      "",
      `runs / run_events rows every 30 s: ${sizesDuring.map((s) => `${fmt(s.runs)}/${fmt(s.events)}`).join(", ")}.`,
      "",
    ].join("\n");
    return markdown;
  } finally {
    for (const engine of engines) await engine.stop(1000).catch(() => {});
    for (const store of stores) await store.close();
    await setup.close();
    await dropSchema(schema);
  }
}

export const scaleResultsFile = (root: string) => join(root, "bench", "results", "scheduler.md");
