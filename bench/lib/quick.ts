/**
 * `npm run bench:scheduler -- --quick`: the two headline figures of issue #23 in one short run
 * (under 3 minutes on a 2-core machine), so they can be re-checked after every engine change.
 *
 *   drain-ratio: loopd ÷ the bare SKIP LOCKED loop, no-op runs/s, PostgreSQL, 4 workers
 *     (median of BENCH_QUICK_REPS interleaved repetitions of BENCH_QUICK_RUNS runs each);
 *   lateness-p99-ms: due → claimed p99, 1,000 routines `every: 1s`, 1,000 slots (no queueing),
 *     BENCH_QUICK_SECONDS seconds per store.
 *
 * The last two lines are exactly `drain-ratio <x>` and `lateness-p99-ms sqlite=<ms> postgres=<ms>`.
 */
import { loadavg } from "node:os";
import { fmt, log, median, perSecond, type Rep } from "./common.js";
import { loopdDrain, loopdLateness } from "./loopd.js";
import { bareDrain } from "./peers.js";

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

export async function quick(): Promise<void> {
  const runs = env("BENCH_QUICK_RUNS", 5000);
  const reps = env("BENCH_QUICK_REPS", 3);
  const seconds = env("BENCH_QUICK_SECONDS", 10);
  const workers = 4;
  const concurrency = 32;
  log(
    `--quick: load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  if (process.env.BENCH_PROFILE) {
    log("profile: one loopd drain, statements by total time");
    await loopdDrain({ dialect: "postgres", workers, runs, routines: 1000, concurrency, profile: true });
  }
  const loopd: Rep[] = [];
  const bare: Rep[] = [];
  for (let rep = 1; rep <= reps; rep++) {
    loopd.push(await loopdDrain({ dialect: "postgres", workers, runs, routines: 1000, concurrency }));
    bare.push(await bareDrain({ workers, runs, concurrency }));
    const l = loopd.at(-1)!;
    log(
      `rep ${rep}/${reps}: loopd ${fmt(perSecond(l))} runs/s (${(l.queriesPerRun ?? 0).toFixed(3)} queries/run, ` +
        `${fmt(l.bytesPerRun ?? 0)} B/run, ` +
        `${((l.occupancy ?? 0) * 100).toFixed(0)} % slots busy), bare ${fmt(perSecond(bare.at(-1)!))} runs/s`,
    );
  }
  const loopdRate = median(loopd.map(perSecond));
  const bareRate = median(bare.map(perSecond));
  const p99: Record<string, number> = {};
  for (const dialect of ["sqlite", "postgres"] as const) {
    const result = await loopdLateness({
      dialect,
      routines: 1000,
      seconds,
      concurrency: 1000,
      profile: Boolean(process.env.BENCH_PROFILE),
    });
    p99[dialect] = result.p99;
    log(
      `lateness ${dialect}: first of tick ${fmt(result.firstOfTick)} ms, p50 ${fmt(result.p50)} ms, ` +
        `p99 ${fmt(result.p99)} ms, max ${fmt(result.max)} ms, unstarted ${result.unstarted}`,
    );
  }
  log(
    `--quick: load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  process.stdout.write(
    `loopd ${fmt(loopdRate)} runs/s, bare loop ${fmt(bareRate)} runs/s (PostgreSQL, ${workers} workers, median of ${reps})\n` +
      `drain-ratio ${(loopdRate / bareRate).toFixed(3)}\n` +
      `lateness-p99-ms sqlite=${Math.round(p99.sqlite!)} postgres=${Math.round(p99.postgres!)}\n`,
  );
}
