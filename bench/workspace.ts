/**
 * `npm run bench:workspace`: what a run's workspace costs between claim and harness start on a
 * large repo, comparing
 *
 *   (a) fresh: `git worktree add -B loopd/<routine>/<run> <dir> <base>` for every run (removed after)
 *   (b) warm:  WorkspaceManager.acquire() from the pool (checkout -f -B + clean of a used worktree,
 *              plus the main checkout's escape baseline), finish() after the run
 *
 * "Harness spawned" = `/bin/sh -c :` started (the child's `spawn` event) in the workspace.
 * A 50,000-file repo is generated once (git fast-import, one commit) in a temporary folder.
 * A benchmark, not a test: prints a Markdown table and writes bench/results/workspace.md.
 * Knobs (environment): BENCH_FILES (50000), BENCH_ITERATIONS (12), BENCH_WARMUP (2).
 */
import { execFile, execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, release, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { WorkspaceManager } from "../src/workspace/workspaces.js";

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const FILES = env("BENCH_FILES", 50_000);
const ITERATIONS = env("BENCH_ITERATIONS", 12);
const WARMUP = env("BENCH_WARMUP", 2);
const FILES_PER_DIR = 100;
const TARGET_RATIO = 0.25;

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const git = (cwd: string, ...args: string[]) => run("git", args, { cwd, maxBuffer: 64 * 1024 * 1024 });

/** One commit with FILES small files in folders of FILES_PER_DIR, then a full checkout. */
async function generateRepo(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await git(dir, "init", "--quiet", "--initial-branch=main");
  const parts: string[] = [
    "commit refs/heads/main",
    "committer bench <bench@loopd> 1700000000 +0000",
    "data 11",
    "bench repo",
  ];
  for (let i = 0; i < FILES; i++) {
    const path = `src/d${String(Math.floor(i / FILES_PER_DIR)).padStart(4, "0")}/f${i % FILES_PER_DIR}.ts`;
    const body = `export const value${i} = ${i};\n// padding so files are not trivially small\n`;
    parts.push(`M 100644 inline ${path}`, `data ${Buffer.byteLength(body)}`, body);
  }
  const stream = `${parts.join("\n")}\n`;
  await new Promise<void>((resolve, reject) => {
    const child = spawn("git", ["fast-import", "--quiet"], {
      cwd: dir,
      stdio: ["pipe", "ignore", "inherit"],
    });
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`git fast-import exited ${code}`)),
    );
    child.stdin.end(stream);
  });
  await git(dir, "reset", "--quiet", "--hard", "main");
}

/** Resolves once the child process has started (not when it exits), then waits for its exit. */
async function spawnHarness(cwd: string): Promise<number> {
  const child = spawn("/bin/sh", ["-c", ":"], { cwd, stdio: "ignore" });
  const started = new Promise<number>((resolve, reject) => {
    child.once("spawn", () => resolve(performance.now()));
    child.once("error", reject);
  });
  const at = await started;
  await new Promise((resolve) => child.once("exit", resolve));
  return at;
}

interface Sample {
  ms: number;
  finishMs: number;
}

async function fresh(repo: string, scratch: string, i: number): Promise<Sample> {
  const dir = join(scratch, `fresh-${i}`);
  const t0 = performance.now();
  await git(repo, "worktree", "add", "--quiet", "-B", `loopd/fresh/${i}`, dir, "HEAD");
  const spawned = await spawnHarness(dir);
  const t1 = performance.now();
  await git(repo, "worktree", "remove", "--force", dir);
  await git(repo, "branch", "-D", `loopd/fresh/${i}`);
  return { ms: spawned - t0, finishMs: performance.now() - t1 };
}

/**
 * Flushes dirty pages between samples (untimed): removing a 50,000-file worktree leaves
 * writeback that would otherwise land in the next sample's timed span and grow run by run.
 */
function settle(): void {
  spawnSync("sync");
}

async function warm(repo: string, workspaces: WorkspaceManager, i: number): Promise<Sample> {
  const t0 = performance.now();
  const ws = await workspaces.acquire({ repo, routine: "warm", runId: i, mode: "worktree" });
  const spawned = await spawnHarness(ws.cwd);
  // A typical run leaves a few changes behind for the next reset to undo.
  writeFileSync(join(ws.cwd, "src", "d0000", "f0.ts"), `export const changed = ${i};\n`);
  writeFileSync(join(ws.cwd, `new-${i}.ts`), "export {};\n");
  const t1 = performance.now();
  await workspaces.finish(ws, { succeeded: true });
  return { ms: spawned - t0, finishMs: performance.now() - t1 };
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (position - low);
}

const ms = (value: number) => (value >= 100 ? value.toFixed(0) : value.toFixed(1));

