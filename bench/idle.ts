/**
 * The idle cost of a whole `loopd serve` process (issue #23, "Idle"): one daemon per store,
 * 1,000 routines due in a day, both idle at once in this process; queries per minute counted
 * after a 2 s start-up, with the statements behind them. `BENCH_IDLE_SECONDS` (default 125)
 * sets the window: more than two backstop minutes, so a per-minute statement shows twice.
 *
 *   tsc -p tsconfig.bench.json && node dist-bench/bench/idle.js
 */
import { loadavg } from "node:os";
import { delay, log } from "./lib/common.js";
import { startIdleDaemon } from "./lib/idle-daemon.js";

const SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 125);
const ROUTINES = 1000;

async function main(): Promise<void> {
  log(`idle daemon: ${ROUTINES} routines due in 1 day, ${SECONDS} s, load ${loadavg()[0]!.toFixed(2)}`);
  const daemons = [
    { store: "PostgreSQL", daemon: await startIdleDaemon({ dialect: "postgres", routines: ROUTINES }) },
    { store: "SQLite", daemon: await startIdleDaemon({ dialect: "sqlite", routines: ROUTINES }) },
  ];
  await delay(2000); // the start-up passes
  const startup = daemons.map(({ daemon }) => daemon.queries());
  for (const { daemon } of daemons) daemon.resetStatements();
  const started = performance.now();
  await delay(SECONDS * 1000);
  const seconds = (performance.now() - started) / 1000;
  for (const [index, { store, daemon }] of daemons.entries()) {
    const idle = daemon.queries() - startup[index]!;
    log(
      `${store}: start-up ${startup[index]} queries; idle ${idle} queries in ${seconds.toFixed(0)} s = ${((idle / seconds) * 60).toFixed(2)}/min`,
    );
    for (const [statement, count] of daemon.byStatement()) log(`  ${count} × ${statement}`);
  }
  log(`load average (1 min) at the end: ${loadavg()[0]!.toFixed(2)}`);
  for (const { daemon } of daemons) await daemon.dispose();
}

await main();
