/**
 * Chaos on PostgreSQL: three `loopd worker` processes work through 1,000 short runs while a
 * random worker is SIGKILLed every ~2 s and restarted. Checked from outside, through an
 * append-only log each run's command writes with its run id and attempt:
 *   - every run ends exactly once (final state, nothing lost);
 *   - no run ever executes twice at the same time: an attempt whose next attempt has started
 *     never logs again (a killed worker's commands die with it, so a killed attempt simply
 *     never logs its end);
 *   - every run's final attempt really ran to its end.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";
import { mulberry32 } from "./helpers/prng.js";
import { type LoopdProcess, spawnLoopd } from "./helpers/process.js";
import { processesRunning } from "./helpers/processes.js";
import { openTestStore, postgresSuiteEnabled, type TestStore } from "./helpers/stores.js";
import { waitUntil } from "./helpers/wait.js";

const RUNS = 1000;
const WORKERS = 3;
const KILL_EVERY_MS = 2000;
/** Which worker dies when: seeded, so a failure's kill pattern can be replayed (LOOPD_CHAOS_SEED). */
const SEED = Number(process.env.LOOPD_CHAOS_SEED ?? 20261204);

describe.runIf(await postgresSuiteEnabled("the chaos test"))(
  "chaos: workers killed at random on PostgreSQL",
  () => {
    let target: TestStore;
    let cwd: string;
    let env: Record<string, string>;
    const workers: Array<LoopdProcess | undefined> = [];

    beforeAll(async () => {
      target = await openTestStore("postgres");
      cwd = mkdtempSync(join(tmpdir(), "loopd-chaos-"));
      env = { ...target.env, LOOPD_HOME: join(cwd, "home") };
    });
    afterAll(async () => {
      await Promise.all(workers.map((worker) => worker?.stop("SIGKILL")));
      await target?.dispose();
      rmSync(cwd, { recursive: true, force: true });
    });

    it(`runs ${RUNS} runs exactly once while workers die`, async () => {
      const log = join(cwd, "attempts.log");
      writeFileSync(
        join(cwd, "loopd.yaml"),
        [
          "routines:",
          "  - name: chaos",
          `    command: 'echo "start $LOOPD_RUN_ID $LOOPD_ATTEMPT" >> ${log}; sleep 0.05; echo "end $LOOPD_RUN_ID $LOOPD_ATTEMPT" >> ${log}'`,
          "    overlap: allow",
          "    retries: 10",
          "    timeout: 30s",
          "",
        ].join("\n"),
      );
      expect((await runCli(["apply"], { env, cwd })).code).toBe(0);
      const { store } = target;
      const routine = await store.db
        .selectFrom("routines")
        .select("id")
        .where("name", "=", "chaos")
        .executeTakeFirstOrThrow();
      const now = Date.now();
      const rows = Array.from({ length: RUNS }, (_, i) => ({
        routine_id: routine.id,
        due_at: now + i,
        trigger: "manual" as const,
        status: "queued" as const,
        max_attempts: 11,
        not_before: now,
        queued_at: now,
      }));
      for (let i = 0; i < rows.length; i += 250)
        await store.db
          .insertInto("runs")
          .values(rows.slice(i, i + 250))
          .execute();

      const start = (slot: number) => {
        workers[slot] = spawnLoopd(["worker", "--concurrency", "4", "--lease", "2"], { env, cwd });
      };
      for (let slot = 0; slot < WORKERS; slot++) start(slot);

      let kills = 0;
      const random = mulberry32(SEED);
      const deadline = Date.now() + 150_000;
      for (;;) {
        const open = await store.db
          .selectFrom("runs")
          .select((eb) => eb.fn.countAll<number>().as("count"))
          .where("status", "in", ["queued", "running"])
          .executeTakeFirstOrThrow();
        if (Number(open.count) === 0) break;
        if (Date.now() > deadline) throw new Error(`${open.count} runs still open after the deadline`);
        await new Promise((resolve) => setTimeout(resolve, KILL_EVERY_MS * (0.5 + random())));
        const slot = Math.floor(random() * WORKERS);
        await workers[slot]?.stop("SIGKILL");
        kills++;
        start(slot);
      }
      expect(kills).toBeGreaterThanOrEqual(2);

      // Every run ended exactly once, and succeeded (attempts were plentiful).
      const finals = await store.db
        .selectFrom("runs")
        .select(["id", "status", "attempt"])
        .where("routine_id", "=", routine.id)
        .execute();
      expect(finals).toHaveLength(RUNS);
      expect(finals.filter((run) => run.status !== "succeeded")).toEqual([]);

      // A killed worker's command could only log late as an orphan: wait until none is alive.
      await waitUntil(() => processesRunning(log).length === 0, "no command of this test still running", {
        timeoutMs: 10_000,
        state: () => processesRunning(log),
      });
      const lines = readFileSync(log, "utf8").trim().split("\n");
      const open = new Map<string, string>(); // run id → attempt currently executing
      const superseded = new Set<string>(); // "run attempt" pairs whose next attempt started
      const completed = new Set<string>(); // "run attempt" pairs that reached their end
      for (const line of lines) {
        const [what, run, attempt] = line.split(" ") as [string, string, string];
        if (what === "start") {
          // The previous attempt never ended: its worker was killed, and its command with it.
          if (open.has(run)) superseded.add(`${run} ${open.get(run)}`);
          open.set(run, attempt);
        } else {
          expect(
            superseded.has(`${run} ${attempt}`),
            `run ${run} attempt ${attempt} ended after attempt ${open.get(run)} had started`,
          ).toBe(false);
          expect(open.get(run)).toBe(attempt);
          open.delete(run);
          completed.add(`${run} ${attempt}`);
        }
      }
      for (const run of finals) expect(completed.has(`${run.id} ${run.attempt}`)).toBe(true);
      const recovered = finals.filter((run) => run.attempt > 1).length;
      console.log(
        `chaos: ${RUNS} runs, ${kills} workers killed, ${recovered} runs recovered onto another attempt`,
      );
    }, 200_000);
  },
);
