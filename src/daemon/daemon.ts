/**
 * `loopd serve` and `loopd worker`, the composition root: the one place that wires the
 * engine, the delivery worker, the HTTP server, the config watch and the workspace prune
 * timer together over a store. Nothing below imports it; the CLI's `serve`/`worker` call it.
 * With serve -f, loopd.yaml is applied at start and again whenever it changes.
 */
import { chmod, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { assertSafeBind, dashboardUrl, ensureApiToken } from "../app/api-token.js";
import { applyConfig } from "../app/apply-config.js";
import { workerRuntime } from "../app/worker-runtime.js";
import { LoopdError } from "../domain/errors.js";
import { Engine, type EngineEvent } from "../engine/engine.js";
import { createWakeBus, DAEMON_FILE, type DaemonInfo, liveDaemon, type WakeBus } from "../engine/wake.js";
import { DeliveryWorker, type DeliveryWorkerEvent } from "../notify/delivery-worker.js";
import type { Listening } from "../server/http.js";
import type { Store, StoreOptions } from "../store/store.js";
import type { PruneResult } from "../workspace/prune.js";
import { type ConfigWatchEvent, watchConfig } from "./config-watch.js";
import { createDaemonMetrics } from "./metrics.js";
import { listenMetrics } from "./metrics-server.js";

/** Kept worktrees older than `workspaces.pruneAfter` are removed this often. */
const PRUNE_EVERY_MS = 60 * 60 * 1000;

export interface DaemonOptions {
  home: string;
  store: Store;
  storeOptions: StoreOptions;
  version: string;
  /** serve: scheduler + worker + HTTP; worker: claims and executes only. */
  mode: "serve" | "worker";
  host: string;
  port: number;
  concurrency: number;
  leaseMs: number;
  /** The longest the process sleeps before one look at the store (default the engine's, 60 s). */
  backstopMs?: number;
  labels?: string[];
  /** serve: require the API token (default); false (`--no-auth`) only on a loopback host. */
  auth?: boolean;
  /** serve: names besides loopback and `host` that requests may use (`--allow-host`, a proxy's). */
  allowedHosts?: string[];
  /** worker: serve GET /metrics on this host and port (`--metrics-port`; 0 picks a free one). */
  metrics?: { host: string; port: number };
  /** loopd.yaml to apply at start and on change (serve -f). */
  configFile?: string;
  onEvent: (event: DaemonEvent) => void;
}

export type DaemonEvent =
  | EngineEvent
  | DeliveryWorkerEvent
  | ConfigWatchEvent
  | { type: "pruned"; result: PruneResult };

export interface Daemon {
  engine: Engine;
  url: string | null;
  /** worker --metrics-port: where its /metrics answers. */
  metricsUrl: string | null;
  /** The dashboard URL with the API token in its fragment (serve only). */
  dashboardUrl: string | null;
  stop(graceMs?: number): Promise<void>;
}

export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const { store, home } = options;
  if (options.mode === "worker" && store.dialect !== "postgres") {
    throw new LoopdError(
      "LOOPD_WORKER_NEEDS_POSTGRES",
      "`loopd worker` needs PostgreSQL (LOOPD_DATABASE_URL)",
    );
  }
  const auth = options.auth ?? true;
  const allowedHosts = options.allowedHosts ?? [];
  if (options.mode === "serve") assertSafeBind({ host: options.host, auth, allowedHosts });
  if (options.mode === "serve" && store.dialect === "sqlite") {
    const running = liveDaemon(home);
    if (running && running.pid !== process.pid) {
      throw new LoopdError(
        "LOOPD_DAEMON_RUNNING",
        `loopd serve (pid ${running.pid}) already serves ${home} at ${running.url}`,
      );
    }
  }
  if (options.configFile) {
    options.onEvent({
      type: "applied",
      result: await applyConfig(store, { file: options.configFile, dryRun: false, prune: false }),
    });
  }

  // The LISTEN connection reconnects by itself; its errors are worth a line, not a crash.
  const bus = createWakeBus(store, options.storeOptions, home, (error) =>
    options.onEvent({ type: "error", error }),
  );
  // Notifications leave from every daemon (claims are SKIP LOCKED): a wake-up from another
  // process (`loopd deliveries retry`, a new outbox row) is for the deliveries too.
  // Every event reaches /metrics too: serve's API, or a worker's own listener (--metrics-port).
  const metrics = createDaemonMetrics(store);
  const onEvent = (event: DaemonEvent) => {
    metrics.observe(event);
    options.onEvent(event);
  };
  // One wake-up plan for the process: the engine's backstop read also answers the outbox's
  // next due time and hands it over (planDeliveries below), so the delivery worker keeps no
  // backstop timer and an idle daemon makes one query a minute in all.
  const deliveries = new DeliveryWorker({ store, onEvent, backstopMs: null });
  const wake: WakeBus = {
    listen: (onWake) =>
      bus.listen(() => {
        onWake();
        void deliveries.wake();
      }),
    notify: () => bus.notify(),
    close: () => bus.close(),
    ...(bus.listening ? { listening: () => bus.listening!() } : {}),
  };
  const runtime = await workerRuntime(store, home);
  const engine = new Engine({
    store,
    harnesses: runtime.harnesses,
    workspaces: runtime.workspaces,
    refreshRuntime: runtime.refresh,
    roles: { schedule: options.mode === "serve", work: true },
    concurrency: options.concurrency,
    leaseMs: options.leaseMs,
    ...(options.backstopMs !== undefined ? { backstopMs: options.backstopMs } : {}),
    ...(options.labels ? { labels: options.labels } : {}),
    wake,
    planDeliveries: (nextAt) => deliveries.dueAt(nextAt),
    onEvent: (event) => {
      onEvent(event);
      // Outcomes and pauses may have written outbox rows in their transaction: send them now.
      const notifies =
        (event.type === "run-finished" && event.accepted && event.run.spec.notify.length > 0) ||
        event.type === "routine-paused" ||
        event.type === "misfired";
      if (notifies) void deliveries.wake();
    },
  });

  // A run fired here (the CLI through the API, a hook, the dashboard) or a config applied: this
  // engine looks at once, and so do the other processes on the store (PostgreSQL NOTIFY) — the
  // run may need a label only a `loopd worker` offers.
  const fired = () => {
    engine.wake();
    bus.notify().catch((error: unknown) => options.onEvent({ type: "error", error }));
  };
  let http: Listening | undefined;
  let token: string | null = null;
  if (options.mode === "serve") {
    token = auth ? await ensureApiToken(home) : null;
    const { createHttpApp, listen } = await import("../server/http.js");
    const app = createHttpApp(
      {
        version: options.version,
        store: store.location,
        workerId: engine.workerId,
        activeRuns: () => engine.activeRunIds().length,
        health: () => engine.health(),
        metrics: { render: () => metrics.render(), token },
      },
      () => {
        engine.wake();
        void deliveries.wake();
      },
      {
        store,
        env: process.env,
        now: () => Date.now(),
        onFired: fired,
        baseUrl: () => http?.url ?? null,
      },
      {
        store,
        version: options.version,
        workerId: engine.workerId,
        activeRuns: () => engine.activeRunIds().length,
        now: () => Date.now(),
        onFired: fired,
        baseUrl: () => http?.url ?? null,
        token,
        cwd: process.cwd(),
        env: process.env,
        harnesses: async () => runtime.harnesses,
      },
      { boundHost: options.host, allowedHosts },
    );
    http = await listen(app, options.host, options.port);
    const info: DaemonInfo = {
      pid: process.pid,
      url: http.url,
      workerId: engine.workerId,
      version: options.version,
      startedAt: new Date().toISOString(),
    };
    await mkdir(home, { recursive: true, mode: 0o700 });
    await writeFile(join(home, DAEMON_FILE), `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
    // `mode` applies only when the file is created: a stale one left by a crash may be wider.
    await chmod(join(home, DAEMON_FILE), 0o600);
  }
  const metricsListener =
    options.mode === "worker" && options.metrics
      ? await listenMetrics(metrics, options.metrics.host, options.metrics.port, (error) =>
          options.onEvent({ type: "error", error }),
        )
      : null;
  await engine.start();
  await deliveries.start();
  const prune = () =>
    void runtime.workspaces
      .prune()
      .then((result) => {
        const changed = result.removed.length + result.deletedBranches.length + result.keptBranches.length;
        if (changed > 0) options.onEvent({ type: "pruned", result });
      })
      .catch((error: unknown) => options.onEvent({ type: "error", error }));
  prune();
  const pruneTimer = setInterval(prune, PRUNE_EVERY_MS);
  pruneTimer.unref();

  const stopWatching = options.configFile
    ? watchConfig(options.configFile, store, fired, options.onEvent)
    : () => {};
  return {
    engine,
    url: http?.url ?? null,
    metricsUrl: metricsListener?.url ?? null,
    dashboardUrl: http ? dashboardUrl(http.url, token) : null,
    async stop(graceMs = 10_000) {
      stopWatching();
      clearInterval(pruneTimer);
      await engine.stop(graceMs);
      await deliveries.stop();
      await http?.close();
      await metricsListener?.close();
      if (http) await rm(join(home, DAEMON_FILE), { force: true });
    },
  };
}
