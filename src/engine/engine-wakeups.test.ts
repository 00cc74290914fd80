/** The engine's wake-up path under a race that needs exact timing to reproduce. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { addRoutine } from "../../test/helpers/routines.js";
import { openTestStore } from "../../test/helpers/stores.js";
import { waitUntil } from "../../test/helpers/wait.js";
import { shellHarness } from "../harness/shell.js";
import { findRoutineByName } from "../store/routines.js";
import { listRuns } from "../store/runs.js";
import { openStore } from "../store/store.js";
import { Engine } from "./engine.js";

const harnesses = new Map([["shell", shellHarness]]);

describe("sqlite: engine wake-ups", () => {
  // SQLite only: the store is changed synchronously (a second connection) from inside the
  // query observer, at the exact moment between armTimer's read and the timer being set.
  it("does not lose a wake-up that arrives while the timer is being armed", async () => {
    const ctx = await openTestStore("sqlite");
    const repo = mkdtempSync(join(tmpdir(), "loopd-engine-"));
    const engines: Engine[] = [];
    const runsOf = async (name: string) => {
      const routine = await findRoutineByName(ctx.store.db, name);
      return listRuns(ctx.store.db, { routineId: routine!.id });
    };
    const file = join(ctx.env.LOOPD_HOME!, "loopd.db");
    const routine = await addRoutine(
      ctx.store,
      { name: "woken", command: "true" },
      { repo, nextDueAt: null, now: Date.now() },
    );
    let armed = false;
    let idle = 0;
    let wakeupReads = 0;
    let engineRef: Engine | undefined;
    const side = new Database(file);
    const counted = await openStore({
      kind: "sqlite",
      file,
      onQuery: (event) => {
        if (!armed || !event.query.sql.includes("min(lease_until)")) return;
        // A pass that writes nothing arms its timer from its own read (no second read): change
        // the store and wake the engine right after that read has been taken.
        if (++wakeupReads !== 1) return;
        const now = Date.now();
        side
          .prepare(
            "insert into runs (routine_id, due_at, trigger, status, max_attempts, not_before, queued_at) values (?, ?, 'manual', 'queued', 1, ?, ?)",
          )
          .run(routine.id, now, now, now);
        engineRef!.wake();
      },
    });
    try {
      const e = new Engine({
        store: counted,
        harnesses,
        roles: { schedule: true, work: true },
        backstopMs: 30_000,
        onEvent: (event) => {
          if (event.type === "idle") idle++;
        },
      });
      engineRef = e;
      engines.push(e);
      await e.start();
      await waitUntil(() => idle > 0, "the first pass armed its timer");
      armed = true;
      e.wake();
      await expect
        .poll(async () => (await runsOf("woken"))[0]?.status, { timeout: 5000, interval: 50 })
        .toBe("succeeded");
    } finally {
      await Promise.all(engines.splice(0).map((engine) => engine.stop(0)));
      side.close();
      await counted.close();
      await ctx.dispose();
      rmSync(repo, { recursive: true, force: true });
    }
  });
});
