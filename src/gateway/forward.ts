/**
 * Forwards one admitted request to its upstream and streams the answer back unchanged, chunk by
 * chunk with backpressure, while the meter reads the usage from a copy. Calls `done` exactly
 * once, when the client's response is closed: finished, cut by the client, or cut by the
 * upstream.
 *
 * Headers go both ways unchanged (auth included: API keys, OAuth bearer tokens, anthropic-*)
 * except the hop-by-hop ones, `host` (the upstream's own), `content-length` (recomputed from
 * the held body), `expect` (the body is already here) and `accept-encoding`, which becomes
 * `identity` so the usage can be read without decoding.
 *
 * Upstream connections are kept alive; a request whose reused connection turns out closed
 * (ECONNRESET before any answer: it never reached the upstream) is sent once more on a new one.
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import { providerError } from "./errors.js";
import { responseMeter } from "./meter.js";
import type { MeteredRequest, MeteredResponse } from "./types.js";

export interface Upstream {
  protocol: "http:" | "https:";
  hostname: string;
  port: number;
}

export interface Agents {
  http: http.Agent;
  https: https.Agent;
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);
const NOT_FORWARDED = new Set([...HOP_BY_HOP, "host", "content-length", "expect", "accept-encoding"]);

/** A status for a request whose client went away before any answer came (nginx's convention). */
export const CLIENT_CLOSED = 499;

export function forward(options: {
  res: ServerResponse;
  rawHeaders: string[];
  body: Buffer;
  upstream: Upstream;
  /** Path and query on the upstream. */
  target: string;
  request: MeteredRequest;
  startedAt: number;
  agents: Agents;
  done(response: MeteredResponse): void;
  onForwardError(error: unknown): void;
}): void {
  const { res, upstream, request } = options;
  let status = CLIENT_CLOSED;
  let aborted = false;
  let meter: ReturnType<typeof responseMeter> | null = null;

  const headers = requestHeaders(options.rawHeaders);
  const secure = upstream.protocol === "https:";
  // With headers given as a raw list, Node adds no Host of its own.
  const host = upstream.hostname.includes(":") ? `[${upstream.hostname}]` : upstream.hostname;
  const defaultPort = secure ? 443 : 80;
  headers.push(
    "host",
    upstream.port === defaultPort ? host : `${host}:${upstream.port}`,
    "content-length",
    String(options.body.length),
    "accept-encoding",
    "identity",
  );
  let outgoing: http.ClientRequest;
  const send = (retry: boolean) => {
    outgoing = (secure ? https : http).request({
      protocol: upstream.protocol,
      hostname: upstream.hostname,
      port: upstream.port,
      method: request.method,
      path: options.target,
      headers,
      agent: secure ? options.agents.https : options.agents.http,
    });
    outgoing.on("socket", (socket) => socket.setNoDelay(true));
    outgoing.on("response", onResponse);
    outgoing.on("error", (error: NodeJS.ErrnoException) => {
      if (res.destroyed || res.writableEnded) return;
      if (res.headersSent) {
        aborted = true;
        res.destroy();
        return;
      }
      // A kept-alive socket the upstream closed as it was reused: the request never got there.
      if (retry && outgoing.reusedSocket && error.code === "ECONNRESET") {
        send(false);
        return;
      }
      options.onForwardError(error);
      const answer = providerError(
        request.format,
        502,
        `loopd gateway: the upstream ${upstream.hostname}:${upstream.port} could not be reached (${error.message})`,
        "upstream_unreachable",
      );
      status = answer.status;
      res.writeHead(answer.status, { "content-type": "application/json" });
      res.end(JSON.stringify(answer.body));
    });
    outgoing.end(options.body);
  };

  const onResponse = (incoming: IncomingMessage) => {
    status = incoming.statusCode ?? 502;
    if (res.destroyed) {
      incoming.destroy();
      return;
    }
    meter = responseMeter(
      request.format,
      String(incoming.headers["content-type"] ?? ""),
      String(incoming.headers["content-encoding"] ?? ""),
    );
    res.writeHead(status, incoming.statusMessage, responseHeaders(incoming.rawHeaders));
    // A stream's headers go out now, not with its first event (which may be seconds away).
    if (incoming.headers["content-length"] === undefined) res.flushHeaders();
    let corked = false;
    incoming.on("data", (chunk: Buffer) => {
      meter?.write(chunk);
      // The chunks of one socket read arrive in one tick (an SSE event each): one write for all.
      if (!corked) {
        corked = true;
        res.cork();
        process.nextTick(() => {
          corked = false;
          res.uncork();
        });
      }
      if (!res.write(chunk)) {
        incoming.pause();
        res.once("drain", () => incoming.resume());
      }
    });
    incoming.on("end", () => res.end());
    incoming.on("error", () => {});
    incoming.on("close", () => {
      // The upstream went away mid-answer: the client must see a cut, not a complete answer.
      if (!incoming.complete && !res.writableEnded) {
        aborted = true;
        res.destroy();
      }
    });
  };

  res.on("close", () => {
    if (!res.writableFinished) {
      aborted = true;
      outgoing.destroy();
    }
    const finished = meter?.end() ?? Promise.resolve();
    void finished.then(() => {
      options.done({
        status,
        model: meter?.usage.model() ?? request.model,
        usage: meter?.usage.usage() ?? null,
        durationMs: Date.now() - options.startedAt,
        aborted,
      });
    });
  });

  send(true);
}

/** The client's headers minus those that belong to one hop (and those named in `connection`). */
function requestHeaders(raw: string[]): string[] {
  const named = connectionTokens(raw);
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!NOT_FORWARDED.has(name) && !named.has(name)) out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

function responseHeaders(raw: string[]): string[] {
  const named = connectionTokens(raw);
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!HOP_BY_HOP.has(name) && !named.has(name)) out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

function connectionTokens(raw: string[]): Set<string> {
  const tokens = new Set<string>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== "connection") continue;
    for (const token of raw[i + 1]!.split(",")) tokens.add(token.trim().toLowerCase());
  }
  return tokens;
}
