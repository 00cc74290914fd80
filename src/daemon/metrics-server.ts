/**
 * `loopd worker --metrics-port <n>`: a worker has no HTTP API, so its /metrics (the same
 * registry as serve's, metrics.ts) gets a listener of its own. It answers GET /metrics and
 * nothing else, without a token: it binds 127.0.0.1 unless `--metrics-host` says otherwise.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { LoopdError } from "../domain/errors.js";
import type { DaemonMetrics } from "./metrics.js";

export interface MetricsListener {
  url: string;
  close(): Promise<void>;
}

export async function listenMetrics(
  metrics: DaemonMetrics,
  host: string,
  port: number,
  onError: (error: unknown) => void,
): Promise<MetricsListener> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://metrics").pathname;
    if (path !== "/metrics" || (request.method !== "GET" && request.method !== "HEAD")) {
      response.writeHead(path === "/metrics" ? 405 : 404, { "content-type": "text/plain" });
      response.end(path === "/metrics" ? "GET /metrics\n" : "not found: this listener serves GET /metrics\n");
      return;
    }
    metrics.render().then(
      ({ body, contentType }) => {
        response.writeHead(200, { "content-type": contentType });
        response.end(request.method === "HEAD" ? undefined : body);
      },
      (error: unknown) => {
        // The store's gauges could not be read (an outage): the scrape fails, the worker goes on.
        onError(error);
        response.writeHead(503, { "content-type": "text/plain" });
        response.end("the store did not answer\n");
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        new LoopdError(
          "LOOPD_SERVE_FAILED",
          `cannot listen for /metrics on ${host}:${port}: ${error.code ?? error.message}`,
          {
            cause: error,
            hint: "Pick a free port with --metrics-port (0 picks one), or stop what holds it.",
          },
        ),
      ),
    );
    server.listen(port, host, () => {
      server.removeAllListeners("error");
      server.on("error", onError);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}/metrics`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
