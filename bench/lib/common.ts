/** Shared pieces of the scheduler benchmark: PostgreSQL admin, statistics, the no-op harness. */
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import pg from "pg";
import type { RoutineSpec } from "../../src/domain/routine-spec.js";
import type { Harness, HarnessRegistry, HarnessResult } from "../../src/harness/harness.js";
import type { QueryObserver, StoreOptions } from "../../src/store/store.js";

export const PG_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** A fresh, unique PostgreSQL schema name (dropped by `dropSchema`). */
export function schemaName(label: string): string {
  return `bench_${label}_${randomBytes(4).toString("hex")}`;
}

export async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function dropSchema(schema: string): Promise<void> {
  await withAdmin((client) => client.query(`drop schema if exists "${schema}" cascade`));
}

/** A temporary SQLite file; `dispose` removes its directory. */
export function sqliteFile(): { file: string; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), "loopd-bench-"));
  return { file: join(dir, "loopd.db"), dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

export type BenchStore = { kind: "postgres"; schema: string } | { kind: "sqlite"; file: string };

export function storeOptions(target: BenchStore, onQuery?: QueryObserver): StoreOptions {
  const base: StoreOptions =
    target.kind === "postgres"
      ? { kind: "postgres", url: PG_URL, schema: target.schema }
      : { kind: "sqlite", file: target.file };
  return onQuery ? { ...base, onQuery } : base;
}

const SUCCEEDED: HarnessResult = { outcome: "succeeded", exitCode: 0, summary: null, error: null };

/** Resolves at once: what is left is the scheduler's own cost. */
export const noopHarness: Harness = {
  name: "shell",
  run: async () => SUCCEEDED,
};

export const noopHarnesses: HarnessRegistry = new Map([["shell", noopHarness]]);

export function routineSpec(
  name: string,
  trigger: RoutineSpec["trigger"],
  overlap: RoutineSpec["overlap"] = "allow",
): RoutineSpec {
  return {
    name,
    paused: false,
    repo: "/tmp",
    workspace: "in-place",
    task: { kind: "command", command: "true" },
    harness: "shell",
    docs: [],
    memory: false,
    deliver: "none",
    secrets: [],
    env: {},
    agents: [],
    escalate: [],
    trigger,
    timeout: "1h",
    timeoutMs: 3_600_000,
    retries: 0,
    catchUp: "latest",
    maxCatchup: 10,
    overlap,
    notify: [],
    labels: [],
    requires: ["shell"],
  };
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Linear-interpolated quantile, q in [0, 1]. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (position - lower);
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every `everyMs` until it returns true; rejects after `timeoutMs`. */
export async function pollUntil(
  check: () => Promise<boolean>,
  options: { everyMs: number; timeoutMs: number; what: string },
): Promise<void> {
  const deadline = performance.now() + options.timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline)
      throw new Error(`timed out after ${options.timeoutMs} ms: ${options.what}`);
    await delay(options.everyMs);
  }
}

export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

export function fmt(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return "–";
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A throughput measurement: one repetition. */
export interface Rep {
  runs: number;
  seconds: number;
  /** Busy CPU time of the whole machine (this process and PostgreSQL) per run. */
  cpuMsPerRun: number;
  /** Share of the machine's cores busy during the timed section. */
  busy: number;
  /** CPU time of this Node process (the workers, and the harness of the peers) per run. */
  nodeCpuMsPerRun: number;
  /** Store queries per completed run (loopd only). */
  queriesPerRun?: number;
  /** Statement text and parameters sent per completed run (loopd only). */
  bytesPerRun?: number;
  /** Mean share of the workers' run slots holding a claimed, not yet completed run (loopd only). */
  occupancy?: number;
}

/** Starts timing a drain of `runs` runs; `stop()` gives the repetition's measurements. */
export function startTiming(runs: number): { stop(): Rep } {
  const started = performance.now();
  const cpu = machineCpu();
  const node = process.cpuUsage();
  return {
    stop() {
      const seconds = (performance.now() - started) / 1000;
      const now = machineCpu();
      const nodeUsed = process.cpuUsage(node);
      const busyMs = now.busyMs - cpu.busyMs;
      return {
        runs,
        seconds,
        cpuMsPerRun: busyMs / runs,
        busy: busyMs / Math.max(1, now.totalMs - cpu.totalMs),
        nodeCpuMsPerRun: (nodeUsed.user + nodeUsed.system) / 1000 / runs,
      };
    },
  };
}

export function perSecond(rep: Rep): number {
  return rep.runs / rep.seconds;
}

/** Busy and total CPU time of the whole machine (all processes, PostgreSQL included), in ms. */
export function machineCpu(): { busyMs: number; totalMs: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const tick = 10; // USER_HZ is 100 on Linux: one jiffy = 10 ms
  const busy = user + nice + system + irq + softirq + steal;
  return { busyMs: busy * tick, totalMs: (busy + idle + iowait) * tick };
}

/**
 * Puts `section` into a results file between its `<!-- name:begin -->` / `<!-- name:end -->`
 * markers (appended the first time), leaving every other section — hand-written analyses and
 * other modes' results — as it is.
 */
export function writeResultsSection(file: string, name: string, section: string): void {
  const begin = `<!-- ${name}:begin -->`;
  const finish = `<!-- ${name}:end -->`;
  const text = existsSync(file) ? readFileSync(file, "utf8") : "";
  const block = `${begin}\n${section.trimEnd()}\n${finish}\n`;
  const from = text.indexOf(begin);
  const to = text.indexOf(finish);
  writeFileSync(
    file,
    from >= 0 && to > from
      ? text.slice(0, from) + block + text.slice(to + finish.length + 1)
      : text.trim() === ""
        ? block
        : `${text.trimEnd()}\n\n${block}`,
  );
}
