/**
 * `npm run bench:cli`: how long the `loopd` executable takes to answer, side by side with
 * `node -e 0` (Node's own start-up on this machine, the floor any Node CLI stands on),
 * hyperfine-style: each command 2 warm-up runs, then 20 timed rounds, the commands taking
 * turns within a round so the shared machine's drift hits them alike; wall time from spawn to
 * exit. Targets (issue #22): `--version` ≤ 2×, `ls` on a 1,000-routine SQLite store ≤ 3×
 * `node -e 0`, and `loopd mcp` answering `initialize` within 300 ms of spawn.
 *
 * - `loopd` is dist/cli/bin.js, the rolldown bundle `npm run build` makes (run it first).
 * - "unbundled" is the same source compiled file by file by tsc (this benchmark's own
 *   dist-bench/src/cli/bin.js): what Node's module loader costs without the bundle.
 * - BENCH_CLI_BASELINE=<bin.js> adds one more executable (e.g. an older build), named by
 *   BENCH_CLI_BASELINE_LABEL (default "baseline").
 * - "ls, serve up" is `ls` answered by a running `loopd serve` over its API (the usual case once
 *   `loopd service install` ran), on a second home of 1,000 routines none of which comes due
 *   while the benchmark runs, so the daemon answers and does nothing else.
 *
 * A benchmark, not a test: prints Markdown and writes bench/results/cli.md.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { fmt, log, median } from "./lib/common.js";

const WARMUP = 2;
const ROUNDS = Number(process.env.BENCH_CLI_ROUNDS ?? 20);
const ROUTINES = 1_000;

const root = fileURLToPath(new URL("../..", import.meta.url));
const bundled = join(root, "dist", "cli", "bin.js");
const unbundled = fileURLToPath(new URL("../src/cli/bin.js", import.meta.url));
const baseline = process.env.BENCH_CLI_BASELINE;

interface Case {
  name: string;
  /** Measures one run, in ms. */
  run: () => Promise<number>;
}

const home = mkdtempSync(join(tmpdir(), "loopd-bench-cli-"));
const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", LOOPD_HOME: join(home, ".loopd") };
delete env.LOOPD_URL;
delete env.LOOPD_DATABASE_URL;

/** The home a `loopd serve` runs on during the benchmark. */
const servedHome = mkdtempSync(join(tmpdir(), "loopd-bench-cli-served-"));
const servedEnv: NodeJS.ProcessEnv = { ...env, LOOPD_HOME: join(servedHome, ".loopd") };

/**
 * `served`: in the served home, with its env (a `.loopd` in the working directory is found
 * before LOOPD_HOME, so the folder matters as much as the variable).
 */
function timeExit(args: readonly string[], served = false): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, {
      cwd: served ? servedHome : home,
      env: served ? servedEnv : env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      const ms = performance.now() - started;
      if (code === 0) resolve(ms);
      else reject(new Error(`node ${args.join(" ")} exited ${code}: ${stderr}`));
    });
  });
}

/** Spawn → the `initialize` response line on stdout (an agent's MCP client waits for exactly this). */
function timeMcpInitialize(bin: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child: ChildProcess = spawn(process.execPath, [bin, "mcp"], { cwd: home, env, stdio: "pipe" });
    let out = "";
    child.on("error", reject);
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (!out.includes("\n")) return;
      const ms = performance.now() - started;
      const answer = JSON.parse(out.slice(0, out.indexOf("\n"))) as { id?: number; result?: unknown };
      child.kill();
      if (answer.id === 1 && answer.result !== undefined) resolve(ms);
      else reject(new Error(`unexpected MCP answer: ${out}`));
    });
    child.stdin?.write(
      `${JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: {
          protocolVersion: "2025-06-18",
          capabilities: {},
          clientInfo: { name: "bench", version: "1" },
        },
      })}\n`,
    );
  });
}

/**
 * 1,000 shell routines with the schedules a real store mixes: intervals and a spread of crons.
 * `idle`: the same mix, none due within months (days, and a month half a year away), for the
 * served home.
 */
function writeConfig(dir: string, idle = false): void {
  const month = ((new Date().getUTCMonth() + 6) % 12) + 1;
  const lines = ["routines:"];
  for (let i = 0; i < ROUTINES; i++) {
    const trigger =
      i % 2 === 0
        ? `every: ${(i % 57) + 1}${idle ? "d" : "m"}`
        : `cron: "${i % 60} ${i % 24} ${idle ? `1 ${month}` : "* *"} ${i % 3 === 0 ? "1-5" : "*"}"\n    tz: ${i % 5 === 0 ? "Europe/Berlin" : "UTC"}`;
    lines.push(`  - name: routine-${i}`, `    command: echo ${i}`, `    ${trigger}`);
  }
  writeFileSync(join(dir, "loopd.yaml"), `${lines.join("\n")}\n`);
}

