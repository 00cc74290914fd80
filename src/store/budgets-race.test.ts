/**
 * The budget race: 20 runs reserve at once against a cap of five estimates, each from its own
 * process with its own store handle, as separate workers would. Processes, not handles in
 * this one: better-sqlite3 is synchronous, so a second handle in the same process waiting
 * for SQLite's write lock blocks the event loop the holder needs to commit (5 s, then
 * SQLITE_BUSY). The store modules are transpiled for the children, which run plain Node.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestStore, TEST_POSTGRES_URL, type TestStore, testDialects } from "../../test/helpers/stores.js";
import { type Cap, withinCap } from "../domain/budget.js";
import { spentUsd } from "./ledger.js";
import { reserveBudget } from "./sql/reserve-budget.js";
import type { StoreOptions } from "./store.js";

const SRC = fileURLToPath(new URL("..", import.meta.url));
const ROOT = resolve(SRC, "..");
const NOW = Date.parse("2026-11-28T12:00:00Z");
const RUNS = 20;
const ESTIMATE_USD = 0.4;
const CAPS: Cap[] = [
  { scope: "run", limitUsd: 1 },
  { scope: "routine-day", limitUsd: 3 * ESTIMATE_USD },
  { scope: "global-day", limitUsd: 5 * ESTIMATE_USD },
];
const GLOBAL_CAP = 5 * ESTIMATE_USD;

/**
 * Four runs in five come in under the estimate at most once: any five granted runs include
 * at least one that overruns, and none overruns by more than a fifth, so five open
 * reservations can overshoot the cap by one estimate at most.
 */
const actualUsd = (run: number) => ESTIMATE_USD * (run % 5 === 0 ? 0.6 : 1 + 0.05 * (run % 5));

/** What each child runs: open the store, reserve on "reserve", run a little, settle on "settle". */
const CHILD = `
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { reserveBudget } from "./store/sql/reserve-budget.js";
import { settleBudget } from "./store/sql/settle-budget.js";
import { openStore } from "./store/store.js";

const job = JSON.parse(process.env.RACE_JOB);
const say = (message) => process.stdout.write(JSON.stringify(message) + "\\n");
const store = await openStore(job.location);
let reservation;
say({ phase: "ready" });
for await (const line of createInterface({ input: process.stdin })) {
  if (line === "reserve") {
    // Jitter so arrivals interleave instead of following the order the parent wrote in.
    await sleep(Math.random() * 5);
    reservation = await reserveBudget(store, { ...job.reserve, now: job.now });
    say({ phase: "reserved", ...reservation });
  } else if (line === "settle") {
    await sleep(Math.random() * 20);
    const outcome = reservation.ok
      ? await settleBudget(store, { reservationId: reservation.reservationId, now: job.now + 60000, ledger: job.ledger })
      : "refused";
    say({ phase: "settled", outcome });
    break;
  }
}
await store.close();
`;

let childDir: string;

beforeAll(() => {
  childDir = mkdtempSync(join(tmpdir(), "loopd-budget-race-"));
  transpileWithImports(
    [join(SRC, "store/sql/reserve-budget.ts"), join(SRC, "store/sql/settle-budget.ts")],
    childDir,
  );
  symlinkSync(join(ROOT, "node_modules"), join(childDir, "node_modules"));
  writeFileSync(join(childDir, "package.json"), '{ "type": "module" }\n');
  writeFileSync(join(childDir, "child.js"), CHILD);
});

afterAll(() => {
  rmSync(childDir, { recursive: true, force: true });
});

