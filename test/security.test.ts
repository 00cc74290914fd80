/**
 * loopd#15, the security and input half, against a real `loopd serve --no-auth`:
 * - a web page cannot drive the daemon: a browser-style cross-origin `no-cors` POST
 *   (`text/plain` body, `Origin: https://evil.example`), a bodiless POST, and DNS rebinding
 *   (`Host: attacker.example`) are refused, while the CLI and same-origin JSON still work;
 * - planted secrets (a declared secret, secret-named daemon variables) never reach `loopd
 *   logs`, the API, run_events, the summary/error or a real webhook receiver's payload, and
 *   `env` in a shell run shows no daemon secret unless the routine says `inheritEnv: true`;
 * - the hook secret is shown as a fingerprint; the db files are 0600 in a 0755 home;
 * - `/hooks/r/<name>` answers the same for "no routine" and "no hook"; a signed GitHub body
 *   of `null` is a 400;
 * - each bad config value is `LOOPD_CONFIG_INVALID` with exit 2 (not 10), over the CLI and the API.
 */
import { createHmac } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json, runCli } from "./helpers/cli.js";
import { type LoopdProcess, spawnLoopd } from "./helpers/process.js";
import { waitUntil } from "./helpers/wait.js";

const CHANNEL_SECRET = `whsec_${Buffer.from("channel-secret-32-bytes-long-ok!").toString("base64")}`;
const HOOK_SECRET = `whsec_${Buffer.from("hook-secret-32-bytes-long-ok-ok!").toString("base64")}`;
const PLANTED = {
  DEPLOY_TOKEN: "planted-deploy-token-4711",
  AWS_SECRET_ACCESS_KEY: "planted-aws-secret-0815",
  GITHUB_WEBHOOK_SECRET: "planted-github-secret-1234",
};
const plantedValues = Object.values(PLANTED);

interface ErrorBody {
  error: { code: string; message: string; hint: string };
}

