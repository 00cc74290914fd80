/** `deliver`: one entry point routing an event to its channel type, never throwing. */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { deliver } from "./channels.js";
import type { NotificationEvent } from "./event.js";

const event: NotificationEvent = {
  id: "evt_r1",
  type: "run.skipped",
  at: "2026-03-01T09:00:00.000Z",
  routine: "babysit-prs",
  runId: 9,
  payload: { reason: "overlap: previous run still running" },
};

describe("deliver", () => {
  it("routes a webhook channel to a signed POST", async () => {
    const secret = `whsec_${Buffer.from("routing test secret, 32 bytes!!!").toString("base64")}`;
    const verified: unknown[] = [];
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => {
        body += chunk.toString("utf8");
      });
      req.on("end", () => {
        verified.push(new Webhook(secret).verify(body, req.headers as Record<string, string>));
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      expect(await deliver({ type: "webhook", url, secret }, event)).toEqual({ ok: true });
      expect(verified).toEqual([event]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("routes a command channel to the shell", async () => {
    const dir = await mkdtemp(join(tmpdir(), "loopd-deliver-"));
    try {
      const result = await deliver({ type: "command", command: `cat > '${dir}/event.json'` }, event);
      expect(result).toEqual({ ok: true });
      expect(JSON.parse(await readFile(join(dir, "event.json"), "utf8"))).toEqual(event);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("turns an unexpected throw into a retryable failure", async () => {
    const fetchThatThrows = (() => {
      throw new Error("socket exploded");
    }) as typeof fetch;
    expect(
      await deliver({ type: "slack", url: "http://127.0.0.1:9/" }, event, { fetch: fetchThatThrows }),
    ).toEqual({ ok: false, retryable: true, error: "socket exploded" });
  });
});
