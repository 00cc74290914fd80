/**
 * The metering gateway (issue 19): one loopback HTTP server per process. Each registration
 * gets a random 32-byte secret; `http://127.0.0.1:<port>/m/<secret>/<n>` + path is forwarded
 * to the origin of the registration's n-th upstream + path (the registration's `baseUrl` adds
 * the upstream's own path, see types.ts). A request is held (requests are small), inspected,
 * admitted by the tenant, forwarded, and recorded once its answer is closed.
 *
 * Failure answers: no live registration for the path → 403 in a generic shape, never
 * forwarded; refused by the tenant → `REFUSED_STATUS` in the provider's shape (a status the
 * agent CLIs do not retry); a tenant callback that throws → 500 in the provider's shape (and
 * `onError`); an upstream that cannot be reached → 502 in the provider's shape.
 */
import { randomBytes } from "node:crypto";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { FORBIDDEN, type GatewayAnswer, providerError } from "./errors.js";
import { type Agents, forward, type Upstream } from "./forward.js";
import { formatOf, inspectRequest } from "./request-info.js";
import type {
  GatewayOptions,
  GatewayRegistration,
  GatewayTenant,
  MeteredRequest,
  MeteredResponse,
  MeteringGateway,
  WireFormat,
} from "./types.js";

/**
 * The status of a refusal, per format: one the agent CLIs neither retry nor read as a lost
 * login. Measured against the real CLIs (gateway.e2e.test.ts keeps the two that matter):
 *
 * | status | Claude Code 2.1                         | Codex 0.171                 | Gemini CLI 0.61 |
 * | ------ | --------------------------------------- | --------------------------- | --------------- |
 * | 400    | 6 requests: retries, dropping betas     | 1 request, stops            | 1, stops        |
 * | 402    | 1 request, stops                        | 6 requests (retries)        | 1, stops        |
 * | 403    | 1, but "Failed to authenticate"         | 1, read as auth expired     | 1, auth expired |
 * | 429, 5xx | retries with backoff (7+ in 45 s)     | 429: 1; 5xx: 30 requests    | retries         |
 *
 * So Anthropic's own 402 `billing_error` for Claude, 400 for the rest (the AI SDK, under the
 * builtin agent and opencode, retries only 408, 409, 429 and 5xx).
 */
export const REFUSED_STATUS: Record<WireFormat, number> = {
  anthropic: 402,
  "openai-responses": 400,
  "openai-chat": 400,
  gemini: 400,
  unknown: 400,
};

/** A request body larger than this is refused with 413 (no model request is near it). */
const MAX_REQUEST_BYTES = 64 * 1024 * 1024;

interface Registration {
  tenant: GatewayTenant;
  upstreams: Array<Upstream & { path: string; key: string }>;
}

