/**
 * The HTTP API under /api/v1, in process (`app.request`) against a SQLite store, plus a
 * listening server for the Server-Sent Events framing: token auth and the loopback-only
 * `--no-auth`, every route's shape and status, the routine upsert rules, run logs as JSON
 * and as a followed stream driven by a real engine run, the global stream, and the OpenAPI
 * document.
 */

import { chmodSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Hono } from "hono";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { API_TOKEN_FILE, assertSafeBind, ensureApiToken, isLoopbackHost } from "../src/app/api-token.js";
import { LoopdError } from "../src/domain/errors.js";
import { Engine } from "../src/engine/engine.js";
import { shellHarness } from "../src/harness/shell.js";
import type { ApiDeps } from "../src/server/api/index.js";
import { createHttpApp, type Listening, listen } from "../src/server/http.js";
import { recordLedger } from "../src/store/ledger.js";
import { findRoutineByName } from "../src/store/routines.js";
import { CONFIG_SETTING, putSetting } from "../src/store/settings.js";
import { openTestStore, type TestStore } from "./helpers/stores.js";

interface ErrorBody {
  error: { code: string; message: string; hint: string; details?: { issues: Array<{ path: string }> } };
}

let ctx: TestStore;
let home: string;
let repo: string;
let token: string;
let fired: number;
let app: Hono;

function makeApp(overrides: Partial<ApiDeps> = {}): Hono {
  const deps: ApiDeps = {
    store: ctx.store,
    version: "9.9.9",
    workerId: "test-worker",
    activeRuns: () => 0,
    now: () => Date.now(),
    onFired: () => {
      fired++;
    },
    baseUrl: () => "http://127.0.0.1:7878",
    token,
    cwd: repo,
    timing: { runPollMs: 20, globalPollMs: 20, heartbeatMs: 60_000 },
    ...overrides,
  };
  const health = {
    version: "9.9.9",
    store: ctx.store.location,
    workerId: "test-worker",
    activeRuns: () => 0,
  };
  return createHttpApp(health, () => {}, undefined, deps);
}

