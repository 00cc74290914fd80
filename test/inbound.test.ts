/**
 * Inbound hooks against `loopd serve`: a Standard Webhooks-signed delivery fires the routine
 * (its body reaches the run as LOOPD_INPUT), a replay, a bad signature and an oversized body
 * are refused with codes, a bearer token works, and the fire endpoint queues a run.
 */
import { createHmac } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LoopdProcess, spawnLoopd } from "./helpers/process.js";
import { waitUntil } from "./helpers/wait.js";

const SECRET = `whsec_${Buffer.from("a-test-secret-of-32-bytes-length").toString("base64")}`;

describe("inbound hooks", () => {
  let cwd: string;
  let daemon: LoopdProcess;
  let url: string;

  beforeAll(async () => {
    cwd = mkdtempSync(join(tmpdir(), "loopd-inbound-"));
    writeFileSync(
      join(cwd, "loopd.yaml"),
      `routines:
  - name: hooked
    command: 'printf "%s" "$LOOPD_INPUT" > "got-$LOOPD_RUN_ID.txt"'
    hook: { secret: "${SECRET}" }
  - name: tokened
    command: 'printf "%s" "$LOOPD_INPUT" > "token-$LOOPD_RUN_ID.txt"'
    hook: { tokenEnv: HOOK_TOKEN }
  - name: on-ci-fail
    command: 'printf "%s" "$LOOPD_INPUT" > "ci-$LOOPD_RUN_ID.txt"'
    events:
      - { github: check_suite.completed, conclusion: failure, repo: "acme/*" }
`,
    );
    daemon = spawnLoopd(["serve", "--port", "0", "-f", "loopd.yaml"], {
      env: {
        LOOPD_HOME: join(cwd, ".loopd"),
        HOOK_TOKEN: "t0ken-for-tests-123",
        GITHUB_WEBHOOK_SECRET: "gh-secret",
      },
      cwd,
    });
    url = String((await daemon.waitFor((event) => event.type === "ready")).url);
  });
  afterAll(async () => {
    await daemon?.stop();
    rmSync(cwd, { recursive: true, force: true });
  });

  const signed = (id: string, body: string, at = new Date()) => {
    const signature = new Webhook(SECRET).sign(id, at, body);
    return {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
      "webhook-signature": signature,
    };
  };

  const waitForFile = async (path: string) => {
    await waitUntil(() => existsSync(path), `${path} written by the run`, {
      timeoutMs: 10_000,
      everyMs: 100,
    });
    return readFileSync(path, "utf8");
  };

  it("a signed delivery fires the routine with its text; the same id again is refused", async () => {
    const body = JSON.stringify({ text: "CI failed on main" });
    const response = await fetch(`${url}/hooks/r/hooked`, {
      method: "POST",
      headers: signed("msg_1", body),
      body,
    });
    expect(response.status).toBe(202);
    const { runId } = (await response.json()) as { runId: number };
    expect(await waitForFile(join(cwd, `got-${runId}.txt`))).toBe("CI failed on main");

    const replay = await fetch(`${url}/hooks/r/hooked`, {
      method: "POST",
      headers: signed("msg_1", body),
      body,
    });
    expect(replay.status).toBe(409);
    expect(((await replay.json()) as { error: { code: string } }).error.code).toBe("LOOPD_HOOK_REPLAYED");
  });

  it("refuses a wrong signature, a stale timestamp and an unknown routine with their codes", async () => {
    const body = JSON.stringify({ text: "x" });
    const forged = { ...signed("msg_2", body), "webhook-signature": "v1,AAAA" };
    const bad = await fetch(`${url}/hooks/r/hooked`, { method: "POST", headers: forged, body });
    expect(bad.status).toBe(401);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("LOOPD_HOOK_UNAUTHORIZED");

    const old = signed("msg_3", body, new Date(Date.now() - 10 * 60_000));
    expect((await fetch(`${url}/hooks/r/hooked`, { method: "POST", headers: old, body })).status).toBe(401);

    expect((await fetch(`${url}/hooks/r/nope`, { method: "POST", body: "{}" })).status).toBe(404);
  });

  it("accepts a bearer token from the environment, in constant time", async () => {
    const ok = await fetch(`${url}/hooks/r/tokened`, {
      method: "POST",
      headers: { authorization: "Bearer t0ken-for-tests-123", "webhook-id": "tok_1" },
      body: "deploy done",
    });
    expect(ok.status).toBe(202);
    const { runId } = (await ok.json()) as { runId: number };
    expect(await waitForFile(join(cwd, `token-${runId}.txt`))).toBe("deploy done");
    const wrong = await fetch(`${url}/hooks/r/tokened`, {
      method: "POST",
      headers: { authorization: "Bearer nope" },
    });
    expect(wrong.status).toBe(401);
  });

  it("the fire endpoint queues a run with the text and returns its id and URL", async () => {
    const token = readFileSync(join(cwd, ".loopd", "api-token"), "utf8").trim();
    const authorization = `Bearer ${token}`;
    const response = await fetch(`${url}/api/v1/routines/hooked/fire`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization },
      body: JSON.stringify({ text: "by hand" }),
    });
    expect(response.status).toBe(202);
    const fired = (await response.json()) as { runId: number; url: string };
    expect(fired.url).toBe(`${url}/#/runs/${fired.runId}`);
    expect(await waitForFile(join(cwd, `got-${fired.runId}.txt`))).toBe("by hand");
    const missing = await fetch(`${url}/api/v1/routines/nope/fire`, {
      method: "POST",
      headers: { authorization },
    });
    expect(missing.status).toBe(404);
  });

  it("a GitHub check_suite failure fires the subscribed routine with a summary; replays and bad signatures are refused", async () => {
    const delivery = (id: string, conclusion: string, secret = "gh-secret") => {
      const body = JSON.stringify({
        action: "completed",
        check_suite: { conclusion, head_branch: "main", html_url: "https://github.com/acme/web/runs/1" },
        repository: { full_name: "acme/web" },
      });
      const signature = `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
      return {
        method: "POST",
        body,
        headers: {
          "content-type": "application/json",
          "x-github-event": "check_suite",
          "x-github-delivery": id,
          "x-hub-signature-256": signature,
        },
      };
    };
    const failed = await fetch(`${url}/hooks/github`, delivery("gh-1", "failure"));
    expect(failed.status).toBe(202);
    const result = (await failed.json()) as {
      event: string;
      fired: Array<{ routine: string; runId: number }>;
    };
    expect(result.event).toBe("check_suite.completed");
    expect(result.fired.map((fired) => fired.routine)).toEqual(["on-ci-fail"]);
    const input = await waitForFile(join(cwd, `ci-${result.fired[0]!.runId}.txt`));
    expect(input).toContain("Repository: acme/web");
    expect(input).toContain("Conclusion: failure");

    const green = await fetch(`${url}/hooks/github`, delivery("gh-2", "success"));
    expect(((await green.json()) as { fired: unknown[] }).fired).toEqual([]);
    expect((await fetch(`${url}/hooks/github`, delivery("gh-1", "failure"))).status).toBe(409);
    expect((await fetch(`${url}/hooks/github`, delivery("gh-3", "failure", "wrong"))).status).toBe(401);
  });

  // Last: the server closes the connection on an oversized body while the client still sends.
  it("refuses a body over 1 MiB", async () => {
    const big = "x".repeat(1024 * 1024 + 1);
    const large = await fetch(`${url}/hooks/r/hooked`, {
      method: "POST",
      headers: signed("msg_4", big),
      body: big,
    });
    expect(large.status).toBe(413);
    expect(((await large.json()) as { error: { code: string } }).error.code).toBe("LOOPD_HOOK_TOO_LARGE");
  });
});
