/**
 * loopd's side of a sandbox's filtered network: unix sockets in the attempt's dir, which the
 * launcher inside (launcher.ts) pipes its loopback ports to. One socket per allowed loopback
 * endpoint (the model's, later the metering gateway's), connected through to the real
 * host:port; and one filtering HTTP proxy (CONNECT for HTTPS, absolute URLs for plain HTTP)
 * that reaches only the allowed hosts. Nothing else leaves the sandbox: it has no other
 * interface than its own loopback.
 *
 * Written by hand on node:http and node:net (~100 lines): the npm CONNECT proxies are either
 * full MITM proxies or unmaintained, and this needs only an allow-list.
 */
import { createServer as createHttpServer, request as httpRequest } from "node:http";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";

export interface LoopbackEndpoint {
  host: string;
  port: number;
}

export interface NetworkBridge {
  /** Ports the launcher listens on inside → socket file names in the attempt's dir. */
  forwards: Array<{ port: number; socket: string }>;
  /** The proxy's port inside (HTTP_PROXY / HTTPS_PROXY point at 127.0.0.1:<port>). */
  proxyPort: number;
  close(): Promise<void>;
}

/** `github.com`, `*.github.com` (subdomains), `host:port`: does `host:port` match one? */
export function hostAllowed(allowed: readonly string[], host: string, port: number): boolean {
  const name = host.replace(/^\[|\]$/g, "").toLowerCase();
  return allowed.some((entry) => {
    const [pattern = "", onlyPort] = entry.toLowerCase().split(":");
    if (onlyPort !== undefined && Number(onlyPort) !== port) return false;
    if (pattern.startsWith("*.")) return name.endsWith(pattern.slice(1));
    return name === pattern;
  });
}

/** Starts the bridge's sockets in `dir`; `denied` hears of every refused destination. */
export async function startNetworkBridge(
  dir: string,
  endpoints: readonly LoopbackEndpoint[],
  hosts: readonly string[],
  denied: (destination: string) => void,
): Promise<NetworkBridge> {
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  };
  const forwards: NetworkBridge["forwards"] = [];
  for (const endpoint of uniqueByPort(endpoints)) {
    const socket = `fwd-${endpoint.port}.sock`;
    const server = createServer((inbound) => {
      track(inbound);
      const outbound = connect(endpoint.port, endpoint.host);
      track(outbound);
      inbound.pipe(outbound).pipe(inbound);
      outbound.on("close", () => inbound.destroy());
      inbound.on("close", () => outbound.destroy());
    });
    await listen(server, join(dir, socket));
    servers.push(server);
    forwards.push({ port: endpoint.port, socket });
  }
  const proxy = filteringProxy(hosts, denied, track);
  await listen(proxy, join(dir, "proxy.sock"));
  servers.push(proxy);
  let proxyPort = 3128;
  while (forwards.some((forward) => forward.port === proxyPort)) proxyPort += 1;
  forwards.push({ port: proxyPort, socket: "proxy.sock" });
  return {
    forwards,
    proxyPort,
    async close() {
      for (const socket of sockets) socket.destroy();
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    },
  };
}

function filteringProxy(
  hosts: readonly string[],
  denied: (destination: string) => void,
  track: (socket: Socket) => void,
): Server {
  const server = createHttpServer((req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? "");
    } catch {
      res.writeHead(400).end("loopd sandbox proxy: absolute URLs only\n");
      return;
    }
    const port = Number(url.port) || 80;
    if (url.protocol !== "http:" || !hostAllowed(hosts, url.hostname, port)) {
      denied(`${url.hostname}:${port}`);
      res.writeHead(403).end(`loopd sandbox: ${url.hostname} is not in sandbox.network\n`);
      return;
    }
    const upstream = httpRequest(
      {
        host: url.hostname,
        port,
        method: req.method,
        path: `${url.pathname}${url.search}`,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  server.on("connect", (req, client: Socket, head: Buffer) => {
    track(client);
    const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(req.url ?? "");
    const host = match?.[1] ?? "";
    const port = Number(match?.[2] ?? 0);
    if (!match || !hostAllowed(hosts, host, port)) {
      denied(req.url ?? "?");
      client.end("HTTP/1.1 403 Forbidden\r\n\r\n");
      return;
    }
    const upstream = connect(port, host, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client).pipe(upstream);
    });
    track(upstream);
    upstream.on("error", () => client.end("HTTP/1.1 502 Bad Gateway\r\n\r\n"));
    upstream.on("close", () => client.destroy());
  });
  return server;
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve());
  });
}

function uniqueByPort(endpoints: readonly LoopbackEndpoint[]): LoopbackEndpoint[] {
  const byPort = new Map<number, LoopbackEndpoint>();
  for (const endpoint of endpoints) if (!byPort.has(endpoint.port)) byPort.set(endpoint.port, endpoint);
  return [...byPort.values()];
}