async function call(
  method: string,
  path: string,
  options: { body?: unknown; token?: string | null; headers?: Record<string, string> } = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...options.headers };
  const bearer = options.token === undefined ? token : options.token;
  if (bearer !== null) headers.authorization = `Bearer ${bearer}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  return app.request(path, {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
}

async function json<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

const shell = (command: string) => ({ command, every: "1h" });

beforeEach(async () => {
  ctx = await openTestStore("sqlite");
  home = mkdtempSync(join(tmpdir(), "loopd-api-home-"));
  repo = mkdtempSync(join(tmpdir(), "loopd-api-repo-"));
  token = await ensureApiToken(home);
  fired = 0;
  app = makeApp();
});
afterEach(async () => {
  await ctx.dispose();
  rmSync(home, { recursive: true, force: true });
  rmSync(repo, { recursive: true, force: true });
});

describe("api token", () => {
  it("is made once, 32 random bytes in base64url, readable by its owner only; a wider mode is tightened", async () => {
    const file = join(home, API_TOKEN_FILE);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    chmodSync(file, 0o644);
    expect(await ensureApiToken(home)).toBe(token);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("refuses --no-auth on a non-loopback host at start-up, allows it on loopback", () => {
    expect(() => assertSafeBind({ host: "127.0.0.1", auth: false })).not.toThrow();
    expect(() => assertSafeBind({ host: "::1", auth: false })).not.toThrow();
    expect(() => assertSafeBind({ host: "localhost", auth: false })).not.toThrow();
    expect(() => assertSafeBind({ host: "0.0.0.0", auth: true })).not.toThrow();
    for (const host of ["0.0.0.0", "::", "192.168.1.5", "example.com"]) {
      let error: unknown;
      try {
        assertSafeBind({ host, auth: false });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(LoopdError);
      expect((error as LoopdError).code).toBe("LOOPD_SERVE_INSECURE");
    }
    expect(isLoopbackHost("127.0.0.53")).toBe(true);
    expect(isLoopbackHost("[::1]")).toBe(true);
  });
});

describe("auth", () => {
  it("answers 401 with the error shape without a token or with a wrong one", async () => {
    const missing = await call("GET", "/api/v1/routines", { token: null });
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toBe('Bearer realm="loopd"');
    expect((await json<ErrorBody>(missing)).error).toMatchObject({ code: "LOOPD_API_UNAUTHORIZED" });
    const wrong = await call("GET", "/api/v1/routines", { token: `${token}x` });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toBe('Bearer realm="loopd", error="invalid_token"');
    expect((await json<ErrorBody>(wrong)).error.hint).toContain("api-token");
    expect((await call("GET", "/api/v1/nope", { token: null })).status).toBe(401);
  });

  it("accepts the bearer header and ?access_token=; /healthz stays open", async () => {
    expect((await call("GET", "/api/v1/health")).status).toBe(200);
    const query = await call("GET", `/api/v1/version?access_token=${encodeURIComponent(token)}`, {
      token: null,
    });
    expect(query.status).toBe(200);
    expect(await json(query)).toEqual({ version: "9.9.9" });
    expect((await call("GET", "/healthz", { token: null })).status).toBe(200);
  });

  it("with --no-auth (a null token) lets every request through that a web page could not send", async () => {
    app = makeApp({ token: null });
    expect((await call("GET", "/api/v1/routines", { token: null })).status).toBe(200);
    await call("PUT", "/api/v1/routines/hello", { token: null, body: shell("echo hi") });
    const simple = await call("POST", "/api/v1/routines/hello/run", { token: null });
    expect(simple.status).toBe(403);
    expect((await json<ErrorBody>(simple)).error.code).toBe("LOOPD_API_FORBIDDEN");
    const named = { token: null, headers: { "x-loopd-client": "test" } };
    expect((await call("POST", "/api/v1/routines/hello/run", named)).status).toBe(202);
    expect((await call("POST", "/api/v1/routines/hello/run", { token: null, body: {} })).status).toBe(202);
  });

  it("answers only for its own names: loopback, IPs, the bound host and --allow-host ones", async () => {
    const health = { version: "9.9.9", store: "x", workerId: "w", activeRuns: () => 0 };
    const deps = { store: ctx.store, version: "9.9.9", workerId: "w", activeRuns: () => 0, now: Date.now };
    const guarded = createHttpApp(
      health,
      () => {},
      undefined,
      { ...deps, onFired: () => {}, baseUrl: () => null, token: null, cwd: repo },
      { boundHost: "loopd.internal", allowedHosts: ["loopd.example.com"] },
    );
    const status = async (host: string, origin?: string) =>
      (
        await guarded.request("/api/v1/version", {
          headers: { host, ...(origin !== undefined ? { origin } : {}) },
        })
      ).status;
    for (const host of ["localhost:7878", "127.0.0.1", "[::1]:7878", "10.0.0.5", "loopd.internal:80"]) {
      expect([host, await status(host)]).toEqual([host, 200]);
    }
    expect(await status("loopd.example.com")).toBe(200);
    expect(await status("LOOPD.EXAMPLE.COM:443")).toBe(200);
    expect(await status("attacker.example")).toBe(403);
    expect(await status("127.0.0.1.attacker.example")).toBe(403);
    // Origin: the daemon itself, or an allowed name (a proxy may rewrite Host to the upstream's).
    expect(await status("127.0.0.1:7878", "http://127.0.0.1:7878")).toBe(200);
    expect(await status("127.0.0.1:7878", "https://loopd.example.com")).toBe(200);
    expect(await status("127.0.0.1:7878", "http://localhost:7878")).toBe(403);
    expect(await status("127.0.0.1:7878", "https://evil.example")).toBe(403);
    // Hooks and /healthz are for other servers and probes, under any name.
    expect((await guarded.request("/healthz", { headers: { host: "attacker.example" } })).status).toBe(200);
  });

  it("refuses --no-auth with an --allow-host name that is not loopback", () => {
    expect(() =>
      assertSafeBind({ host: "127.0.0.1", auth: false, allowedHosts: ["loopd.localhost"] }),
    ).not.toThrow();
    expect(() =>
      assertSafeBind({ host: "127.0.0.1", auth: true, allowedHosts: ["loopd.example.com"] }),
    ).not.toThrow();
    expect(() =>
      assertSafeBind({ host: "127.0.0.1", auth: false, allowedHosts: ["loopd.example.com"] }),
    ).toThrow(LoopdError);
  });
});

describe("routines", () => {
  it("health and version describe the daemon", async () => {
    expect(await json(await call("GET", "/api/v1/health"))).toEqual({
      ok: true,
      version: "9.9.9",
      store: ctx.store.location,
      workerId: "test-worker",
      activeRuns: 0,
    });
  });

  it("PUT creates (201) then replaces (200); the path's name wins; list and show carry the extras", async () => {
    const created = await call("PUT", "/api/v1/routines/tick", {
      body: { name: "ignored", ...shell("date"), description: "ticks" },
    });
    expect(created.status).toBe(201);
    const body = await json<{ routine: { name: string; source: null; nextDueAt: string }; created: boolean }>(
      created,
    );
    expect(body).toMatchObject({
      created: true,
      routine: { name: "tick", source: null, description: "ticks" },
    });
    expect(body.routine.nextDueAt).not.toBeNull();
    expect(fired).toBe(1);

    const replaced = await call("PUT", "/api/v1/routines/tick", {
      body: { command: "date -u", every: "1h" },
    });
    expect(replaced.status).toBe(200);
    const replacedBody = await json<{ routine: { nextDueAt: string } }>(replaced);
    expect(replacedBody).toMatchObject({ created: false, routine: { name: "tick", description: null } });
    // The schedule did not change, so the next due time did not move.
    expect(replacedBody.routine.nextDueAt).toBe(body.routine.nextDueAt);

    const list = await json<{ routines: Array<{ name: string; costTodayUsd: number }> }>(
      await call("GET", "/api/v1/routines"),
    );
    expect(list.routines).toEqual([expect.objectContaining({ name: "tick", costTodayUsd: 0 })]);
    const detail = await json(await call("GET", "/api/v1/routines/tick"));
    expect(detail).toMatchObject({
      name: "tick",
      memory: null,
      checks: null,
      recentRuns: [],
      spec: { name: "tick", task: { kind: "command" } },
    });
    // And as the user wrote it (a routine PUT through the API belongs to no file: its repo shows).
    expect((detail as { yaml: string }).yaml).toMatch(/^name: tick\n/);
    expect((detail as { yaml: string }).yaml).not.toMatch(/timeoutMs|kind:/);
    expect(await json(await call("GET", "/api/v1/routines/tick/memory"))).toMatchObject({
      routine: "tick",
      content: "",
      bytes: 0,
      updatedAt: null,
    });
    expect((await call("GET", "/api/v1/routines/nope/memory")).status).toBe(404);
  });

  it("refuses an invalid body with 400 and the field paths", async () => {
    const typed = await call("PUT", "/api/v1/routines/bad", {
      body: { command: "x", every: 5, colour: "red" },
    });
    expect(typed.status).toBe(400);
    const typedError = (await json<ErrorBody>(typed)).error;
    expect(typedError.code).toBe("LOOPD_API_INVALID");
    expect(typedError.details!.issues.map((issue) => issue.path)).toEqual(expect.arrayContaining(["every"]));
    expect(typedError.message).toContain("every");

    const twoTriggers = await call("PUT", "/api/v1/routines/bad", {
      body: { command: "x", every: "1h", cron: "0 9 * * *" },
    });
    expect(twoTriggers.status).toBe(400);
    const crossError = (await json<ErrorBody>(twoTriggers)).error;
    expect(crossError.code).toBe("LOOPD_CONFIG_INVALID");
    expect(crossError.details!.issues[0]!.path).toBe("cron");

    const unknownChannel = await call("PUT", "/api/v1/routines/bad", {
      body: { ...shell("x"), notify: { to: "nobody" } },
    });
    expect(unknownChannel.status).toBe(400);
    expect((await call("PUT", "/api/v1/routines/Bad_Name", { body: shell("x") })).status).toBe(400);
    expect((await call("GET", "/api/v1/routines/bad")).status).toBe(404);
  });

  it("POST /apply carries out a loopd.yaml sent as text, relative repos from the stated folder", async () => {
    const file = "/client/side/loopd.yaml";
    const text = [
      "routines:",
      "  - name: sent",
      "    command: date",
      "    every: 1h",
      "    repo: sub",
      "",
    ].join("\n");
    const body = { text, file, dir: repo };
    expect((await call("POST", "/api/v1/apply", { body, token: null })).status).toBe(401);

    const planned = await call("POST", "/api/v1/apply", { body: { ...body, dryRun: true } });
    expect(planned.status).toBe(200);
    expect(await json(planned)).toMatchObject({
      file,
      dryRun: true,
      changes: [{ action: "create", name: "sent" }],
    });
    expect(fired).toBe(0);
    expect((await call("GET", "/api/v1/routines/sent")).status).toBe(404);

    const applied = await call("POST", "/api/v1/apply", { body });
    expect(await json(applied)).toMatchObject({
      location: ctx.store.location,
      changes: [{ action: "create" }],
    });
    expect(fired).toBe(1);
    expect(await json(await call("GET", "/api/v1/routines/sent"))).toMatchObject({
      source: file,
      spec: { repo: join(repo, "sub") },
    });

    const relative = await call("POST", "/api/v1/apply", { body: { ...body, dir: "side" } });
    expect(relative.status).toBe(400);
    expect((await json<ErrorBody>(relative)).error.code).toBe("LOOPD_API_INVALID");
    const broken = await call("POST", "/api/v1/apply", {
      body: { ...body, text: "routines:\n  - name: x\n    every: soon\n" },
    });
    expect(broken.status).toBe(400);
    const { error } = await json<ErrorBody>(broken);
    expect(error.code).toBe("LOOPD_CONFIG_INVALID");
    expect(error.message).toContain(file);
  });

  it("PUT and DELETE /routines/{name}/memory set and clear it; /deliveries/{id}/retry finds the delivery", async () => {
    await call("PUT", "/api/v1/routines/tick", { body: shell("date") });
    expect(
      (await call("PUT", "/api/v1/routines/tick/memory", { body: { content: "x" }, token: null })).status,
    ).toBe(401);
    const bad = await call("PUT", "/api/v1/routines/tick/memory", { body: { text: "x" } });
    expect(bad.status).toBe(400);
    expect((await json<ErrorBody>(bad)).error.code).toBe("LOOPD_API_INVALID");
    const set = await call("PUT", "/api/v1/routines/tick/memory", { body: { content: "remember" } });
    expect(await json(set)).toMatchObject({ routine: "tick", content: "remember", bytes: 8 });
    expect(await json(await call("DELETE", "/api/v1/routines/tick/memory"))).toEqual({
      routine: "tick",
      cleared: true,
    });
    expect(await json(await call("GET", "/api/v1/routines/tick/memory"))).toMatchObject({ content: "" });
    expect((await call("DELETE", "/api/v1/routines/nope/memory")).status).toBe(404);

    expect((await call("POST", "/api/v1/deliveries/abc/retry", { body: {}, token: null })).status).toBe(401);
    const missing = await call("POST", "/api/v1/deliveries/abc/retry", { body: {} });
    expect(missing.status).toBe(404);
    expect((await json<ErrorBody>(missing)).error.code).toBe("LOOPD_NOT_FOUND");
  });

  it("refuses to change a routine a loopd.yaml owns (409)", async () => {
    await call("PUT", "/api/v1/routines/owned", { body: shell("date") });
    await ctx.store.db.updateTable("routines").set({ source: "/srv/loopd.yaml" }).execute();
    const response = await call("PUT", "/api/v1/routines/owned", { body: shell("date -u") });
    expect(response.status).toBe(409);
    const { error } = await json<ErrorBody>(response);
    expect(error.code).toBe("LOOPD_ROUTINE_OWNED");
    expect(error.message).toContain("owned by /srv/loopd.yaml; edit the file");
  });

  it("pauses with a reason, resumes, runs now (and /fire), deletes; unknown names are 404 with the error shape", async () => {
    await call("PUT", "/api/v1/routines/tick", { body: shell("date") });
    const paused = await call("POST", "/api/v1/routines/tick/pause", { body: { reason: "holiday" } });
    expect(await json(paused)).toMatchObject({ state: "paused", pausedReason: "holiday", nextDueAt: null });
    const resumed = await call("POST", "/api/v1/routines/tick/resume");
    expect(await json(resumed)).toMatchObject({ state: "active", pausedReason: null });

    fired = 0;
    const run = await call("POST", "/api/v1/routines/tick/run", { body: { text: "by hand" } });
    expect(run.status).toBe(202);
    const queued = await json<{ runId: number; url: string }>(run);
    expect(queued.url).toBe(`http://127.0.0.1:7878/#/runs/${queued.runId}`);
    expect(fired).toBe(1);
    const alias = await call("POST", "/api/v1/routines/tick/fire");
    expect(alias.status).toBe(202);
    expect((await json<{ runId: number }>(alias)).runId).toBeGreaterThan(queued.runId);

    expect((await call("DELETE", "/api/v1/routines/tick")).status).toBe(204);
    for (const [method, path] of [
      ["GET", "/api/v1/routines/tick"],
      ["POST", "/api/v1/routines/tick/pause"],
      ["POST", "/api/v1/routines/tick/resume"],
      ["POST", "/api/v1/routines/tick/run"],
      ["DELETE", "/api/v1/routines/tick"],
      ["GET", "/api/v1/runs/999"],
      ["GET", "/api/v1/no-such-route"],
    ] as const) {
      const response = await call(method, path);
      expect(response.status, `${method} ${path}`).toBe(404);
      const { error } = await json<ErrorBody>(response);
      expect(error.code).toBe("LOOPD_NOT_FOUND");
      expect(typeof error.hint).toBe("string");
    }
  });
});

