/**
 * `loopd mcp` as an agent sees it: the MCP SDK's client spawns the built binary over stdio in
 * a repo folder, lists the tools, and calls each one. Loops land in the store with the MCP
 * label, the agent's cwd as repo and a default budget for agent loops; bad arguments come back
 * as tool errors carrying loopd's error codes.
 */
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../src/store/store.js";
import { LOOPD_BIN, runCli } from "./helpers/cli.js";
import { spawnLoopd } from "./helpers/process.js";
import { waitFor } from "./helpers/wait.js";

const TOOL_NAMES = [
  "create_loop",
  "remind",
  "list_routines",
  "get_routine",
  "list_runs",
  "get_run",
  "run_now",
  "pause",
  "resume",
  "delete_routine",
  "get_costs",
  "list_flaky_tests",
];
const SENTENCE = "let me know if https://github.com/acme/web/issues/34 isn't fixed by 2099-01-15";

interface ToolAnswer {
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
  content: Array<{ type: string; text?: string }>;
}

describe("loopd mcp", () => {
  let root: string;
  let home: string;
  let repo: string;
  let client: Client;

  const call = async (name: string, args: Record<string, unknown> = {}): Promise<ToolAnswer> =>
    (await client.callTool({ name, arguments: args })) as ToolAnswer;
  const ok = async (name: string, args: Record<string, unknown> = {}) => {
    const answer = await call(name, args);
    expect(answer.isError, answer.content[0]?.text).toBeFalsy();
    expect(JSON.parse(answer.content[0]!.text!)).toEqual(answer.structuredContent);
    // biome-ignore lint/suspicious/noExplicitAny: each answer is checked field by field by the assertions that read it
    return answer.structuredContent as Record<string, any>;
  };
  const failure = async (name: string, args: Record<string, unknown>) => {
    const answer = await call(name, args);
    expect(answer.isError).toBe(true);
    return JSON.parse(answer.content[0]!.text!) as { code: string; message: string; hint: string };
  };

  beforeAll(async () => {
    root = realpathSync(mkdtempSync(join(tmpdir(), "loopd-mcp-")));
    home = join(root, "home");
    repo = realpathSync(mkdtempSync(join(root, "repo-")));
    writeFileSync(
      join(root, "loopd.yaml"),
      'channels:\n  me: { type: command, command: "cat >/dev/null" }\nroutines: []\n',
    );
    const applied = await runCli(["apply", "-f", join(root, "loopd.yaml"), "--home", home], { cwd: root });
    expect(applied.code, applied.stderr).toBe(0);
    client = new Client({ name: "mcp-test-agent", version: "1.0.0" });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [LOOPD_BIN, "mcp", "--home", home],
        cwd: repo,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: root, NO_COLOR: "1" },
        stderr: "ignore",
      }),
    );
  });
  afterAll(async () => {
    await client?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("lists its twelve tools, each with an input and an output schema and a description", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual([...TOOL_NAMES].sort());
    for (const tool of tools) {
      expect(tool.inputSchema.type).toBe("object");
      expect(tool.outputSchema?.type, tool.name).toBe("object");
      expect(tool.description?.length, tool.name).toBeGreaterThan(40);
    }
    const create = tools.find((tool) => tool.name === "create_loop")!;
    expect(create.inputSchema.required).toEqual(["name"]);
    expect(Object.keys(create.inputSchema.properties ?? {})).toEqual(
      expect.arrayContaining(["prompt", "command", "every", "cron", "at", "repo", "budget", "notify"]),
    );
  });

  it("creates a shell loop in its cwd and walks it through get, list, pause, resume, run, logs, costs and delete", async () => {
    const created = await ok("create_loop", { name: "tests-hourly", command: "echo hi", every: "1h" });
    expect(created.created).toBe(true);
    expect(created.repo).toBe(repo);
    expect(created.budget).toBeNull(); // a shell command costs nothing
    expect(created.routine).toMatchObject({
      name: "tests-hourly",
      labels: ["mcp"],
      harness: "shell",
      trigger: "every hour",
      description: "created by mcp-test-agent via MCP",
    });

    const detail = await ok("get_routine", { name: "tests-hourly" });
    expect(detail.spec.repo).toBe(repo);
    expect(detail.spec.task).toEqual({ kind: "command", command: "echo hi" });
    const shown = await runCli(["show", "tests-hourly", "--json", "--home", home], { cwd: root });
    expect(JSON.parse(shown.stdout)).toMatchObject({ name: "tests-hourly", labels: ["mcp"] });

    const listed = await ok("list_routines", { label: "mcp" });
    expect(listed.routines.map((routine: { name: string }) => routine.name)).toContain("tests-hourly");
    // What each spent today comes with the list (the same field GET /api/v1/routines has).
    expect(listed.routines.find((r: { name: string }) => r.name === "tests-hourly").costTodayUsd).toBe(0);

    expect((await ok("pause", { name: "tests-hourly", reason: "testing" })).routine).toMatchObject({
      state: "paused",
      pausedReason: "testing",
    });
    expect((await ok("resume", { name: "tests-hourly" })).routine.state).toBe("active");

    const fired = await ok("run_now", { name: "tests-hourly", text: "by hand" });
    expect(fired.runId).toEqual(expect.any(Number));
    expect(fired.next).toContain("loopd serve"); // no daemon is up to execute it
    const run = await ok("get_run", { id: fired.runId });
    expect(run).toMatchObject({
      id: fired.runId,
      routine: "tests-hourly",
      trigger: "manual",
      status: "queued",
    });
    expect(run.logTail).toEqual([]);
    const runs = await ok("list_runs", { routine: "tests-hourly", status: "queued", limit: 5 });
    expect(runs.runs.map((each: { id: number }) => each.id)).toEqual([fired.runId]);

    const spend = await ok("get_costs", { by: "routine", since: "1d" });
    expect(spend).toMatchObject({ by: "routine", total: { costUsd: 0 } });
    // No ci-health routine here: no tests to classify.
    expect(await ok("list_flaky_tests", {})).toEqual({ tests: [] });

    expect(await ok("delete_routine", { name: "tests-hourly" })).toEqual({
      removed: "tests-hourly",
      source: null,
    });
    expect((await failure("get_routine", { name: "tests-hourly" })).code).toBe("LOOPD_NOT_FOUND");
  });

  it("run_now refuses a routine paused for auth, with the fix, unless force: true", async () => {
    await ok("create_loop", { name: "login-expired", command: "echo hi", every: "1h" });
    // As the engine leaves it after auth.pauseAfter failed logins (record-auth-outcome.ts).
    const store = await openStore({ kind: "sqlite", file: join(home, "loopd.db") });
    try {
      await store.db
        .updateTable("routines")
        .set({
          state: "paused",
          paused_reason: "LOOPD_AUTH_EXPIRED on 3 runs in a row",
          paused_code: "LOOPD_AUTH_EXPIRED",
        })
        .where("name", "=", "login-expired")
        .execute();
    } finally {
      await store.close();
    }
    const refused = await failure("run_now", { name: "login-expired" });
    expect(refused.code).toBe("LOOPD_ROUTINE_PAUSED_AUTH");
    expect(refused.hint).toContain("`loopd resume login-expired`");
    const forced = await ok("run_now", { name: "login-expired", force: true });
    expect(forced.runId).toEqual(expect.any(Number));
    await ok("delete_routine", { name: "login-expired" });
  });

  it("gives an agent loop a conservative default budget, and keeps a budget it is given", async () => {
    const guarded = await ok("create_loop", {
      name: "triage",
      prompt: "Triage new issues.",
      cron: "0 9 * * 1-5",
      tz: "UTC",
    });
    expect(guarded.budget).toEqual({ perRun: 1, perDay: 5 });
    expect((await ok("get_routine", { name: "triage" })).spec.budget).toMatchObject({ perRun: 1, perDay: 5 });

    const given = await ok("create_loop", {
      name: "triage-big",
      prompt: "Triage new issues.",
      every: "6h",
      budget: { perRun: 3, perDay: 10 },
      notify: { to: "me", on: ["failure"] },
    });
    expect(given.budget).toEqual({ perRun: 3, perDay: 10 });
  });

  it("reads a one-off `at` given as a phrase, in the given zone", async () => {
    const once = await ok("create_loop", { name: "once", command: "true", at: "tomorrow 9am", tz: "UTC" });
    expect(once.routine.triggerSpec.kind).toBe("at");
    expect(once.routine.nextDueAt).toMatch(/T09:00:00\.000Z$/);
    // A bare word is read as a named date, which loopd.yaml's check refuses; a phrase no time is in, here.
    expect((await failure("create_loop", { name: "never", command: "true", at: "wibble" })).code).toBe(
      "LOOPD_CONFIG_INVALID",
    );
    expect((await failure("create_loop", { name: "never", command: "true", at: "when pigs fly" })).code).toBe(
      "LOOPD_USAGE",
    );
  });

  it("refuses to overwrite a routine unless asked to replace it", async () => {
    await ok("create_loop", { name: "twice", command: "true", every: "1h" });
    expect((await failure("create_loop", { name: "twice", command: "false", every: "1h" })).code).toBe(
      "LOOPD_CONFIG_INVALID",
    );
    const replaced = await ok("create_loop", { name: "twice", command: "false", every: "2h", replace: true });
    expect(replaced).toMatchObject({ created: false, routine: { triggerSpec: { every: "2h" } } });
  });

  it("answers invalid arguments with loopd's error codes", async () => {
    const missingName = await failure("create_loop", { command: "true", every: "1h" });
    expect(missingName.code).toBe("LOOPD_USAGE");
    expect(missingName.message).toContain("name");

    const twoTriggers = await failure("create_loop", {
      name: "two",
      command: "true",
      every: "1h",
      cron: "0 9 * * *",
    });
    expect(twoTriggers.code).toBe("LOOPD_CONFIG_INVALID");
    expect(twoTriggers.message).toContain("one trigger");

    const tier = await failure("create_loop", {
      name: "tiered",
      prompt: "hi",
      every: "1h",
      tier: "galaxy-brain",
    });
    expect(tier.code).toBe("LOOPD_CONFIG_INVALID");
    expect(tier.message).toContain("galaxy-brain");

    const cron = await failure("create_loop", { name: "bad-cron", command: "true", cron: "every tuesday" });
    expect(cron.code).toBe("LOOPD_CONFIG_INVALID");
    expect(cron.message).toContain("cron");

    expect((await failure("create_loop", { name: "no-trigger", command: "true" })).code).toBe("LOOPD_USAGE");
    expect((await failure("get_run", { id: "seven" })).code).toBe("LOOPD_USAGE");
    expect(await failure("get_run", { id: 99999 })).toMatchObject({
      code: "LOOPD_NOT_FOUND",
      hint: "Call list_runs to see run ids.",
    });
    expect(await failure("get_costs", { since: "soon" })).toMatchObject({
      code: "LOOPD_USAGE",
      message: expect.stringMatching(/^since "soon": /),
      hint: 'Give a duration with a unit, e.g. "24h", "7d" or "30d".',
    });
    const names = (await ok("list_routines")).routines.map((routine: { name: string }) => routine.name);
    expect(names).not.toContain("two");
    expect(names).not.toContain("bad-cron");
  });

  it("plans a reminder without scheduling it, and schedules it when confirmed", async () => {
    const routineCount = async () => (await ok("list_routines")).routines.length;
    const before = await routineCount();
    const planned = await ok("remind", { sentence: SENTENCE, tz: "UTC" });
    expect(planned).toMatchObject({ scheduled: false, source: "parser", routine: null });
    expect(planned.check).toContain("acme/web");
    expect(planned.next).toContain("confirm: true");
    expect(await routineCount()).toBe(before);

    const scheduled = await ok("remind", { sentence: SENTENCE, tz: "UTC", confirm: true });
    expect(scheduled.scheduled).toBe(true);
    expect([...scheduled.routine.labels].sort()).toEqual(["mcp", "remind"]);
    expect(await routineCount()).toBe(before + 1);
  });

  // Last: from here on a daemon serves the data dir, so the tools go through its HTTP API.
  it("goes through a running daemon's API, which executes what it queues", async () => {
    const daemon = spawnLoopd(["serve", "--home", home, "--port", "0"], { env: {}, cwd: root });
    try {
      await daemon.waitFor((event) => event.type === "ready", 30_000);
      const created = await ok("create_loop", {
        name: "via-daemon",
        command: "echo from-daemon",
        every: "1d",
      });
      expect(created.routine).toMatchObject({
        labels: ["mcp"],
        description: "created by mcp-test-agent via MCP",
      });
      const fired = await ok("run_now", { name: "via-daemon" });
      expect(fired.next).toContain("get_run");
      const run = await waitFor(
        async () => {
          const seen = await ok("get_run", { id: fired.runId });
          return ["succeeded", "failed"].includes(seen.status) ? seen : undefined;
        },
        `run ${fired.runId} finished`,
        { timeoutMs: 10_000, everyMs: 100 },
      );
      expect(run.status).toBe("succeeded");
      expect(run.logTail).toContain("from-daemon");
      expect((await ok("get_costs", { since: "1d" })).rows).toEqual(expect.any(Array));
      // The same words through the API as from the store: the face's, not HTTP's.
      expect(await failure("get_costs", { since: "soon" })).toMatchObject({ code: "LOOPD_USAGE" });
      expect(await failure("get_run", { id: 99999 })).toMatchObject({
        hint: "Call list_runs to see run ids.",
      });
      // What the API has no route for (remind) goes to the store of the home this daemon serves.
      const reminded = await ok("remind", {
        sentence: SENTENCE,
        tz: "UTC",
        name: "via-daemon-watch",
        confirm: true,
      });
      expect(reminded.routine).toMatchObject({ name: "via-daemon-watch" });
      expect((await ok("list_routines")).routines.map((r: { name: string }) => r.name)).toContain(
        "via-daemon-watch",
      );
      // The API checks the body before the use-case does; the agent still sees loopd.yaml's code.
      const badCron = await failure("create_loop", { name: "x", command: "true", cron: "nope" });
      expect(badCron.code).toBe("LOOPD_CONFIG_INVALID");
      expect(badCron.message).toContain("cron");
    } finally {
      await daemon.stop();
    }
  });
});
