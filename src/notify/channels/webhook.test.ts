/**
 * Webhook delivery against a real loopback receiver: signatures checked with the Standard
 * Webhooks reference implementation, and the retry classification of each way a
 * receiver can answer (or not).
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it } from "vitest";
import type { NotificationEvent } from "../event.js";
import { deliverWebhook } from "./webhook.js";

const SECRET = `whsec_${Buffer.from("a test secret of 32 bytes length").toString("base64")}`;

const event: NotificationEvent = {
  id: "evt_0a1b2c",
  type: "run.failed",
  at: "2026-03-01T09:00:00.000Z",
  routine: "babysit-prs",
  runId: 42,
  payload: { error: { code: "LOOPD_RUN_FAILED", message: "exit 1" }, costUsd: 0.42 },
};

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A receiver that records each request and answers with `respond`. */
async function receiver(respond: (res: ServerResponse, received: Received) => void) {
  const requests: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const received = { headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
      requests.push(received);
      respond(res, received);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, requests };
}

function header(headers: IncomingHttpHeaders, name: string): string {
  return String(headers[name] ?? "");
}

describe("webhook channel", () => {
  it("posts the event signed so the reference implementation verifies it", async () => {
    const secret = SECRET;
    const { url, requests } = await receiver((res, { headers, body }) => {
      try {
        new Webhook(secret).verify(body, {
          "webhook-id": header(headers, "webhook-id"),
          "webhook-timestamp": header(headers, "webhook-timestamp"),
          "webhook-signature": header(headers, "webhook-signature"),
        });
        res.writeHead(204).end();
      } catch (error) {
        res.writeHead(401).end(String(error));
      }
    });

    const result = await deliverWebhook({ type: "webhook", url, secret }, event);

    expect(result).toEqual({ ok: true });
    const [request] = requests;
    expect(JSON.parse(request!.body)).toEqual(event);
    expect(request!.headers["content-type"]).toBe("application/json");
    expect(request!.headers["webhook-id"]).toBe(event.id);
    expect(Number(request!.headers["webhook-timestamp"])).toBeCloseTo(Date.now() / 1000, -1);
  });

  it("fails verification under a different secret, so the signature really binds the secret", async () => {
    const { url, requests } = await receiver((res) => res.writeHead(200).end());
    await deliverWebhook({ type: "webhook", url, secret: SECRET }, event);
    const other = `whsec_${Buffer.from("another secret, also 32 bytes!!!").toString("base64")}`;
    const { headers, body } = requests[0]!;
    expect(() =>
      new Webhook(other).verify(body, {
        "webhook-id": header(headers, "webhook-id"),
        "webhook-timestamp": header(headers, "webhook-timestamp"),
        "webhook-signature": header(headers, "webhook-signature"),
      }),
    ).toThrow();
  });

  it("sends id and timestamp but no signature without a secret", async () => {
    const { url, requests } = await receiver((res) => res.writeHead(200).end("ok"));
    expect(await deliverWebhook({ type: "webhook", url }, event)).toEqual({ ok: true });
    const { headers } = requests[0]!;
    expect(headers["webhook-id"]).toBe(event.id);
    expect(headers["webhook-timestamp"]).toMatch(/^\d{10}$/);
    expect(headers["webhook-signature"]).toBeUndefined();
  });

  it("keeps the same webhook-id on a retry so receivers can dedupe", async () => {
    const { url, requests } = await receiver((res) => res.writeHead(200).end());
    await deliverWebhook({ type: "webhook", url }, event);
    await deliverWebhook({ type: "webhook", url }, event);
    expect(requests.map((request) => request.headers["webhook-id"])).toEqual([event.id, event.id]);
  });

  it("retries a 500 and reports the status and body", async () => {
    const { url } = await receiver((res) => res.writeHead(500).end("database is down"));
    expect(await deliverWebhook({ type: "webhook", url }, event)).toEqual({
      ok: false,
      retryable: true,
      error: "HTTP 500: database is down",
    });
  });

  it("retries 408 and 429", async () => {
    for (const status of [408, 429]) {
      const { url } = await receiver((res) => res.writeHead(status).end());
      expect(await deliverWebhook({ type: "webhook", url }, event)).toEqual({
        ok: false,
        retryable: true,
        error: `HTTP ${status}`,
      });
    }
  });

  it("does not retry a 400, and keeps only an excerpt of a long body", async () => {
    const { url } = await receiver((res) => res.writeHead(400).end(`invalid payload ${"x".repeat(1000)}`));
    const result = await deliverWebhook({ type: "webhook", url }, event);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.retryable).toBe(false);
    expect(result.error).toMatch(/^HTTP 400: invalid payload x+…$/);
    expect(result.error.length).toBeLessThan(250);
  });

  it("does not follow a redirect", async () => {
    const { url } = await receiver((res) =>
      res.writeHead(301, { location: "https://example.test/hook" }).end(),
    );
    expect(await deliverWebhook({ type: "webhook", url }, event)).toEqual({
      ok: false,
      retryable: false,
      error: "HTTP 301: redirected to https://example.test/hook",
    });
  });

  it("gives up on a receiver that never answers after the timeout, retryably", async () => {
    const { url } = await receiver(() => {}); // reads the request, never responds
    const started = Date.now();
    const result = await deliverWebhook({ type: "webhook", url }, event, { timeoutMs: 300 });
    expect(result).toEqual({ ok: false, retryable: true, error: "no response within 300ms" });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("retries when nothing listens, without putting the URL in the error", async () => {
    const { url } = await receiver((res) => res.writeHead(200).end());
    const server = servers.pop()!;
    await new Promise((resolve) => server.close(resolve));
    const result = await deliverWebhook({ type: "webhook", url }, event);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.retryable).toBe(true);
    expect(result.error).toMatch(/ECONNREFUSED/);
    expect(result.error).not.toContain("/hook");
  });
});