describe("runs", () => {
  async function fire(name: string): Promise<number> {
    return (await json<{ runId: number }>(await call("POST", `/api/v1/routines/${name}/run`))).runId;
  }

  it("lists runs newest first, filtered by routine and status, paged with limit and before", async () => {
    await call("PUT", "/api/v1/routines/a", { body: shell("true") });
    await call("PUT", "/api/v1/routines/b", { body: shell("true") });
    const [a1, b1, a2] = [await fire("a"), await fire("b"), await fire("a")];
    const ids = async (query: string) =>
      (await json<{ runs: Array<{ id: number }> }>(await call("GET", `/api/v1/runs${query}`))).runs.map(
        (run) => run.id,
      );
    expect(await ids("")).toEqual([a2, b1, a1]);
    expect(await ids("?routine=a")).toEqual([a2, a1]);
    expect(await ids("?status=queued&limit=2")).toEqual([a2, b1]);
    expect(await ids(`?before=${a2}`)).toEqual([b1, a1]);
    expect(await ids("?status=running")).toEqual([]);
    const bad = await call("GET", "/api/v1/runs?status=nope&limit=0");
    expect(bad.status).toBe(400);
    expect((await json<ErrorBody>(bad)).error.details!.issues.map((issue) => issue.path).sort()).toEqual([
      "limit",
      "status",
    ]);
    expect((await call("GET", "/api/v1/runs?routine=zzz")).status).toBe(404);
    expect((await call("GET", "/api/v1/runs/abc")).status).toBe(400);
    const detail = await json(await call("GET", `/api/v1/runs/${a1}`));
    expect(detail).toMatchObject({ id: a1, routine: "a", status: "queued", changedFiles: [], diff: "" });
    const diff = await call("GET", `/api/v1/runs/${a1}/diff`);
    expect(diff.headers.get("content-type")).toContain("text/plain");
    expect(await diff.text()).toBe("");
  });

  describe("with an engine and a listening server", () => {
    let engine: Engine;
    let server: Listening;

    beforeEach(async () => {
      engine = new Engine({
        store: ctx.store,
        harnesses: new Map([["shell", shellHarness]]),
        roles: { schedule: false, work: true },
      });
      server = await listen(app, "127.0.0.1", 0);
    });
    afterEach(async () => {
      await server.close();
      await engine.stop(0);
    });

    async function execute(): Promise<void> {
      await engine.pass();
      await engine.idle();
    }

    it("returns a run's events as JSON, after a cursor", async () => {
      await call("PUT", "/api/v1/routines/echo", { body: shell("echo one; echo two") });
      const runId = await fire("echo");
      await execute();
      const { events } = await json<{ events: Array<{ id: number; data: string; runId: number }> }>(
        await call("GET", `/api/v1/runs/${runId}/events`),
      );
      const output = events.map((event) => event.data).join("\n");
      expect(output).toContain("one");
      expect(output).toContain("two");
      const after = await json<{ events: Array<{ id: number }> }>(
        await call("GET", `/api/v1/runs/${runId}/events?after=${events[0]!.id}`),
      );
      expect(after.events.map((event) => event.id)).toEqual(events.slice(1).map((event) => event.id));
    });

    it("streams a run: stored and new events with ids, run status changes, then end, and closes", async () => {
      await call("PUT", "/api/v1/routines/echo", { body: shell("echo one; sleep 0.2; echo two") });
      const runId = await fire("echo");
      const stream = await fetch(`${server.url}/api/v1/runs/${runId}/events?follow=1`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(stream.status).toBe(200);
      expect(stream.headers.get("content-type")).toContain("text/event-stream");
      const text = readAll(stream);
      await execute();
      const frames = parseFrames(await text);
      const runFrames = frames.filter((frame) => frame.event === "run");
      expect(runFrames[0]!.data).toMatchObject({ id: runId, status: "queued" });
      expect(runFrames.at(-1)!.data).toMatchObject({ id: runId, status: "succeeded" });
      const logs = frames.filter((frame) => frame.event === undefined);
      expect(logs.map((frame) => (frame.data as { data: string }).data).join("\n")).toMatch(/one[\s\S]*two/);
      for (const frame of logs) expect(frame.id).toBe(String((frame.data as { id: number }).id));
      expect(frames.at(-1)).toMatchObject({ event: "end", data: { id: runId, status: "succeeded" } });

      // Last-Event-ID resumes after the first event; a final run's stream ends at once.
      const resumed = await fetch(`${server.url}/api/v1/runs/${runId}/events?access_token=${token}`, {
        headers: { accept: "text/event-stream", "last-event-id": logs[0]!.id! },
      });
      const again = parseFrames(await readAll(resumed));
      expect(again.filter((frame) => frame.event === undefined).map((frame) => frame.id)).toEqual(
        logs.slice(1).map((frame) => frame.id),
      );
      expect(again.at(-1)!.event).toBe("end");
    });

    it("the global stream reports a run when it is queued and when it finishes", async () => {
      await call("PUT", "/api/v1/routines/echo", { body: shell("echo hi") });
      const controller = new AbortController();
      const response = await fetch(`${server.url}/api/v1/events?access_token=${token}`, {
        signal: controller.signal,
      });
      expect(response.headers.get("content-type")).toContain("text/event-stream");
      const reader = response.body!.getReader();
      let text = "";
      const until = async (predicate: (text: string) => boolean) => {
        const deadline = Date.now() + 5000;
        while (!predicate(text) && Date.now() < deadline) {
          const { value, done } = await reader.read();
          if (done) break;
          text += new TextDecoder().decode(value);
        }
      };
      await until((seen) => seen.includes(": connected"));
      const runId = await fire("echo");
      await until((seen) => seen.includes('"status":"queued"'));
      await execute();
      await until((seen) => seen.includes('"status":"succeeded"'));
      controller.abort();
      const runs = parseFrames(text).filter((frame) => frame.event === "run");
      expect(runs.map((frame) => (frame.data as { status: string }).status)).toEqual(
        expect.arrayContaining(["queued", "succeeded"]),
      );
      expect(runs[0]!.data).toMatchObject({ id: runId, routine: "echo" });
    });
  });
});

describe("reports", () => {
  it("costs, checks and deliveries have their shapes; a bad window is 400", async () => {
    const report = await json(await call("GET", "/api/v1/costs?by=model&since=30d"));
    expect(report).toMatchObject({
      by: "model",
      routine: null,
      rows: [],
      total: { runs: 0, costUsd: 0, tokensIn: 0, tokensOut: 0, tokensCached: 0 },
    });
    expect((await call("GET", "/api/v1/costs?since=soon")).status).toBe(400);
    expect((await call("GET", "/api/v1/costs?by=planet")).status).toBe(400);

    await call("PUT", "/api/v1/routines/green", { body: { check: { command: "true" }, every: "1h" } });
    const open = await json<{ checks: Array<Record<string, unknown>> }>(await call("GET", "/api/v1/checks"));
    expect(open.checks).toEqual([
      expect.objectContaining({ routine: "green", state: "open", subject: "true", last: null }),
    ]);
    expect(await json(await call("GET", "/api/v1/checks?all=1"))).toHaveProperty("checks");
    const watch = await json(await call("GET", "/api/v1/routines/green"));
    expect(watch).toMatchObject({ checks: { routine: "green", state: "open" } });

    expect(await json(await call("GET", "/api/v1/deliveries?failed=1&limit=5"))).toEqual({
      deliveries: [],
      counts: { pending: 0, delivered: 0, dead: 0, held: 0, digested: 0 },
    });
  });

  it("budgets: each daily and monthly cap with this period's spend from the ledger", async () => {
    await putSetting(ctx.store.db, CONFIG_SETTING, { budgets: { daily: 10, monthly: 100 } }, Date.now());
    await call("PUT", "/api/v1/routines/spender", { body: { ...shell("true"), budget: { perDay: 2 } } });
    const routine = await findRoutineByName(ctx.store.db, "spender");
    const usage = { tokensIn: 1000, tokensOut: 100, tokensCached: 0, tokensReasoning: 0 };
    const entry = (routineId: number | null, costUsd: number) => ({
      at: Date.now(),
      routineId,
      routineName: routineId === null ? "(remind)" : "spender",
      runId: null,
      attempt: null,
      harness: "builtin",
      model: "m",
      tier: null,
      usage,
      costUsd,
      costSource: "priced" as const,
    });
    await recordLedger(ctx.store.db, [entry(routine!.id, 1.5), entry(null, 0.25)]);
    const { budgets } = await json<{ budgets: Array<Record<string, unknown>> }>(
      await call("GET", "/api/v1/budgets"),
    );
    expect(budgets).toEqual([
      expect.objectContaining({ routine: null, period: "day", limitUsd: 10, spentUsd: 1.75 }),
      expect.objectContaining({ routine: null, period: "month", limitUsd: 100, spentUsd: 1.75 }),
      expect.objectContaining({ routine: "spender", period: "day", limitUsd: 2, spentUsd: 1.5 }),
    ]);
    expect(Date.parse(String(budgets[0]!.resetsAt))).toBeGreaterThan(Date.now());
  });

  it("serves an OpenAPI 3.1 document naming every route, its schemas and the bearer scheme", async () => {
    const doc = await json<{
      openapi: string;
      info: { title: string; version: string };
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, unknown>; securitySchemes: Record<string, { scheme: string }> };
      security: unknown[];
    }>(await call("GET", "/api/v1/openapi.json"));
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info).toMatchObject({ title: "loopd", version: "9.9.9" });
    const routes = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(routes.sort()).toEqual(
      [
        "GET /api/v1/health",
        "GET /api/v1/version",
        "GET /api/v1/status",
        "GET /api/v1/routines",
        "GET /api/v1/routines/{name}",
        "PUT /api/v1/routines/{name}",
        "DELETE /api/v1/routines/{name}",
        "POST /api/v1/routines/{name}/pause",
        "POST /api/v1/routines/{name}/resume",
        "GET /api/v1/routines/{name}/memory",
        "PUT /api/v1/routines/{name}/memory",
        "DELETE /api/v1/routines/{name}/memory",
        "POST /api/v1/apply",
        "POST /api/v1/deliveries/{id}/retry",
        "POST /api/v1/routines/{name}/run",
        "POST /api/v1/routines/{name}/fire",
        "GET /api/v1/runs",
        "GET /api/v1/runs/{id}",
        "GET /api/v1/runs/{id}/events",
        "GET /api/v1/runs/{id}/diff",
        "GET /api/v1/events",
        "GET /api/v1/costs",
        "GET /api/v1/budgets",
        "GET /api/v1/checks",
        "GET /api/v1/deliveries",
        "GET /api/v1/flaky",
        "GET /api/v1/feedback",
        "POST /api/v1/remind/plan",
        "POST /api/v1/remind",
      ].sort(),
    );
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining([
        "RoutineView",
        "RunView",
        "RunDetail",
        "RoutineConfig",
        "Error",
        "CostsView",
        "Status",
      ]),
    );
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.security).toEqual([{ bearer: [] }]);
  });
});

/** Reads a response body to its end (the server closes a finished run's stream). */
async function readAll(response: Response): Promise<string> {
  const timeout = setTimeout(() => void response.body?.cancel(), 10_000);
  try {
    return await response.text();
  } finally {
    clearTimeout(timeout);
  }
}

interface Frame {
  id?: string;
  event?: string;
  data: unknown;
}

/** SSE frames (comments dropped), each with its `id:`, `event:` and JSON `data:`. */
function parseFrames(text: string): Frame[] {
  return text
    .split("\n\n")
    .map((block) => block.split("\n").filter((line) => line.length > 0 && !line.startsWith(":")))
    .filter((lines) => lines.length > 0)
    .map((lines) => {
      const field = (name: string) =>
        lines
          .find((line) => line.startsWith(`${name}:`))
          ?.slice(name.length + 1)
          .trimStart();
      const frame: Frame = { data: JSON.parse(field("data") ?? "null") };
      const id = field("id");
      const event = field("event");
      if (id !== undefined) frame.id = id;
      if (event !== undefined) frame.event = event;
      return frame;
    });
}