export async function startGateway(options: GatewayOptions = {}): Promise<MeteringGateway> {
  const registrations = new Map<string, Registration>();
  const agents: Agents = {
    http: new http.Agent({ keepAlive: true }),
    https: new https.Agent({ keepAlive: true }),
  };
  const report = (error: unknown, phase: "admit" | "record" | "forward", path: string) => {
    try {
      options.onError?.(error, { phase, path });
    } catch {
      // A logger that throws must not take the gateway down with it.
    }
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // The secret stays out of logs.
      report(error, "forward", (req.url ?? "").replace(/^\/m\/[^/?]+/, "/m/…"));
      if (!res.headersSent)
        send(res, providerError(formatOf(req.url ?? ""), 500, "loopd gateway error", "gateway_error"));
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const startedAt = Date.now();
    let clientGone = false;
    // Before anything is sent, a closed response means the client went away.
    res.once("close", () => {
      clientGone = true;
    });
    const route = parseRoute(req.url ?? "/");
    const registration = route ? registrations.get(route.secret) : undefined;
    const upstream = route && registration ? registration.upstreams[route.index] : undefined;
    if (!route || !registration || !upstream) {
      req.resume();
      send(res, FORBIDDEN);
      return;
    }
    const format = formatOf(route.path);
    const body = await readBody(req);
    if (body === "closed") return;
    if (body === "too large") {
      send(res, providerError(format, 413, "loopd gateway: request body too large", "request_too_large"));
      return;
    }
    const request = inspectRequest(req.method ?? "GET", route.path, route.query, body);
    const { tenant } = registration;

    let admission: Awaited<ReturnType<GatewayTenant["admit"]>>;
    try {
      admission = await tenant.admit(request);
    } catch (error) {
      report(error, "admit", request.path);
      send(res, providerError(format, 500, "loopd gateway: admission failed", "gateway_error"));
      return;
    }
    if (!admission.ok) {
      send(
        res,
        providerError(
          format,
          REFUSED_STATUS[format],
          `${admission.code}: ${admission.message}`,
          admission.code,
        ),
      );
      return;
    }

    const record = (response: MeteredResponse) => {
      // Asynchronous and caught: a tenant that throws (sync or async) must not crash the server.
      void Promise.resolve()
        .then(() => tenant.record(request, response))
        .catch((error: unknown) => report(error, "record", request.path));
    };
    if (clientGone) {
      // The client went away while the tenant decided: nothing was forwarded.
      record(closedEarly(request, startedAt));
      return;
    }
    forward({
      res,
      rawHeaders: req.rawHeaders,
      body,
      upstream,
      target: `${route.path || "/"}${route.query ? `?${route.query}` : ""}`,
      request,
      startedAt,
      agents,
      done: record,
      onForwardError: (error) => report(error, "forward", request.path),
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    port,
    register(tenant, upstreamUrls): GatewayRegistration {
      const upstreams = upstreamUrls.map(parseUpstream);
      const secret = randomBytes(32).toString("base64url");
      registrations.set(secret, { tenant, upstreams });
      return {
        baseUrl(upstream) {
          const key = parseUpstream(upstream).key;
          const index = upstreams.findIndex((candidate) => candidate.key === key);
          if (index === -1)
            throw new Error(`loopd gateway: ${upstream} is not one of this registration's upstreams`);
          return `http://127.0.0.1:${port}/m/${secret}/${index}${upstreams[index]!.path}`;
        },
        close() {
          registrations.delete(secret);
        },
      };
    },
    async close() {
      registrations.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}

function parseRoute(url: string): { secret: string; index: number; path: string; query: string } | null {
  const queryAt = url.indexOf("?");
  const pathname = queryAt === -1 ? url : url.slice(0, queryAt);
  const match = /^\/m\/([A-Za-z0-9_-]{43})\/(\d{1,4})(\/.*)?$/.exec(pathname);
  if (!match) return null;
  return {
    secret: match[1]!,
    index: Number(match[2]),
    path: match[3] ?? "",
    query: queryAt === -1 ? "" : url.slice(queryAt + 1),
  };
}

function parseUpstream(raw: string): Upstream & { path: string; key: string } {
  const url = new URL(raw);
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new Error(`loopd gateway: upstream ${raw} is not an http(s) URL`);
  const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
  const path = url.pathname.replace(/\/+$/, "");
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  return { protocol: url.protocol, hostname, port, path, key: `${url.protocol}//${hostname}:${port}${path}` };
}

function closedEarly(request: MeteredRequest, startedAt: number): MeteredResponse {
  return {
    status: 499,
    model: request.model,
    usage: null,
    durationMs: Date.now() - startedAt,
    aborted: true,
  };
}

function send(res: ServerResponse, answer: GatewayAnswer): void {
  if (res.destroyed) return;
  const text = JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

/** The whole request body, unless it is over the size limit or the client went away first. */
function readBody(req: IncomingMessage): Promise<Buffer | "too large" | "closed"> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(size > MAX_REQUEST_BYTES ? "too large" : Buffer.concat(chunks, size)));
    req.on("close", () => {
      if (!req.complete) resolve("closed");
    });
    req.on("error", (error) => {
      if (!req.complete) resolve("closed");
      else reject(error);
    });
  });
}
