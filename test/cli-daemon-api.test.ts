/**
 * The CLI goes through a running daemon's API (loopd#8): found through daemon.json in the
 * home, or named by LOOPD_URL. A recording proxy in front of the real `loopd serve` shows
 * which requests the CLI made; a home holding nothing but daemon.json and api-token, or an
 * empty one with LOOPD_URL, proves no local store was read. Output matches the direct path:
 * every read command (ls, show, runs, show-run, logs, costs, checks, deliveries, memory) and
 * every write (pause, resume, run, apply, memory, remind) works with LOOPD_URL and LOOPD_TOKEN
 * alone.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json, runCli } from "./helpers/cli.js";
import { type LoopdProcess, spawnLoopd } from "./helpers/process.js";

/** A test that starts a dozen CLI processes one after another: room for a busy machine. */
const CLI_HEAVY_MS = 120_000;

interface Recorded {
  method: string;
  path: string;
  authorization: string | undefined;
}

/** Forwards every request to `target` (streams included) and remembers it. */
async function recordingProxy(
  target: string,
): Promise<{ url: string; requests: Recorded[]; server: Server }> {
  const requests: Recorded[] = [];
  const server = createServer((incoming, outgoing) => {
    requests.push({
      method: incoming.method ?? "",
      path: incoming.url ?? "",
      authorization: incoming.headers.authorization,
    });
    const upstream = request(
      new URL(incoming.url ?? "/", target),
      { method: incoming.method, headers: incoming.headers },
      (response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
      },
    );
    upstream.on("error", () => outgoing.destroy());
    incoming.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server };
}

describe("the CLI through a running daemon's API", () => {
  let cwd: string;
  let home: string;
  /** Holds only daemon.json (pointing at the proxy) and the daemon's api-token: no store. */
  let proxiedHome: string;
  let daemon: LoopdProcess;
  let url: string;
  let token: string;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  /** A finished run of `say` with "hi" in its log, fired through LOOPD_URL. */
  let runId: number;

  const api = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${url}/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    return (await response.json()) as T;
  };
  const viaProxy = (args: string[]) => runCli(args, { env: { LOOPD_HOME: proxiedHome }, cwd });
  /** Only the daemon's address and token: the home given cannot exist. */
  const viaUrl = (args: string[]) =>
    runCli(args, {
      env: { LOOPD_HOME: join(cwd, "unseen-home"), LOOPD_URL: proxy.url, LOOPD_TOKEN: token },
      cwd,
    });
  const requested = (method: string, path: string) =>
    proxy.requests.filter((entry) => entry.method === method && entry.path.startsWith(path));

  beforeAll(async () => {
    cwd = mkdtempSync(join(tmpdir(), "loopd-cli-api-"));
    home = join(cwd, "home");
    writeFileSync(
      join(cwd, "loopd.yaml"),
      [
        "channels:",
        '  me: { type: webhook, url: "http://127.0.0.1:9/hook" }',
        "routines:",
        "  - name: nightly",
        "    command: echo nightly",
        '    cron: "0 3 * * *"',
        "  - name: say",
        "    command: printf 'first line\\nsecond line %s\\n' \"$LOOPD_INPUT\"",
        "",
      ].join("\n"),
    );
    daemon = spawnLoopd(["serve", "--port", "0", "-f", "loopd.yaml"], { env: { LOOPD_HOME: home }, cwd });
    url = String((await daemon.waitFor((event) => event.type === "ready")).url);
    token = readFileSync(join(home, "api-token"), "utf8").trim();
    proxy = await recordingProxy(url);
    proxiedHome = join(cwd, "proxied-home");
    mkdirSync(proxiedHome);
    writeFileSync(join(proxiedHome, "api-token"), `${token}\n`, { mode: 0o600 });
    // A live pid (this test's) makes the CLI take daemon.json's URL: the proxy.
    writeFileSync(
      join(proxiedHome, "daemon.json"),
      JSON.stringify({ pid: process.pid, url: proxy.url, workerId: "proxy", version: "0", startedAt: "" }),
    );
  });
  afterAll(async () => {
    await daemon?.stop();
    proxy?.server.close();
    rmSync(cwd, { recursive: true, force: true });
  });

  it("`ls --json` prints what GET /api/v1/routines returns, today's spend included", async () => {
    const { routines } = await api<{ routines: Array<Record<string, unknown>> }>("/routines");
    const expected = routines;
    expect(routines.every((routine) => routine.costTodayUsd === 0)).toBe(true);
    expect(routines.map((routine) => routine.name)).toEqual(["nightly", "say"]);

    expect(json(await runCli(["ls", "--json"], { env: { LOOPD_HOME: home }, cwd }))).toEqual(expected);
    expect(json(await viaProxy(["ls", "--json"]))).toEqual(expected);
    expect(requested("GET", "/api/v1/routines")).toEqual([
      { method: "GET", path: "/api/v1/routines", authorization: `Bearer ${token}` },
    ]);
    expect(existsSync(join(proxiedHome, "loopd.db"))).toBe(false);
  });

  it("pause and resume with LOOPD_URL go through the API and the daemon sees them", async () => {
    const emptyHome = join(cwd, "no-such-home");
    const env = { LOOPD_HOME: emptyHome, LOOPD_URL: `${proxy.url}/`, LOOPD_TOKEN: token };

    const paused = await runCli(["pause", "nightly", "--reason", "holiday"], { env, cwd });
    expect(paused).toMatchObject({ code: 0, stdout: "Paused nightly.\n" });
    expect(requested("POST", "/api/v1/routines/nightly/pause")).toHaveLength(1);
    expect(await api("/routines/nightly")).toMatchObject({ state: "paused", pausedReason: "holiday" });

    const resumed = await runCli(["resume", "nightly", "--json"], { env, cwd });
    expect(resumed.code).toBe(0);
    expect(json(resumed)).toMatchObject({ name: "nightly", state: "active", pausedReason: null });
    expect(requested("POST", "/api/v1/routines/nightly/resume")).toHaveLength(1);
    expect(await api("/routines/nightly")).toMatchObject({ state: "active" });
    expect(existsSync(emptyHome)).toBe(false);
  });

  it("`run --wait` fires through the API, prints the run's output and exits with its outcome", async () => {
    const result = await viaProxy(["run", "say", "--wait", "--text", "hi"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("first line\nsecond line hi\n");
    const runId = Number(/say #(\d+) succeeded/.exec(result.stdout)![1]);
    expect(requested("POST", "/api/v1/routines/say/run")).toHaveLength(1);
    expect(requested("GET", `/api/v1/runs/${runId}/events?follow=1`)).toHaveLength(1);
    await daemon.waitFor((event) => event.type === "run-finished" && event.runId === runId);

    // The run's log afterwards, through the API as well.
    const logs = await viaProxy(["logs", String(runId)]);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain("first line\nsecond line hi\n");
    expect(requested("GET", `/api/v1/runs/${runId}/events`).map((entry) => entry.path)).toContain(
      `/api/v1/runs/${runId}/events`,
    );

    const quiet = await viaProxy(["run", "say", "--wait", "--json"]);
    expect(quiet.code).toBe(0);
    expect(json(quiet)).toMatchObject({ routine: "say", status: "succeeded" });
  });

  it("API errors print exactly like local ones, with their exit codes", async () => {
    const missing = await viaProxy(["show", "nope"]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('error[LOOPD_NOT_FOUND]: no routine named "nope"');

    const wrong = await runCli(["ls"], { env: { LOOPD_URL: url, LOOPD_TOKEN: "wrong" }, cwd });
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).toContain("error[LOOPD_API_UNAUTHORIZED]: the API token is wrong");
  });

  it("a LOOPD_URL nobody answers at is LOOPD_DAEMON_UNREACHABLE", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));

    const result = await runCli(["ls", "--json"], { env: { LOOPD_URL: `http://127.0.0.1:${port}` }, cwd });
    expect(result.code).toBe(10);
    expect(json<{ error: { code: string; message: string } }>(result).error).toMatchObject({
      code: "LOOPD_DAEMON_UNREACHABLE",
      message: `the loopd daemon at http://127.0.0.1:${port} is not answering (ECONNREFUSED)`,
    });
  });

  it(
    "every read command works with LOOPD_URL and LOOPD_TOKEN alone",
    async () => {
      const fired = await viaUrl(["run", "say", "--wait", "--text", "hi", "--json"]);
      expect(fired.code).toBe(0);
      runId = json<{ id: number }>(fired).id;
      // Memory is written on the store side (the API has no memory edit): the daemon's own home.
      writeFileSync(join(cwd, "memory.md"), "remembered\n");
      expect(
        (await runCli(["memory", "say", "--set", "memory.md"], { env: { LOOPD_HOME: home }, cwd })).code,
      ).toBe(0);

      const reads: Array<[string[], string]> = [
        [["ls"], "/api/v1/routines"],
        [["show", "say"], "/api/v1/routines/say"],
        [["runs"], "/api/v1/runs?"],
        [["show-run", String(runId)], `/api/v1/runs/${runId}`],
        [["show-run", String(runId), "--diff"], `/api/v1/runs/${runId}/diff`],
        [["logs", String(runId)], `/api/v1/runs/${runId}/events`],
        [["costs", "--by", "day"], "/api/v1/costs?by=day&since=7d"],
        [["checks"], "/api/v1/checks"],
        [["deliveries"], "/api/v1/deliveries?"],
        [["memory", "say"], "/api/v1/routines/say/memory"],
      ];
      const printed = new Map<string, string>();
      for (const [command, path] of reads) {
        const result = await viaUrl(command);
        expect({ command, stderr: result.stderr, code: result.code }).toEqual({
          command,
          stderr: "",
          code: 0,
        });
        expect(requested("GET", path).length, `${command.join(" ")} → GET ${path}`).toBeGreaterThan(0);
        printed.set(command[0]!, result.stdout);
      }
      expect(printed.get("logs")).toContain("second line hi\n");
      expect(printed.get("memory")).toContain("remembered");
      expect(printed.get("deliveries")).toContain("0 pending, 0 delivered, 0 dead");
      expect(existsSync(join(cwd, "unseen-home"))).toBe(false);

      // A run the daemon does not have gets the CLI's hint, and a bad window the CLI's wording.
      const missing = await viaUrl(["show-run", "99999"]);
      expect(missing.code).toBe(3);
      expect(missing.stderr).toContain("hint: Run `loopd runs` to see run ids.");
      const badWindow = await viaUrl(["costs", "--since", "soon"]);
      expect(badWindow.code).toBe(2);
      expect(badWindow.stderr).toContain("error[LOOPD_USAGE]: --since soon:");
    },
    CLI_HEAVY_MS,
  );

  // Before `apply` of another file, which replaces the declared channels with none.
  it("remind plans and schedules with LOOPD_URL alone, read on the daemon, and the daemon sees it", async () => {
    const sentence =
      "tomorrow at 9am check https://github.com/acme/web/pull/7 and tell me if it isn't merged";
    const planned = await viaUrl(["remind", "--json", sentence, "--tz", "America/New_York"]);
    expect(planned.stderr).toBe("");
    expect(planned.code).toBe(0);
    const plan = json<{ scheduled: boolean; routine: { name: string; tz: string }; check: string }>(planned);
    expect(plan).toMatchObject({ scheduled: false, routine: { tz: "America/New_York" } });
    expect(requested("POST", "/api/v1/remind/plan")).toHaveLength(1);
    expect(
      (await api<{ routines: Array<{ name: string }> }>("/routines")).routines.map((r) => r.name),
    ).not.toContain(plan.routine.name);

    const scheduled = await viaUrl(["remind", "--json", "--yes", sentence, "--tz", "America/New_York"]);
    expect(scheduled.code).toBe(0);
    const made = json<{ scheduled: boolean; routine: { name: string; nextDueAt: string } }>(scheduled);
    expect(made).toMatchObject({ scheduled: true, routine: { name: plan.routine.name } });
    expect(requested("POST", "/api/v1/remind")).toHaveLength(3); // plan, plan, schedule
    const routine = await api<{ name: string; labels: string[]; nextDueAt: string }>(
      `/routines/${plan.routine.name}`,
    );
    expect(routine).toMatchObject({ labels: ["remind"], nextDueAt: made.routine.nextDueAt });

    const unread = await viaUrl(["remind", "--json", "wibble wobble", "--no-model"]);
    expect(unread.code).not.toBe(0);
    expect(unread.stderr).not.toMatch(/\n\s+at /); // a coded error, not a stack trace
    expect(JSON.parse(unread.stdout || unread.stderr)).toMatchObject({
      error: { code: "LOOPD_REMIND_UNPARSED" },
    });
    expect(existsSync(join(cwd, "unseen-home"))).toBe(false);
  });

  it("apply and memory --set/--clear work with LOOPD_URL alone and land in the daemon's store", async () => {
    mkdirSync(join(cwd, "remote"));
    const file = join(cwd, "remote", "loopd.yaml");
    writeFileSync(
      file,
      ["routines:", "  - name: later", "    command: echo later", '    cron: "0 4 * * *"', ""].join("\n"),
    );

    const planned = await viaUrl(["apply", "-f", "remote/loopd.yaml", "--dry-run", "--json"]);
    expect(planned.stderr).toBe("");
    expect(json(planned)).toMatchObject({ dryRun: true, changes: [{ action: "create", name: "later" }] });
    expect(
      (await api<{ routines: Array<{ name: string }> }>("/routines")).routines.map((r) => r.name),
    ).not.toContain("later");

    const applied = await viaUrl(["apply", "-f", "remote/loopd.yaml"]);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain("later");
    expect(requested("POST", "/api/v1/apply")).toHaveLength(2);
    expect(await api("/routines/later")).toMatchObject({ name: "later", source: file, state: "active" });

    writeFileSync(join(cwd, "memory.txt"), "remember this\n");
    const set = await viaUrl(["memory", "later", "--set", "memory.txt"]);
    expect(set.code).toBe(0);
    expect(await api("/routines/later/memory")).toMatchObject({ content: "remember this\n" });
    const cleared = await viaUrl(["memory", "later", "--clear"]);
    expect(cleared.code).toBe(0);
    expect(requested("DELETE", "/api/v1/routines/later/memory")).toHaveLength(1);
    expect(await api("/routines/later/memory")).toMatchObject({ content: "" });
    expect(existsSync(join(cwd, "unseen-home"))).toBe(false);
  });

  // Last: stops the daemon to read the same store directly.
  it(
    "prints the same JSON through the API as from the store directly",
    async () => {
      const commands = [
        ["ls"],
        ["show", "say", "--runs", "10"],
        ["runs"],
        ["runs", "say", "-n", "1"],
        ["checks", "--all"],
        ["show-run", String(runId)],
        ["logs", String(runId)],
        ["costs", "--by", "routine"],
        ["deliveries"],
        ["memory", "say"],
      ];
      const throughApi = [];
      for (const command of commands)
        throughApi.push(withoutWindow(json(await viaUrl([...command, "--json"]))));
      expect(requested("GET", "/api/v1/checks?all=1")).toHaveLength(1);
      expect(requested("GET", "/api/v1/costs?by=routine")).toHaveLength(1);

      await daemon.stop();
      for (const [index, command] of commands.entries()) {
        const direct = await runCli([...command, "--json"], { env: { LOOPD_HOME: home }, cwd });
        expect(direct.code).toBe(0);
        expect(withoutWindow(json(direct))).toEqual(throughApi[index]);
      }
    },
    CLI_HEAVY_MS,
  );
});

/** A cost report's `since` is the window's start, a moment that moves between two calls. */
function withoutWindow(value: unknown): unknown {
  if (value === null || typeof value !== "object" || !("since" in value)) return value;
  const { since: _, ...rest } = value as Record<string, unknown>;
  return rest;
}