/** A raw request, so `Host` can be anything (fetch sets it from the URL). */
function rawRequest(
  url: string,
  options: { method: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const target = new URL(options.path, url);
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: options.method,
        headers: options.headers,
      },
      (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

describe("a --no-auth daemon with planted secrets", () => {
  const webhooks: Array<Record<string, unknown>> = [];
  const webhookBodies: string[] = [];
  let receiver: Server;
  let cwd: string;
  let home: string;
  let env: Record<string, string>;
  let daemon: LoopdProcess;
  let url: string;
  let port: string;

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on("end", () => {
        const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
        webhookBodies.push(body);
        webhooks.push(new Webhook(CHANNEL_SECRET).verify(body, headers) as Record<string, unknown>);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    const receiverPort = (receiver.address() as AddressInfo).port;

    cwd = mkdtempSync(join(tmpdir(), "loopd-security-"));
    home = join(cwd, "home");
    mkdirSync(home);
    chmodSync(home, 0o755); // a home that already existed, readable by everyone
    writeFileSync(
      join(cwd, "loopd.yaml"),
      `channels:
  hook: { type: webhook, url: "http://127.0.0.1:${receiverPort}/webhook", secret: "${CHANNEL_SECRET}" }
routines:
  - name: leaky
    command: 'env; echo "stderr $DEPLOY_TOKEN $AWS_SECRET_ACCESS_KEY" >&2; echo "summary $DEPLOY_TOKEN"; exit 1'
    secrets: [DEPLOY_TOKEN]
    notify: { to: hook, on: [failure] }
  - name: inherits
    command: env
    inheritEnv: true
  - name: plain
    command: echo plain
  - name: hooked
    command: echo hooked
    hook: { secret: "${HOOK_SECRET}" }
`,
    );
    env = { LOOPD_HOME: home, ...PLANTED };
    daemon = spawnLoopd(["serve", "--port", "0", "--no-auth", "-f", "loopd.yaml"], { env, cwd });
    url = String((await daemon.waitFor((event) => event.type === "ready")).url);
    port = new URL(url).port;
  });
  afterAll(async () => {
    await daemon?.stop();
    receiver?.close();
    rmSync(cwd, { recursive: true, force: true });
  });

  const api = (path: string, init: RequestInit = {}) => fetch(`${url}/api/v1${path}`, init);
  const runsOf = async (routine: string) =>
    (
      (await (await api(`/runs?routine=${routine}`)).json()) as {
        runs: Array<{ id: number; status: string }>;
      }
    ).runs;

  describe("a web page cannot drive it", () => {
    it("refuses a browser's cross-origin no-cors POST and bodiless state changes (403, nothing queued)", async () => {
      // What `fetch(url, { method: "POST", mode: "no-cors", body: "x" })` on evil.example sends.
      const noCors = await api("/routines/plain/run", {
        method: "POST",
        headers: { origin: "https://evil.example", "content-type": "text/plain;charset=UTF-8" },
        body: "x",
      });
      expect(noCors.status).toBe(403);
      expect(((await noCors.json()) as ErrorBody).error.code).toBe("LOOPD_API_FORBIDDEN");
      // A cross-origin JSON request is refused on its Origin too (its preflight would fail anyway).
      const cors = await api("/routines/plain/run", {
        method: "POST",
        headers: { origin: "https://evil.example", "content-type": "application/json" },
        body: "{}",
      });
      expect(cors.status).toBe(403);
      for (const action of ["run", "pause", "resume"]) {
        const bodiless = await api(`/routines/plain/${action}`, { method: "POST" });
        expect(bodiless.status).toBe(403);
        const error = ((await bodiless.json()) as ErrorBody).error;
        expect(error.code).toBe("LOOPD_API_FORBIDDEN");
        expect(error.hint).toContain("X-Loopd-Client");
      }
      const nullOrigin = await api("/routines/plain/run", {
        method: "POST",
        headers: { origin: "null", "x-loopd-client": "test" },
      });
      expect(nullOrigin.status).toBe(403);
      // No CORS grant for a preflight either.
      const preflight = await api("/routines/plain/run", {
        method: "OPTIONS",
        headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
      });
      expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
      expect(await runsOf("plain")).toEqual([]);
      expect(await (await api("/routines/plain")).json()).toMatchObject({ state: "active" });
    });

    it("refuses DNS rebinding: requests for another Host name change and reveal nothing", async () => {
      const marker = join(cwd, "pwned");
      const rebound = { host: `attacker.example:${port}`, "content-type": "application/json" };
      const put = await rawRequest(url, {
        method: "PUT",
        path: "/api/v1/routines/pwn",
        headers: rebound,
        body: JSON.stringify({ command: `touch ${marker}` }),
      });
      expect(put.status).toBe(403);
      expect((JSON.parse(put.body) as ErrorBody).error).toMatchObject({ code: "LOOPD_API_FORBIDDEN" });
      expect((JSON.parse(put.body) as ErrorBody).error.hint).toContain("--allow-host attacker.example");
      const run = await rawRequest(url, {
        method: "POST",
        path: "/api/v1/routines/plain/run",
        headers: rebound,
        body: "{}",
      });
      expect(run.status).toBe(403);
      const read = await rawRequest(url, {
        method: "GET",
        path: "/api/v1/routines",
        headers: { host: "attacker.example" },
      });
      expect(read.status).toBe(403);
      expect(read.body).not.toContain("leaky");
      const page = await rawRequest(url, { method: "GET", path: "/", headers: { host: "attacker.example" } });
      expect(page.status).toBe(403);
      expect((await api("/routines/pwn")).status).toBe(404);
      expect(await runsOf("plain")).toEqual([]);
      expect(existsSync(marker)).toBe(false);
      // The names it does serve.
      for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `loopd.localhost:${port}`]) {
        expect(
          (await rawRequest(url, { method: "GET", path: "/api/v1/version", headers: { host } })).status,
        ).toBe(200);
      }
    });

    it("still serves the CLI, JSON clients and the same-origin dashboard", async () => {
      const cli = await runCli(["run", "plain", "--wait"], { env: { LOOPD_HOME: home }, cwd });
      expect(cli.stdout).toContain("plain");
      expect(cli.code).toBe(0);
      const sameOrigin = await api("/routines/plain/run", {
        method: "POST",
        headers: { origin: url, "content-type": "application/json", "x-loopd-client": "dashboard" },
        body: "{}",
      });
      expect(sameOrigin.status).toBe(202);
      const paused = await api("/routines/plain/pause", {
        method: "POST",
        headers: { "x-loopd-client": "curl" },
      });
      expect(paused.status).toBe(200);
      const resumed = await api("/routines/plain/resume", {
        method: "POST",
        headers: { "x-loopd-client": "curl" },
      });
      expect(resumed.status).toBe(200);
      expect(
        json<Array<{ name: string }>>(await runCli(["ls", "--json"], { env: { LOOPD_HOME: home }, cwd })),
      ).toHaveLength(4);
    });
  });

  describe("secrets", () => {
    let runId: number;

    beforeAll(async () => {
      const fired = await runCli(["run", "leaky", "--wait"], { env: { LOOPD_HOME: home }, cwd });
      expect(fired.code).toBe(1);
      runId = Number(/leaky #(\d+) failed/.exec(fired.stdout)?.[1]);
      expect(runId).toBeGreaterThan(0);
      for (const value of plantedValues) expect(fired.stdout + fired.stderr).not.toContain(value);
    });

    it("a shell run's `env` holds the allow-list and its declared secret, not the daemon's secrets", async () => {
      const logs = await runCli(["logs", String(runId)], { env: { LOOPD_HOME: home }, cwd });
      expect(logs.stdout).toContain("PATH=");
      expect(logs.stdout).toContain("LOOPD_ROUTINE=leaky");
      expect(logs.stdout).toContain("DEPLOY_TOKEN=[redacted:DEPLOY_TOKEN]");
      expect(logs.stdout).toContain("summary [redacted:DEPLOY_TOKEN]");
      expect(logs.stdout).not.toContain("AWS_SECRET_ACCESS_KEY");
      expect(logs.stdout).not.toContain("GITHUB_WEBHOOK_SECRET");
      expect(logs.stdout).not.toContain("LOOPD_HOME");
      for (const value of plantedValues) expect(logs.stdout).not.toContain(value);
    });

    it("nothing stored or sent holds a planted value: API, events, summary, error, run_events, webhook", async () => {
      const run = (await (await api(`/runs/${runId}`)).json()) as {
        summary: string;
        error: { message: string };
      };
      expect(run.summary).toBe("summary [redacted:DEPLOY_TOKEN]");
      expect(run.error.message).toContain("stderr [redacted:DEPLOY_TOKEN]");
      const texts = [
        JSON.stringify(run),
        await (await api(`/runs/${runId}/events`)).text(),
        await (await api("/runs?routine=leaky")).text(),
        await (await api("/routines/leaky")).text(),
        await (await api("/routines")).text(),
      ];
      const db = new Database(join(home, "loopd.db"), { readonly: true });
      try {
        texts.push(JSON.stringify(db.prepare("SELECT * FROM run_events").all()));
        texts.push(JSON.stringify(db.prepare("SELECT * FROM runs").all()));
        texts.push(JSON.stringify(db.prepare("SELECT * FROM outbox").all()));
      } finally {
        db.close();
      }
      await waitUntil(() => webhooks.length > 0, "the run.failed webhook");
      expect(webhooks[0]).toMatchObject({ type: "run.failed", routine: "leaky" });
      texts.push(...webhookBodies);
      for (const text of texts) for (const value of plantedValues) expect(text).not.toContain(value);
      expect(webhookBodies.join("")).toContain("[redacted:DEPLOY_TOKEN]");
    });

    it("`inheritEnv: true` passes the daemon's environment, with secret-named values redacted", async () => {
      const fired = await runCli(["run", "inherits", "--wait"], { env: { LOOPD_HOME: home }, cwd });
      expect(fired.code).toBe(0);
      expect(fired.stdout).toContain("AWS_SECRET_ACCESS_KEY=[redacted:AWS_SECRET_ACCESS_KEY]");
      expect(fired.stdout).toContain("GITHUB_WEBHOOK_SECRET=[redacted:GITHUB_WEBHOOK_SECRET]");
      expect(fired.stdout).toContain(`LOOPD_HOME=${home}`);
      for (const value of plantedValues) expect(fired.stdout).not.toContain(value);
    });

    it("the hook secret is never returned, only its fingerprint", async () => {
      const shown = await runCli(["show", "hooked", "--json"], { env: { LOOPD_HOME: home }, cwd });
      const viaApi = await (await api("/routines/hooked")).text();
      for (const text of [shown.stdout, viaApi]) {
        expect(text).not.toContain("whsec_");
        expect(JSON.parse(text).spec.hook).toEqual({
          secretFingerprint: expect.stringMatching(/^sha256:[0-9a-f]{12}$/),
        });
      }
    });

    it("the data dir's files are 0600 in a 0755 home", () => {
      expect(statSync(home).mode & 0o777).toBe(0o755);
      for (const file of ["loopd.db", "loopd.db-wal", "loopd.db-shm", "daemon.json"]) {
        expect([file, statSync(join(home, file)).mode & 0o777]).toEqual([file, 0o600]);
      }
    });
  });

  describe("hooks", () => {
    it("answers the same for a routine that does not exist and one that takes no hooks", async () => {
      const answer = async (name: string) => {
        const response = await fetch(`${url}/hooks/r/${name}`, { method: "POST", body: "{}" });
        return { status: response.status, body: (await response.text()).replaceAll(name, "<name>") };
      };
      const missing = await answer("no-such-routine");
      expect(missing.status).toBe(404);
      expect(await answer("plain")).toEqual(missing);
      expect((await answer("hooked")).status).toBe(401);
    });

    it("a validly signed GitHub delivery whose body is not a JSON object is a 400", async () => {
      for (const body of ["null", "[1]", "42", "{"]) {
        const signature = `sha256=${createHmac("sha256", PLANTED.GITHUB_WEBHOOK_SECRET).update(body).digest("hex")}`;
        const response = await fetch(`${url}/hooks/github`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "x-hub-signature-256": signature,
            "x-github-event": "push",
            "x-github-delivery": `d-${body}`,
          },
          body,
        });
        expect([body, response.status]).toEqual([body, 400]);
        expect(((await response.json()) as ErrorBody).error.code).toBe("LOOPD_HOOK_INVALID");
      }
    });
  });
});

