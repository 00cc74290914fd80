/** Email delivery to a real SMTP server (smtp-server) on loopback. */
import type { AddressInfo } from "node:net";
import { SMTPServer, type SMTPServerOptions } from "smtp-server";
import { afterEach, describe, expect, it } from "vitest";
import type { NotificationEvent } from "../event.js";
import { deliverEmail, emailMessage } from "./email.js";

const event: NotificationEvent = {
  id: "evt_e1",
  type: "run.failed",
  at: "2026-03-01T09:00:00.000Z",
  routine: "babysit-prs",
  runId: 42,
  payload: {
    summary: "Tests fail on main <since #17>",
    error: { code: "LOOPD_RUN_FAILED", message: "exit 1" },
    url: "http://127.0.0.1:7077/runs/42",
  },
};

interface Delivered {
  from: string;
  to: string[];
  raw: string;
}

let server: SMTPServer | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function smtp(options: Partial<SMTPServerOptions> = {}) {
  const delivered: Delivered[] = [];
  server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        delivered.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          raw: Buffer.concat(chunks).toString("utf8"),
        });
        callback();
      });
    },
    ...options,
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const { port } = server.server.address() as AddressInfo;
  return { smtpUrl: `smtp://127.0.0.1:${port}`, delivered };
}

describe("email channel", () => {
  it("sends a readable message to every recipient", async () => {
    const { smtpUrl, delivered } = await smtp();
    const result = await deliverEmail(
      { type: "email", to: ["dev@example.com", "ops@example.com"], from: "loopd@example.com", smtp: smtpUrl },
      event,
    );
    expect(result).toEqual({ ok: true });
    expect(delivered).toHaveLength(1);
    const [mail] = delivered;
    expect(mail!.from).toBe("loopd@example.com");
    expect(mail!.to).toEqual(["dev@example.com", "ops@example.com"]);
    expect(mail!.raw).toMatch(/^Subject: \[loopd\] babysit-prs failed\r?$/m);
    expect(mail!.raw).toMatch(/^To: dev@example.com, ops@example.com\r?$/m);
    expect(mail!.raw).toMatch(/^X-Loopd-Event-Id: evt_e1\r?$/im);
    expect(mail!.raw).toContain("Error: LOOPD_RUN_FAILED: exit 1");
    expect(mail!.raw).toContain("text/html");
  });

  it("escapes the agent's text in the HTML part", () => {
    const { subject, text, html } = emailMessage(event);
    expect(subject).toBe("[loopd] babysit-prs failed");
    expect(text.split("\n").slice(0, 3)).toEqual([
      "Tests fail on main <since #17>",
      "Error: LOOPD_RUN_FAILED: exit 1",
      "Run: #42",
    ]);
    expect(html).toContain("<p>Tests fail on main &lt;since #17&gt;</p>");
    expect(html).toContain('<a href="http://127.0.0.1:7077/runs/42">View run</a>');
  });

  it("does not retry a recipient the server rejects with 5xx", async () => {
    const { smtpUrl, delivered } = await smtp({
      onRcptTo(_address, _session, callback) {
        callback(Object.assign(new Error("5.1.1 no such mailbox"), { responseCode: 550 }));
      },
    });
    const result = await deliverEmail({ type: "email", to: "nobody@example.com", smtp: smtpUrl }, event);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.retryable).toBe(false);
    expect(result.error).toContain("no such mailbox");
    expect(delivered).toHaveLength(0);
  });

  it("retries a temporary 4xx rejection", async () => {
    const { smtpUrl } = await smtp({
      onRcptTo(_address, _session, callback) {
        callback(Object.assign(new Error("4.2.0 mailbox busy, try later"), { responseCode: 450 }));
      },
    });
    const result = await deliverEmail({ type: "email", to: "dev@example.com", smtp: smtpUrl }, event);
    expect(result).toMatchObject({ ok: false, retryable: true });
  });

  it("retries when no SMTP server is listening", async () => {
    const { smtpUrl } = await smtp();
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    const result = await deliverEmail({ type: "email", to: "dev@example.com", smtp: smtpUrl }, event, {
      timeoutMs: 2000,
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.retryable).toBe(true);
    expect(result.error).toMatch(/ECONNREFUSED|connect/i);
  });
});
