/**
 * The daemon's HTTP surface (Hono on Node's http server): `/healthz` answers as soon as the
 * engine runs, `POST /wake` lets other processes on this data dir trigger a pass at once,
 * `/hooks/*` take inbound webhooks (their own auth) and `/api/v1` is the token-guarded API
 * (server/api/), and everything else is the dashboard's static files (server/dashboard.ts).
 * Every request but the hooks and /healthz first passes request-guard.ts (Host, Origin, no
 * simple state changes), so a web page cannot drive the daemon, with or without a token.
 */
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { LoopdError } from "../domain/errors.js";
import { requireApiToken } from "./api/auth.js";
import { type ApiDeps, createApi } from "./api/index.js";
import { mountDashboard } from "./dashboard.js";
import { type InboundDeps, mountInbound } from "./inbound.js";
import { guardBrowserRequests, type RequestGuardOptions } from "./request-guard.js";

export interface HealthInfo {
  version: string;
  store: string;
  workerId: string;
  activeRuns: () => number;
  /** The engine's view of its store: answering, or down since when and why. */
  health?: () => {
    store: "ok" | "degraded";
    downSince: number | null;
    error: string | null;
    errorCode?: string | null;
    listening: boolean | null;
  };
  /** `/metrics` (Prometheus text), behind the API token unless it is null (`--no-auth`). */
  metrics?: { render: () => Promise<{ body: string; contentType: string }>; token: string | null };
}

export function createHttpApp(
  health: HealthInfo,
  onWake: () => void,
  inbound?: InboundDeps,
  api?: ApiDeps,
  guard: RequestGuardOptions = { boundHost: "127.0.0.1", allowedHosts: [] },
): Hono {
  const app = new Hono();
  app.use("*", guardBrowserRequests(guard));
  if (inbound) mountInbound(app, inbound);
  if (api) app.route("/", createApi(api));
  app.get("/healthz", (c) => {
    // 503 while the store does not answer, so a probe (systemd, a load balancer) can tell.
    const engine = health.health?.();
    const ok = engine === undefined || engine.store === "ok";
    return c.json(
      {
        ok,
        version: health.version,
        store: health.store,
        storeStatus: engine?.store ?? "ok",
        ...(engine && !ok
          ? {
              storeDownSince: engine.downSince === null ? null : new Date(engine.downSince).toISOString(),
              storeError: engine.error,
              storeErrorCode: engine.errorCode ?? null,
            }
          : {}),
        // Wake-ups from other processes: false while the LISTEN connection reconnects.
        ...(engine && engine.listening !== null ? { listening: engine.listening } : {}),
        workerId: health.workerId,
        activeRuns: health.activeRuns(),
      },
      ok ? 200 : 503,
    );
  });
  const metrics = health.metrics;
  if (metrics) {
    app.get("/metrics", requireApiToken(metrics.token), async (c) => {
      const { body, contentType } = await metrics.render();
      return c.body(body, 200, { "Content-Type": contentType });
    });
  }
  app.post("/wake", (c) => {
    onWake();
    return c.body(null, 204);
  });
  // Last: page paths the routes above did not answer load the dashboard.
  mountDashboard(app);
  return app;
}

export interface Listening {
  url: string;
  close(): Promise<void>;
}

export function listen(app: Hono, host: string, port: number): Promise<Listening> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: host, port }, (info: AddressInfo) => {
      const shownHost = info.family === "IPv6" ? `[${info.address}]` : info.address;
      resolve({
        url: `http://${shownHost}:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Keep-alive sockets (SSE later) must not hold shutdown hostage.
            (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
          }),
      });
    });
    server.once("error", (error: NodeJS.ErrnoException) => {
      reject(
        new LoopdError(
          "LOOPD_SERVE_FAILED",
          `cannot listen on ${host}:${port}: ${error.code ?? error.message}`,
          {
            cause: error,
          },
        ),
      );
    });
  });
}
