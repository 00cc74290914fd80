/**
 * (d) idle cost of the whole `loopd serve` composition (src/daemon/daemon.ts: engine, delivery
 * worker, worker presence, HTTP API, timers), not the Engine alone: a real daemon over a fresh
 * store holding `routines` routines due a day from now. Every statement the process sends is
 * counted (`openStore({ onQuery })`) and kept by its first words, so a figure above the target
 * names the statement behind it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LogEvent } from "kysely";
import { type Daemon, startDaemon } from "../../src/daemon/daemon.js";
import { insertRoutine } from "../../src/store/routines.js";
import { openStore } from "../../src/store/store.js";
import { dropSchema, routineSpec, schemaName, storeOptions } from "./common.js";

export interface IdleDaemon {
  /** Statements since the daemon started (after the routines were inserted). */
  queries(): number;
  /** Statements by their first 60 characters, since the last reset. */
  byStatement(): Map<string, number>;
  resetStatements(): void;
  dispose(): Promise<void>;
}

export async function startIdleDaemon(options: {
  dialect: "postgres" | "sqlite";
  routines: number;
  /** The daemon's backstop (default: the product's, 60 s). */
  backstopMs?: number;
}): Promise<IdleDaemon> {
  const home = mkdtempSync(join(tmpdir(), "loopd-bench-idle-"));
  const schema = schemaName("loopd_idle_daemon");
  const target =
    options.dialect === "postgres"
      ? { kind: "postgres" as const, schema }
      : { kind: "sqlite" as const, file: join(home, "loopd.db") };
  let counting = false;
  let queries = 0;
  let statements = new Map<string, number>();
  const onQuery = (event: LogEvent) => {
    if (!counting) return;
    queries++;
    const key = event.query.sql.replace(/\s+/g, " ").trim().slice(0, 60);
    statements.set(key, (statements.get(key) ?? 0) + 1);
  };
  const opened = storeOptions(target, onQuery);
  const store = await openStore(opened);
  const now = Date.now();
  await store.writeTransaction(async (trx) => {
    for (let index = 0; index < options.routines; index++) {
      const name = `daily-${index}`;
      await insertRoutine(trx, {
        name,
        source: null,
        spec: routineSpec(name, { kind: "every", every: "1d", everyMs: 86_400_000 }, "skip"),
        specHash: `bench-${name}`,
        state: "active",
        pausedReason: null,
        nextDueAt: now + 86_400_000,
        now,
      });
    }
  });
  counting = true;
  let daemon: Daemon;
  try {
    daemon = await startDaemon({
      home,
      store,
      storeOptions: opened,
      version: "bench",
      mode: "serve",
      host: "127.0.0.1",
      port: 0,
      concurrency: 64,
      leaseMs: 30_000,
      ...(options.backstopMs !== undefined ? { backstopMs: options.backstopMs } : {}),
      onEvent: () => {},
    });
  } catch (error) {
    await store.close();
    throw error;
  }
  return {
    queries: () => queries,
    byStatement: () => new Map(statements),
    resetStatements: () => {
      statements = new Map();
    },
    async dispose() {
      await daemon.stop(1000);
      await store.close();
      if (options.dialect === "postgres") await dropSchema(schema);
      rmSync(home, { recursive: true, force: true });
    },
  };
}
