/** Discord webhook messages, posted to a real loopback receiver. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { NotificationEvent } from "../event.js";
import { deliverDiscord, discordMessage } from "./discord.js";

const event: NotificationEvent = {
  id: "evt_d1",
  type: "run.timed_out",
  at: "2026-03-01T09:00:00.000Z",
  routine: "nightly-deps",
  runId: 7,
  payload: {
    summary: "Upgraded 3 of 5 packages before the timeout. @everyone",
    error: { code: "LOOPD_RUN_TIMEOUT", message: "timed out after 1h" },
    durationMs: 3_600_000,
    attempt: 2,
  },
};

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

async function capture(status: number) {
  const bodies: unknown[] = [];
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      bodies.push(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      res.writeHead(status).end(status === 204 ? undefined : '{"message": "Too Many Requests"}');
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/webhooks/1/x`, bodies };
}

describe("discord channel", () => {
  it("posts content and one embed coloured by severity", async () => {
    const { url, bodies } = await capture(204);
    expect(await deliverDiscord({ type: "discord", url }, event)).toEqual({ ok: true });
    expect(bodies).toEqual([
      {
        content: "⏱️ nightly-deps timed out",
        embeds: [
          {
            title: "nightly-deps timed out",
            description: "Upgraded 3 of 5 packages before the timeout. @everyone",
            color: 0xd73a49,
            timestamp: "2026-03-01T09:00:00.000Z",
            fields: [
              { name: "Error", value: "LOOPD_RUN_TIMEOUT: timed out after 1h", inline: false },
              { name: "Run", value: "#7, attempt 2", inline: true },
              { name: "Duration", value: "1h", inline: true },
            ],
            footer: { text: "loopd · run.timed_out" },
          },
        ],
        // The agent's @everyone stays text.
        allowed_mentions: { parse: [] },
      },
    ]);
  });

  it("links the embed title to the run when there is a URL", () => {
    const message = discordMessage({ ...event, payload: { url: "http://127.0.0.1:7077/runs/7" } });
    expect(message.embeds[0]?.url).toBe("http://127.0.0.1:7077/runs/7");
  });

  it("retries when Discord rate-limits", async () => {
    const { url } = await capture(429);
    expect(await deliverDiscord({ type: "discord", url }, event)).toEqual({
      ok: false,
      retryable: true,
      error: 'HTTP 429: {"message": "Too Many Requests"}',
    });
  });
});