describe("bad values are coded rejections (exit 2, LOOPD_CONFIG_INVALID)", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "loopd-bounds-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const routine = (fields: string) => `routines:\n  - name: a\n    command: "true"\n${fields}`;
  const bomb = [
    "a: &a [x, x, x, x, x, x, x, x, x, x]",
    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]",
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]",
    "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]",
    "f: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]",
    "",
  ].join("\n");
  const many = `routines:\n${Array.from({ length: 10_001 }, (_, i) => `  - {name: r${i}, command: x}`).join("\n")}\n`;

  it.each<[string, string | Buffer, RegExp]>([
    [
      "timeout: 30d",
      routine("    every: 1h\n    timeout: 30d\n"),
      /routines\[0\]\.timeout: "30d" is longer than the 7d maximum/,
    ],
    ["every: 1ms", routine("    every: 1ms\n"), /routines\[0\]\.every: "1ms" is shorter than the 1s minimum/],
    ["a huge every", routine("    every: 99999999999999999999d\n"), /routines\[0\]\.every: .* 36500d limit/],
    ["binary garbage", Buffer.from([0x23, 0x00, 0xff, 0xfe, 0x01, 0x0a]), /not UTF-8 text/],
    ["control characters", "#\u0001\u0002 not yaml\n", /control character/],
    ["an alias bomb", bomb, /\(yaml\)/],
    ["an oversized file", `# ${"x".repeat(4 * 1024 * 1024)}\n`, /over the 4 MiB limit/],
    ["10,001 routines", many, /more than 10000 routines/],
  ])("%s", async (_label, content, message) => {
    const file = join(dir, "loopd.yaml");
    writeFileSync(file, content);
    const result = await runCli(["apply", "-f", file, "--home", join(dir, "home")]);
    expect(result.stderr).toMatch(/^error\[LOOPD_CONFIG_INVALID\]: /);
    expect(result.stderr).toMatch(message);
    expect(result.code).toBe(2);
  });
});