function gitRevision(): string {
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
      cwd: root,
      encoding: "utf8",
    }).trim();
    const dirty = execFileSync(
      "git",
      ["status", "--porcelain", "--", "src/workspace", "bench/workspace.ts"],
      {
        cwd: root,
        encoding: "utf8",
      },
    ).trim();
    return dirty ? `${head} + uncommitted workspace changes` : head;
  } catch {
    return "unknown";
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const loadBefore = loadavg()[0]!.toFixed(1);
  const scratch = realpathSync(mkdtempSync(join(tmpdir(), "loopd-bench-ws-")));
  try {
    const repo = join(scratch, "repo");
    console.error(`generating a ${FILES.toLocaleString("en")}-file repo in ${repo} …`);
    const g0 = performance.now();
    await generateRepo(repo);
    const generateMs = performance.now() - g0;
    const workspaces = new WorkspaceManager({ root: join(scratch, "home", "workspaces"), poolSize: 2 });

    const results: Record<"fresh" | "warm", Sample[]> = { fresh: [], warm: [] };
    const warmups: string[] = [];
    for (let i = 0; i < WARMUP + ITERATIONS; i++) {
      // Interleaved so both variants see the same page-cache and background conditions.
      const a = await fresh(repo, scratch, i);
      settle();
      const b = await warm(repo, workspaces, i);
      settle();
      console.error(`#${i}${i < WARMUP ? " (warm-up)" : ""}: fresh ${ms(a.ms)} ms, warm ${ms(b.ms)} ms`);
      if (i < WARMUP) warmups.push(`fresh ${ms(a.ms)} ms / warm ${ms(b.ms)} ms`);
      else {
        results.fresh.push(a);
        results.warm.push(b);
      }
    }
    const row = (label: string, samples: Sample[]) => {
      const values = samples.map((s) => s.ms);
      const after = samples.map((s) => s.finishMs);
      return { label, median: quantile(values, 0.5), p90: quantile(values, 0.9), values, after };
    };
    const rows = [
      row("(a) fresh `git worktree add` per run", results.fresh),
      row("(b) warm pool: `WorkspaceManager.acquire` (reset + escape baseline)", results.warm),
    ];
    const ratio = rows[1]!.median / rows[0]!.median;
    const ratioP90 = rows[1]!.p90 / rows[0]!.p90;
    const gitVersion = execFileSync("git", ["--version"], { encoding: "utf8" })
      .trim()
      .replace("git version ", "");
    const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
    const minutes = ((performance.now() - started) / 60_000).toFixed(1);
    const lines = [
      "# loopd workspace benchmark",
      "",
      `loopd ${gitRevision()} · ${new Date().toISOString().slice(0, 10)} · ${availableParallelism()} cores (${cpu}) · ` +
        `${process.platform} ${release()} · Node ${process.version} · git ${gitVersion} · temp dir ${tmpdir()} · ` +
        `load average ${loadBefore} → ${loadavg()[0]!.toFixed(1)} (1 min, start → end) · ${minutes} min`,
      "",
      "## Claim → harness spawned",
      "",
      `Repo: ${FILES.toLocaleString("en")} files in one commit (${FILES / FILES_PER_DIR} folders; generated with \`git fast-import\` + ` +
        `\`git reset --hard\` in ${(generateMs / 1000).toFixed(1)} s). Time from the start of workspace preparation until ` +
        "`/bin/sh -c :` has been spawned in it (the child's `spawn` event). " +
        `${ITERATIONS} iterations each after ${WARMUP} warm-up, the two variants interleaved. ` +
        "(a) is bare `git worktree add -B <branch> <dir> HEAD` (no base resolution or escape baseline), removed with " +
        "`git worktree remove --force` afterwards. (b) each run modifies a tracked file and adds one, so every reset " +
        "has work to undo; finish() (diff, changed files, escape check, slot release) is outside the timed span and " +
        "shown separately.",
      "",
      "| variant | n | median ms | p90 ms | min–max ms | after the run (median ms) |",
      "|---|--:|--:|--:|--:|--:|",
      ...rows.map(
        (r) =>
          `| ${r.label} | ${r.values.length} | **${ms(r.median)}** | ${ms(r.p90)} | ` +
          `${ms(Math.min(...r.values))}–${ms(Math.max(...r.values))} | ${ms(quantile(r.after, 0.5))} |`,
      ),
      "",
      `warm ÷ fresh: **${ratio.toFixed(2)}×** median, ${ratioP90.toFixed(2)}× p90 (target ≤ ${TARGET_RATIO}×: ` +
        `${ratio <= TARGET_RATIO ? "met" : "not met"}). After the run: (a) worktree remove + branch delete; ` +
        "(b) WorkspaceManager.finish().",
      "",
      // The first warm run creates its pool slot (a worktree add); the first fresh ones show the
      // disk before sustained writes of 50,000 files per run (on a throttled VM disk, they differ).
      `Warm-up runs, not in the table: ${warmups.join("; ")}.`,
      "",
      "Command: `npm run bench:workspace`. p-values are exact quantiles (linear interpolation).",
      "",
    ];
    const markdown = lines.join("\n");
    console.log(markdown);
    const out = join(root, "bench", "results", "workspace.md");
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, markdown);
    console.error(`written to ${out}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
