/**
 * Getting pinged, end to end: `loopd serve` runs a routine that fails; within seconds a
 * Standard Webhooks receiver (verifying with the reference implementation), a Slack-format
 * endpoint and an SMTP server each receive one message about it, and `loopd deliveries`
 * shows them delivered.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SMTPServer } from "smtp-server";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json, runCli } from "./helpers/cli.js";
import { type LoopdProcess, spawnLoopd } from "./helpers/process.js";
import { waitUntil } from "./helpers/wait.js";

const SECRET = `whsec_${Buffer.from("another-secret-32-bytes-long-ok!").toString("base64")}`;

interface Received {
  webhooks: Array<{ id: string; body: Record<string, unknown> }>;
  slack: Array<Record<string, unknown>>;
  mails: string[];
}

describe("notifications", () => {
  const received: Received = { webhooks: [], slack: [], mails: [] };
  let cwd: string;
  let env: Record<string, string>;
  let daemon: LoopdProcess;
  let http: Server;
  let smtp: SMTPServer;

  beforeAll(async () => {
    http = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on("end", () => {
        if (req.url === "/webhook") {
          const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
          try {
            const verified = new Webhook(SECRET).verify(body, headers) as Record<string, unknown>;
            // Receivers dedupe on the event id: a retried delivery has no second effect.
            if (!received.webhooks.some((hook) => hook.id === headers["webhook-id"])) {
              received.webhooks.push({ id: headers["webhook-id"]!, body: verified });
            }
            res.writeHead(204).end();
          } catch {
            res.writeHead(401).end();
          }
          return;
        }
        received.slack.push(JSON.parse(body) as Record<string, unknown>);
        res.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS"],
      onData(stream, _session, callback) {
        let mail = "";
        stream.on("data", (chunk: Buffer) => {
          mail += chunk.toString();
        });
        stream.on("end", () => {
          received.mails.push(mail);
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", resolve));
    const httpPort = (http.address() as AddressInfo).port;
    const smtpPort = (smtp.server.address() as AddressInfo).port;

    cwd = mkdtempSync(join(tmpdir(), "loopd-notify-"));
    writeFileSync(
      join(cwd, "loopd.yaml"),
      `channels:
  hook: { type: webhook, url: "http://127.0.0.1:${httpPort}/webhook", secret: "${SECRET}" }
  team: { type: slack, url: "http://127.0.0.1:${httpPort}/slack" }
  mail: { type: email, to: ops@example.com, from: loopd@example.com, smtp: "smtp://127.0.0.1:${smtpPort}" }
routines:
  - name: broken
    command: 'echo "tests red" >&2; exit 1'
    notify: { to: [hook, team, mail], on: [failure] }
`,
    );
    env = { LOOPD_HOME: join(cwd, ".loopd") };
    daemon = spawnLoopd(["serve", "--port", "0", "-f", "loopd.yaml"], { env, cwd });
    await daemon.waitFor((event) => event.type === "ready");
  });
  afterAll(async () => {
    await daemon?.stop();
    http?.close();
    smtp?.close();
    rmSync(cwd, { recursive: true, force: true });
  });

  it("a failing routine pings a signed webhook, Slack and email within seconds", async () => {
    const started = Date.now();
    expect((await runCli(["run", "broken"], { env, cwd })).code).toBe(0);
    await waitUntil(
      () => received.webhooks.length > 0 && received.slack.length > 0 && received.mails.length > 0,
      "the webhook, Slack and email notifications",
      { everyMs: 100, state: () => received },
    );
    expect(Date.now() - started).toBeLessThan(15_000);

    expect(received.webhooks).toHaveLength(1);
    expect(received.webhooks[0]!.id).toMatch(/^evt_/);
    expect(received.webhooks[0]!.body).toMatchObject({ type: "run.failed", routine: "broken" });
    expect(JSON.stringify(received.slack[0])).toContain("broken");
    expect(received.mails[0]).toContain("Subject: [loopd] broken failed");
    expect(received.mails[0]).toContain("ops@example.com");

    const deliveries = json<Array<{ channel: string; status: string }>>(
      await runCli(["deliveries", "--json"], { env, cwd }),
    );
    expect(deliveries.map((delivery) => [delivery.channel, delivery.status]).sort()).toEqual([
      ["hook", "delivered"],
      ["mail", "delivered"],
      ["team", "delivered"],
    ]);
  });
});
