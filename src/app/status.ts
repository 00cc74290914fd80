/**
 * `loopd status` and `GET /api/v1/status`: the daemon at a glance — version, the store (kind,
 * location, schema version), the daemon serving it, the workers seen in the last two minutes (store/workers.ts), the
 * next routine due, the routines failing or paused, and today's spend (UTC day, the ledger).
 * One shape whichever way it is read (app/client/: the store, or a daemon's API).
 */
import { z } from "zod";
import { utcDay } from "../domain/budget.js";
import { metricsSnapshot } from "../store/metrics-snapshot.js";
import { schemaVersion } from "../store/migrate.js";
import { listRoutines } from "../store/routines.js";
import type { Store } from "../store/store.js";
import { listWorkers, WORKER_SEEN_WITHIN_MS } from "../store/workers.js";

/** A worker whose `seen_at` is older than this is not counted as up (refresh period + margin). */
export { WORKER_SEEN_WITHIN_MS };

const isoTime = z.string().meta({ format: "date-time", example: "2026-11-29T09:00:00.000Z" });

export const StatusViewSchema = z.object({
  version: z.string().meta({ description: "The answering loopd's version (the daemon's through the API)." }),
  now: isoTime,
  store: z.object({
    kind: z.enum(["sqlite", "postgres"]),
    location: z.string().meta({ description: "The SQLite file or the redacted PostgreSQL URL." }),
    schemaVersion: z.int().nullable(),
    latestSchemaVersion: z.int().meta({ description: "The newest migration this loopd knows." }),
  }),
  daemon: z
    .object({ url: z.string().nullable(), pid: z.int(), workerId: z.string().nullable() })
    .nullable()
    .meta({ description: "The `loopd serve` serving this store's data dir; null when none runs." }),
  workers: z.array(
    z.object({
      id: z.string(),
      host: z.string(),
      pid: z.int(),
      labels: z.array(z.string()),
      startedAt: isoTime,
      seenAt: isoTime,
    }),
  ),
  runs: z.object({ queued: z.int(), running: z.int() }),
  next: z.object({ routine: z.string(), dueAt: isoTime }).nullable(),
  failing: z.array(
    z.object({
      routine: z.string(),
      consecutiveFailures: z.int(),
      lastError: z.object({ code: z.string().nullable(), message: z.string() }).nullable(),
    }),
  ),
  paused: z.array(
    z.object({ routine: z.string(), code: z.string().nullable(), reason: z.string().nullable() }),
  ),
  spendToday: z.object({ day: z.string(), costUsd: z.number() }),
});

export type StatusView = z.infer<typeof StatusViewSchema>;

export interface StatusOptions {
  version: string;
  now: number;
  daemon: StatusView["daemon"];
}

export async function status(store: Store, options: StatusOptions): Promise<StatusView> {
  const [schema, workers, routines, snapshot] = await Promise.all([
    schemaVersion(store.db),
    listWorkers(store.db),
    listRoutines(store.db),
    metricsSnapshot(store.db, options.now),
  ]);
  const iso = (ms: number) => new Date(ms).toISOString();
  const due = routines
    .filter((routine) => routine.state === "active" && routine.nextDueAt !== null)
    .sort((a, b) => (a.nextDueAt ?? 0) - (b.nextDueAt ?? 0))[0];
  return {
    version: options.version,
    now: iso(options.now),
    store: {
      kind: store.dialect,
      location: store.location,
      schemaVersion: schema.current,
      latestSchemaVersion: schema.latest,
    },
    daemon: options.daemon,
    workers: workers
      .filter((worker) => worker.seenAt >= options.now - WORKER_SEEN_WITHIN_MS)
      .map((worker) => ({
        id: worker.id,
        host: worker.host,
        pid: worker.pid,
        labels: worker.labels,
        startedAt: iso(worker.startedAt),
        seenAt: iso(worker.seenAt),
      })),
    runs: { queued: snapshot.queued, running: snapshot.running },
    next: due ? { routine: due.name, dueAt: iso(due.nextDueAt!) } : null,
    failing: routines
      .filter((routine) => routine.state === "active" && routine.consecutiveFailures > 0)
      .map((routine) => ({
        routine: routine.name,
        consecutiveFailures: routine.consecutiveFailures,
        lastError:
          routine.lastErrorMessage === null
            ? null
            : { code: routine.lastErrorCode, message: routine.lastErrorMessage },
      })),
    paused: routines
      .filter((routine) => routine.state === "paused")
      .map((routine) => ({ routine: routine.name, code: routine.pausedCode, reason: routine.pausedReason })),
    spendToday: {
      day: utcDay(options.now),
      costUsd: snapshot.spendToday.reduce((sum, row) => sum + row.costUsd, 0),
    },
  };
}
