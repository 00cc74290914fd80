/**
 * One HTTP(S) request with node:http, for a CLI command's short calls to a loopd daemon. Not the
 * global fetch: loading and tearing down Node's fetch (undici, its parser compiled from
 * WebAssembly) added ≈ 100 ms to every command a running daemon answered — `loopd ls` with
 * `serve` up took longer than reading the store itself. node:http is part of Node's snapshot.
 *
 * The answer keeps the shape of a fetch Response where the client uses one: `status`, `ok`,
 * `text()`, `json()`, and `body` as an async iterable of chunks (a followed event stream).
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";

export interface HttpAnswer {
  status: number;
  ok: boolean;
  headers: IncomingMessage["headers"];
  /** The body as it arrives; read it once, by this or by `text()` / `json()`. */
  body: AsyncIterable<Uint8Array>;
  text(): Promise<string>;
  json(): Promise<unknown>;
}

export interface HttpRequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Aborts the request, or the body still arriving; the error's `cause` is the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Resolves once the response's status and headers are in; rejects with Node's network error
 * (`code`: ECONNREFUSED, ECONNRESET, …) or, on abort, an AbortError whose `cause` is the reason.
 */
export function request(url: string | URL, init: HttpRequestInit = {}): Promise<HttpAnswer> {
  const target = typeof url === "string" ? new URL(url) : url;
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const outgoing = send(
      target,
      {
        method: init.method ?? "GET",
        headers: {
          ...init.headers,
          ...(init.body !== undefined ? { "content-length": String(Buffer.byteLength(init.body)) } : {}),
        },
        ...(init.signal ? { signal: init.signal } : {}),
      },
      (response) => {
        const status = response.statusCode ?? 0;
        const text = async () => {
          const chunks: Buffer[] = [];
          for await (const chunk of response) chunks.push(chunk as Buffer);
          return Buffer.concat(chunks).toString("utf8");
        };
        resolve({
          status,
          ok: status >= 200 && status < 300,
          headers: response.headers,
          body: response,
          text,
          json: async () => JSON.parse(await text()) as unknown,
        });
      },
    );
    outgoing.once("error", reject);
    outgoing.end(init.body);
  });
}