/** Starts `loopd serve` on the served home and resolves once it is ready. */
function startServe(): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const serve = spawn(process.execPath, [bundled, "--json", "serve", "--port", "0", "--no-log-file"], {
      cwd: servedHome,
      env: servedEnv,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    serve.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('"type":"ready"')) resolve(serve);
    });
    serve.on("error", reject);
    serve.on("exit", (code) => reject(new Error(`loopd serve exited ${code} before it was ready`)));
  });
}

async function main(): Promise<void> {
  const started = performance.now();
  writeConfig(home);
  log(`applying ${ROUTINES} routines into ${home}`);
  execFileSync(process.execPath, [bundled, "apply"], { cwd: home, env, stdio: "ignore" });
  writeConfig(servedHome, true);
  execFileSync(process.execPath, [bundled, "apply"], { cwd: servedHome, env: servedEnv, stdio: "ignore" });
  const serve = await startServe();
  log(`loopd serve up on ${servedHome}`);
  try {
    await measure(started);
  } finally {
    serve.kill("SIGTERM");
  }
}

async function measure(started: number): Promise<void> {
  const executables: Array<[string, string]> = [
    ["loopd", bundled],
    ["unbundled", unbundled],
    ...(baseline
      ? ([[process.env.BENCH_CLI_BASELINE_LABEL ?? "baseline", baseline]] as Array<[string, string]>)
      : []),
  ];
  const cases: Case[] = [{ name: "node -e 0", run: () => timeExit(["-e", "0"]) }];
  for (const [label, bin] of executables) {
    cases.push(
      { name: `${label} --version`, run: () => timeExit([bin, "--version"]) },
      { name: `${label} ls (${fmt(ROUTINES)} routines)`, run: () => timeExit([bin, "ls"]) },
      {
        name: `${label} ls, serve up (${fmt(ROUTINES)} routines)`,
        run: () => timeExit([bin, "ls"], true),
      },
      { name: `${label} mcp → initialize`, run: () => timeMcpInitialize(bin) },
    );
  }

  const samples = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (let round = -WARMUP; round < ROUNDS; round++) {
    for (const c of cases) {
      const ms = await c.run();
      if (round >= 0) samples.get(c.name)?.push(ms);
    }
    if (round >= 0 && (round + 1) % 5 === 0) log(`round ${round + 1}/${ROUNDS}`);
  }

  const floor = median(samples.get("node -e 0") ?? []);
  const rows = cases.map((c) => {
    const values = samples.get(c.name) ?? [];
    const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
    const sd = Math.sqrt(
      values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / Math.max(1, values.length - 1),
    );
    const med = median(values);
    return `| ${c.name} | **${fmt(med)} ms** | ${fmt(mean)} ± ${fmt(sd)} ms | ${fmt(Math.min(...values))} ms | ${fmt(med / floor, 2)}× |`;
  });
  const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
    cwd: root,
    encoding: "utf8",
  }).trim();
  const cpu = cpus()[0]?.model.replace(/\s+/g, " ").trim() ?? "unknown CPU";
  const report = [
    "# loopd CLI start-up benchmark",
    "",
    `loopd ${commit} · ${new Date().toISOString().slice(0, 10)} · ${cpus().length} cores (${cpu}) · Node ${process.version} · ${fmt((performance.now() - started) / 1000, 1)} s · load average ${fmt(loadavg()[0] ?? 0, 1)} at the end (the machine is shared: absolute times move with it, the ratios much less)`,
    "",
    `Wall time from spawn to exit (mcp: to the \`initialize\` response), ${ROUNDS} rounds after ${WARMUP} warm-up, the commands taking turns within each round. **loopd** is dist/cli/bin.js (\`npm run build\`: the rolldown bundle); **unbundled** is the same source as tsc emits it, file by file. \`ls\` reads a SQLite store of ${fmt(ROUTINES)} routines (half \`every\`, half cron in two zones) with no daemon running; "ls, serve up" asks a \`loopd serve\` of another such store (none of its routines due) over its API.`,
    "",
    "| command | median | mean ± σ | min | ÷ node -e 0 (median) |",
    "|---|--:|--:|--:|--:|",
    ...rows,
    "",
    "Targets (issue #22): `loopd --version` ≤ 2×, `loopd ls` ≤ 3× `node -e 0`; `loopd mcp` answers `initialize` within 300 ms of spawn.",
    "",
    "Command: `npm run bench:cli` (after `npm run build`).",
    "",
  ].join("\n");
  process.stdout.write(report);
  const out = join(root, "bench", "results", "cli.md");
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, report);
  log(`wrote ${out}`);
}

try {
  await main();
} finally {
  rmSync(home, { recursive: true, force: true });
  rmSync(servedHome, { recursive: true, force: true });
}