describe.each(await testDialects())("%s: budget race", (dialect) => {
  let ctx: TestStore;
  beforeAll(async () => {
    ctx = await openTestStore(dialect);
  });
  afterAll(async () => {
    await ctx?.dispose();
  });

  it("grants at most five of twenty concurrent reservations and overshoots by one estimate at most", async () => {
    const location: StoreOptions =
      dialect === "sqlite"
        ? { kind: "sqlite", file: ctx.store.location }
        : {
            kind: "postgres",
            url: TEST_POSTGRES_URL,
            schema: ctx.env.LOOPD_DATABASE_SCHEMA!,
            maxConnections: 2,
          };
    const children = Array.from({ length: RUNS }, (_, run) => {
      const routineId = (run % 2) + 1;
      return startChild({
        location,
        now: NOW,
        reserve: { runId: run + 1, attempt: 1, routineId, amountUsd: ESTIMATE_USD, caps: CAPS },
        ledger: [
          {
            at: NOW + 60_000,
            routineId,
            routineName: `routine-${routineId}`,
            runId: run + 1,
            attempt: 1,
            harness: "claude",
            model: "claude-sonnet-4-5",
            tier: null,
            usage: { tokensIn: 1000, tokensOut: 100, tokensCached: 0, tokensReasoning: 0 },
            costUsd: actualUsd(run),
            costSource: "reported",
          },
        ],
      });
    });
    try {
      await Promise.all(children.map((child) => child.next("ready")));
      // Every run holds its reservation until all have asked: the cap alone decides who runs.
      for (const child of children) child.send("reserve");
      const reserved = await Promise.all(children.map((child) => child.next("reserved")));
      for (const child of children) child.send("settle");
      const settled = await Promise.all(children.map((child) => child.next("settled")));

      const granted = reserved.flatMap((result, run) => (result.ok ? [run] : []));
      expect(granted).toHaveLength(5);
      for (const routine of [0, 1])
        expect(granted.filter((run) => run % 2 === routine).length).toBeLessThanOrEqual(3);
      expect(reserved.filter((result) => !result.ok).every((result) => typeof result.cap === "object")).toBe(
        true,
      );
      expect(
        settled.map((message) => message.outcome).filter((outcome) => outcome === "settled"),
      ).toHaveLength(5);

      const total = granted.reduce((sum, run) => sum + actualUsd(run), 0);
      expect(granted.some((run) => actualUsd(run) > ESTIMATE_USD)).toBe(true);
      expect(total).toBeLessThanOrEqual(GLOBAL_CAP + ESTIMATE_USD + 1e-9);
      const day = { from: Date.parse("2026-11-28T00:00:00Z"), to: Date.parse("2026-11-29T00:00:00Z") };
      expect(await spentUsd(ctx.store.db, day)).toBeCloseTo(total, 9);
      const open = await ctx.store.db
        .selectFrom("budget_reservations")
        .select("id")
        .where("settled_at", "is", null)
        .execute();
      expect(open).toEqual([]);

      // Afterwards the books balance: one more estimate fits exactly when the ledger leaves room.
      const next = await reserveBudget(ctx.store, {
        runId: RUNS + 1,
        attempt: 1,
        routineId: null,
        amountUsd: ESTIMATE_USD,
        caps: CAPS,
        now: NOW + 120_000,
      });
      expect(next.ok).toBe(withinCap(total + ESTIMATE_USD, GLOBAL_CAP));
    } finally {
      for (const child of children) child.process.kill();
    }
  });
});

interface Child {
  process: ChildProcess;
  send(line: string): void;
  /** The next message of this phase (resolves immediately if it has arrived). */
  next(phase: string): Promise<Record<string, unknown>>;
}

function startChild(job: Record<string, unknown>): Child {
  const child = spawn(process.execPath, [join(childDir, "child.js")], {
    env: { PATH: process.env.PATH, RACE_JOB: JSON.stringify(job) },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const messages = new Map<string, Record<string, unknown>>();
  const waiters = new Map<string, (message: Record<string, unknown>) => void>();
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  createInterface({ input: child.stdout! }).on("line", (line) => {
    const message = JSON.parse(line) as Record<string, unknown>;
    messages.set(message.phase as string, message);
    waiters.get(message.phase as string)?.(message);
  });
  const exited = new Promise<never>((_, reject) =>
    child.on("exit", (code) => {
      if (code !== 0) reject(new Error(`race child exited with ${code}: ${stderr}`));
    }),
  );
  exited.catch(() => {});
  return {
    process: child,
    send: (line) => child.stdin!.write(`${line}\n`),
    next: (phase) =>
      Promise.race([
        messages.has(phase)
          ? Promise.resolve(messages.get(phase)!)
          : new Promise<Record<string, unknown>>((resolve) => waiters.set(phase, resolve)),
        exited,
      ]),
  };
}

/**
 * Transpiles the given modules and every project module they import into `outDir`, keeping
 * the layout under src/. Type-only imports are followed too (harmless: they transpile to
 * nearly nothing), which keeps this a text walk instead of a full type-checked build.
 */
function transpileWithImports(entries: readonly string[], outDir: string): void {
  const pending = [...entries];
  const seen = new Set<string>();
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, "utf8");
    const { outputText } = ts.transpileModule(text, {
      fileName: file,
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
      },
    });
    const target = join(outDir, relative(SRC, file)).replace(/\.ts$/, ".js");
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, outputText);
    for (const imported of ts.preProcessFile(text, true, true).importedFiles) {
      if (imported.fileName.startsWith("."))
        pending.push(resolve(dirname(file), imported.fileName).replace(/\.js$/, ".ts"));
    }
  }
}
