/**
 * `loopd doctor`'s store section: does the store answer (and how fast), what does the daemon
 * serving this data dir say about its own connection (its /healthz: degraded while it cannot
 * reach the store, and whether it hears wake-ups), and which workers are registered — with,
 * for the ones on this host, whether their process is still alive (a dead one's runs come back
 * when a loopd process on this host looks, or when their leases expire).
 */
import { liveDaemon } from "../engine/wake.js";
import { request } from "../lib/http-request.js";
import { hostKey, processAlive } from "../lib/local-host.js";
import type { Store } from "../store/store.js";
import { listWorkers } from "../store/workers.js";

export interface StoreDoctorView {
  location: string;
  dialect: Store["dialect"];
  /** One round trip, as this process sees it. */
  latencyMs: number;
  /** The daemon of this data dir, from its /healthz; null when none runs (or it did not answer). */
  daemon: {
    url: string;
    storeStatus: "ok" | "degraded";
    storeDownSince: string | null;
    storeError: string | null;
    listening: boolean | null;
  } | null;
  workers: Array<{
    id: string;
    host: string;
    pid: number;
    labels: string[];
    startedAt: string;
    seenAt: string;
    /** Judged for workers of this host only; null elsewhere. */
    alive: boolean | null;
  }>;
}

export async function storeDoctor(store: Store, home: string): Promise<StoreDoctorView> {
  const started = performance.now();
  const workers = await listWorkers(store.db);
  const latencyMs = Math.round(performance.now() - started);
  const here = hostKey();
  return {
    location: store.location,
    dialect: store.dialect,
    latencyMs,
    daemon: await daemonHealth(home),
    workers: workers.map((worker) => ({
      id: worker.id,
      host: worker.host,
      pid: worker.pid,
      labels: worker.labels,
      startedAt: new Date(worker.startedAt).toISOString(),
      seenAt: new Date(worker.seenAt).toISOString(),
      alive: worker.hostKey === here ? processAlive(worker.pid, worker.pidStart) : null,
    })),
  };
}

async function daemonHealth(home: string): Promise<StoreDoctorView["daemon"]> {
  const daemon = liveDaemon(home);
  if (!daemon) return null;
  try {
    const response = await request(new URL("/healthz", daemon.url), { signal: AbortSignal.timeout(2000) });
    const health = (await response.json()) as Record<string, unknown>;
    return {
      url: daemon.url,
      storeStatus: health.storeStatus === "degraded" ? "degraded" : "ok",
      storeDownSince: typeof health.storeDownSince === "string" ? health.storeDownSince : null,
      storeError: typeof health.storeError === "string" ? health.storeError : null,
      listening: typeof health.listening === "boolean" ? health.listening : null,
    };
  } catch {
    return null;
  }
}
