import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CheckSpec } from "../domain/check.js";
import { evaluateHttpCheck } from "./http.js";

type HttpCheck = Extract<CheckSpec, { kind: "http" }>;

/** A local server with one behaviour per path. */
const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
  "/ok": (_, res) => res.writeHead(200, { "content-type": "text/plain" }).end("all systems operational"),
  "/down": (_, res) => res.writeHead(503).end("maintenance"),
  "/moved": (_, res) => res.writeHead(302, { location: "/ok" }).end(),
  "/echo-headers": (req, res) => res.writeHead(200).end(JSON.stringify(req.headers)),
  "/method": (req, res) => res.writeHead(req.method === "POST" ? 201 : 405).end(),
  "/stalls": (_, res) => {
    // Answers the headers and a first chunk, then nothing more.
    res.writeHead(200, { "content-type": "text/plain" });
    res.write("starting…");
  },
  "/never": () => {
    // Accepts the request and never answers.
  },
  "/endless": (_, res) => {
    // Streams forever: a check must stop reading, not buffer a download.
    res.writeHead(200, { "content-type": "text/plain" });
    const chunk = "x".repeat(64 * 1024);
    const write = () => {
      while (!res.destroyed && res.write(chunk)) {}
      if (!res.destroyed) res.once("drain", write);
    };
    write();
  },
};

let server: Server;
let base: string;
const sockets = new Set<import("node:net").Socket>();

beforeAll(async () => {
  server = createServer((req, res) => {
    const route = routes[new URL(req.url ?? "/", "http://x").pathname];
    if (route) route(req, res);
    else res.writeHead(404).end("not found");
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
});

const check = (path: string, extra: Partial<HttpCheck> = {}): HttpCheck => ({
  kind: "http",
  url: `${base}${path}`,
  method: "GET",
  status: "2xx",
  ...extra,
});
const evaluate = (spec: HttpCheck, options: { timeoutMs?: number; signal?: AbortSignal } = {}) =>
  evaluateHttpCheck(spec, { signal: options.signal ?? new AbortController().signal, ...options });

describe("evaluateHttpCheck", () => {
  it("is satisfied by a 200 when 2xx is expected", async () => {
    const result = await evaluate(check("/ok"));
    expect(result.status).toBe("satisfied");
    expect(result.summary).toBe(`GET ${base}/ok answered 200`);
    expect(result.evidence).toMatchObject({ url: `${base}/ok`, method: "GET", status: 200 });
    expect(result.evidence.bodyStart).toBeUndefined();
  });

  it("is unsatisfied by a 503, and says what it expected", async () => {
    const result = await evaluate(check("/down"));
    expect(result.status).toBe("unsatisfied");
    expect(result.summary).toContain("answered 503, expected 2xx");
    expect(result.evidence.status).toBe(503);
    expect(result.error).toBeUndefined();
  });

  it("matches a status class or an exact code", async () => {
    expect((await evaluate(check("/down", { status: "5xx" }))).status).toBe("satisfied");
    expect((await evaluate(check("/ok", { status: "5xx" }))).status).toBe("unsatisfied");
    expect((await evaluate(check("/down", { status: 503 }))).status).toBe("satisfied");
    expect((await evaluate(check("/down", { status: 500 }))).status).toBe("unsatisfied");
    expect((await evaluate(check("/missing", { status: "4xx" }))).status).toBe("satisfied");
  });

  it("follows redirects to the final answer", async () => {
    const result = await evaluate(check("/moved", { contains: "operational" }));
    expect(result.status).toBe("satisfied");
    expect(result.evidence.status).toBe(200);
  });

  it("looks for text in the body with `contains`", async () => {
    const found = await evaluate(check("/ok", { contains: "operational" }));
    expect(found.status).toBe("satisfied");
    expect(found.evidence.bodyStart).toBe("all systems operational");
    const missing = await evaluate(check("/ok", { contains: "degraded" }));
    expect(missing.status).toBe("unsatisfied");
    expect(missing.summary).toContain('the body does not contain "degraded"');
  });

  it("matches the body against a regular expression with `matches`", async () => {
    expect((await evaluate(check("/ok", { matches: "^all .* operational$" }))).status).toBe("satisfied");
    const result = await evaluate(check("/ok", { matches: "\\bdown\\b" }));
    expect(result.status).toBe("unsatisfied");
    expect(result.summary).toContain("the body does not match /\\bdown\\b/");
  });

  it("lists every unmet expectation", async () => {
    const result = await evaluate(check("/down", { contains: "operational" }));
    expect(result.summary).toContain("answered 503, expected 2xx; the body does not contain");
  });

  it("sends the method and the headers given", async () => {
    expect((await evaluate(check("/method", { method: "POST", status: 201 }))).status).toBe("satisfied");
    const echoed = await evaluate(
      check("/echo-headers", { headers: { "x-probe": "yes" }, contains: "x-probe" }),
    );
    expect(echoed.status).toBe("satisfied");
    expect(echoed.evidence.bodyStart).toContain('"user-agent":"loopd-check"');
  });

  it("reports a refused connection as an error, not as down", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const result = await evaluate({ ...check("/"), url: `http://127.0.0.1:${port}/` });
    expect(result.status).toBe("error");
    expect(result.error?.code).toBe("LOOPD_CHECK_ERROR");
    expect(result.error?.message).toContain(`GET http://127.0.0.1:${port}/`);
    expect(result.evidence.error).toBeTruthy();
  });

  it("gives up on a server that never answers after the timeout", async () => {
    const started = Date.now();
    const result = await evaluate(check("/never"), { timeoutMs: 200 });
    expect(result.status).toBe("error");
    expect(result.error?.code).toBe("LOOPD_CHECK_ERROR");
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("gives up on a body that stalls after the headers", async () => {
    const result = await evaluate(check("/stalls", { contains: "done" }), { timeoutMs: 300 });
    expect(result.status).toBe("error");
    expect(result.error?.code).toBe("LOOPD_CHECK_ERROR");
  });

  it("stops when the run is cancelled", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("canceled")), 100);
    const result = await evaluate(check("/never"), { signal: controller.signal });
    expect(result.status).toBe("error");
    expect(result.error?.code).toBe("LOOPD_CHECK_ERROR");
  });

  it("reads at most 1 MiB of an endless body and keeps 300 characters as evidence", async () => {
    const result = await evaluate(check("/endless", { contains: "needle" }));
    expect(result.status).toBe("unsatisfied");
    expect(result.evidence.bodyStart).toBe("x".repeat(300));
  });
});
