/** Slack incoming-webhook messages, posted to a real loopback receiver. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { NotificationEvent } from "../event.js";
import { deliverSlack, slackMessage } from "./slack.js";

const event: NotificationEvent = {
  id: "evt_s1",
  type: "run.failed",
  at: "2026-03-01T09:00:00.000Z",
  routine: "babysit-prs",
  runId: 42,
  payload: {
    summary: "Could not rebase <@U123> & friends' PRs",
    error: { code: "LOOPD_RUN_FAILED", message: "exit 1" },
    costUsd: 0.42,
    durationMs: 61_000,
    url: "http://127.0.0.1:7077/runs/42",
  },
};

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

async function capture(status: number, reply: string) {
  const bodies: unknown[] = [];
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      bodies.push(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      res.writeHead(status).end(reply);
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T/B/X`, bodies };
}

describe("slack channel", () => {
  it("posts text and blocks that Slack's incoming webhook accepts", async () => {
    const { url, bodies } = await capture(200, "ok");
    expect(await deliverSlack({ type: "slack", url }, event)).toEqual({ ok: true });
    expect(bodies).toEqual([slackMessage(event)]);
  });

  it("reads as routine, outcome, summary, facts and a link", () => {
    const message = slackMessage(event);
    expect(message.text).toBe("❌ babysit-prs failed: Could not rebase <@U123> & friends' PRs");
    const [header, summary, facts, context] = message.blocks;
    expect(header).toEqual({
      type: "header",
      text: { type: "plain_text", text: "❌ babysit-prs failed", emoji: true },
    });
    // Escaped, so an agent's summary cannot mention anyone.
    expect(summary).toEqual({
      type: "section",
      text: { type: "mrkdwn", text: "Could not rebase &lt;@U123&gt; &amp; friends' PRs" },
    });
    expect(facts).toEqual({
      type: "section",
      fields: [
        { type: "mrkdwn", text: "*Error*\nLOOPD_RUN_FAILED: exit 1" },
        { type: "mrkdwn", text: "*Run*\n#42" },
        { type: "mrkdwn", text: "*Duration*\n1m1s" },
        { type: "mrkdwn", text: "*Cost*\n$0.42" },
      ],
    });
    expect(context).toEqual({
      type: "context",
      elements: [
        { type: "mrkdwn", text: "<http://127.0.0.1:7077/runs/42|View run>" },
        { type: "mrkdwn", text: "loopd · run.failed · 2026-03-01T09:00:00.000Z" },
      ],
    });
  });

  it("does not retry Slack refusing the payload", async () => {
    const { url } = await capture(400, "invalid_blocks");
    expect(await deliverSlack({ type: "slack", url }, event)).toEqual({
      ok: false,
      retryable: false,
      error: "HTTP 400: invalid_blocks",
    });
  });
});
