/**
 * The claude harness against the real Claude Code CLI (node_modules/.bin/claude) and the fake
 * model server: files really get written through Claude Code's tools, Bash really runs (also
 * outside the cwd, which is what loopd's escape check is for), the turn cap and aborts really
 * stop the process tree, a 401 fails fast. Each test gets its own HOME and CLAUDE_CONFIG_DIR,
 * so no real login is read, and an unreachable proxy, so anything that tries to phone home
 * fails at once instead of leaving the machine.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { processesIn } from "../../test/helpers/processes.js";
import { shellSpec } from "../../test/helpers/specs.js";
import { useTempDirs } from "../../test/helpers/temp-dirs.js";
import type { Script } from "../../test/support/fake-model/script.js";
import { type FakeModelServer, startFakeModelServer } from "../../test/support/fake-model/server.js";
import { createClaudeHarness } from "./claude.js";
import type { AgentInput, HarnessEvent, HarnessInput } from "./harness.js";

const CLAUDE = resolve(dirname(fileURLToPath(import.meta.url)), "../../node_modules/.bin/claude");
// A model in Claude Code's own price table, so it reports a real cost for the scripted tokens.
const MODEL = "claude-haiku-4-5";
const HAIKU = { input: 1, cachedInput: 0.1, output: 5 };
const harness = createClaudeHarness({ command: CLAUDE });

let model: FakeModelServer | null = null;
afterEach(async () => {
  await model?.close();
  model = null;
});
const tempDir = useTempDirs();

/** A hermetic environment: a fresh HOME, and an unreachable proxy for everything but the fake server. */
function isolatedEnv(home: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    CLAUDE_CONFIG_DIR: join(home, ".claude"),
    // Task output and sockets, else left in /tmp/claude-<uid> after the test.
    CLAUDE_CODE_TMPDIR: home,
    HTTPS_PROXY: "http://127.0.0.1:9",
    HTTP_PROXY: "http://127.0.0.1:9",
    NO_PROXY: "127.0.0.1,localhost",
  };
}

async function setup(script: Script, agent: Partial<AgentInput> = {}, signal = new AbortController().signal) {
  model = await startFakeModelServer({ script });
  const cwd = tempDir("loopd-claude-cwd-");
  const input: HarnessInput = {
    runId: 1,
    routine: "claude-test",
    spec: shellSpec("claude-test", {
      harness: "claude",
      task: { kind: "prompt", prompt: "Create hello.txt" },
    }),
    attempt: 1,
    dueAt: Date.now(),
    cwd,
    env: { ...isolatedEnv(tempDir("loopd-claude-home-")), ANTHROPIC_API_KEY: "sk-ant-fake-test-key" },
    input: null,
    agent: {
      prompt: "Create hello.txt containing hello.",
      systemPrompt: "Write memory to .loopd/memory.md.",
      model: MODEL,
      baseUrl: model.url,
      maxTurns: 10,
      maxBudgetUsd: null,
      mcpConfig: null,
      subAgents: [],
      ...agent,
    },
    signal,
  };
  const events: HarnessEvent[] = [];
  return { input, events, emit: (event: HarnessEvent) => events.push(event), server: model };
}

describe("claude harness (real CLI)", () => {
  it("writes a file through Claude Code's Write tool and records usage, cost, turns and the session", async () => {
    const { input, events, emit, server } = await setup([
      {
        text: "Writing it.",
        toolCalls: [{ name: "Write", input: { file_path: "hello.txt", content: "hello\n" } }],
        usage: { input: 500, cached: 200, output: 30 },
      },
      { text: "Created hello.txt.\nIt says hello.", usage: { input: 50, cached: 700, output: 5 } },
    ]);
    const started = Date.now();
    const result = await harness.run(input, emit);
    const elapsed = Date.now() - started;

    expect(result.error).toBeNull();
    expect(result.outcome).toBe("succeeded");
    expect(readFileSync(join(input.cwd, "hello.txt"), "utf8")).toBe("hello\n");
    expect(result.turns).toBe(2);
    expect(result.usage).toEqual({ tokensIn: 550, tokensCached: 900, tokensOut: 35, tokensReasoning: 0 });
    // Claude Code prices the run itself, from its own table for the model name.
    const expectedCost = (550 * HAIKU.input + 900 * HAIKU.cachedInput + 35 * HAIKU.output) / 1e6;
    expect(result.costUsd).toBeGreaterThan(0);
    expect(result.costUsd).toBeCloseTo(expectedCost, 9);
    expect(result.modelUsage).toEqual([{ model: MODEL, usage: result.usage, costUsd: result.costUsd }]);
    expect(result.summary).toBe("Created hello.txt.");
    expect(result.finalMessage).toBe("Created hello.txt.\nIt says hello.");
    expect(result.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.exitCode).toBe(0);

    expect(events).toContainEqual({
      type: "status",
      data: { event: "session", sessionId: result.sessionId, model: MODEL },
    });
    expect(events).toContainEqual({ type: "message", data: { role: "assistant", text: "Writing it." } });
    expect(events).toContainEqual({
      type: "tool",
      data: { name: "Write", input: expect.stringContaining("hello.txt") },
    });
    expect(events).toContainEqual({
      type: "tool",
      data: { tool: "Write", result: expect.stringContaining("hello.txt"), isError: false, failed: false },
    });
    expect(events).toContainEqual({ type: "usage", data: result.usage });
    // The prompt (on stdin), the appended system prompt, the model and the key reached the API.
    const first = server.turns()[0];
    expect(first?.model).toBe(MODEL);
    expect(first?.stream).toBe(true);
    expect(first?.headers["x-api-key"]).toBe("sk-ant-fake-test-key");
    expect(JSON.stringify(first?.body.messages)).toContain("Create hello.txt containing hello.");
    expect(JSON.stringify(first?.body.system)).toContain("Write memory to .loopd/memory.md.");
    expect(elapsed).toBeLessThan(15_000);
  });

  it("lets Bash run commands, including ones that write outside the cwd", async () => {
    const outside = join(tempDir("loopd-claude-outside-"), "escaped.txt");
    const { input, events, emit } = await setup([
      {
        toolCalls: [
          { name: "Bash", input: { command: `echo escaped > ${outside}`, description: "write outside" } },
        ],
      },
      { text: "done" },
    ]);
    const result = await harness.run(input, emit);
    expect(result.outcome).toBe("succeeded");
    // Claude Code ran it without asking: loopd's workspace escape check has something to catch.
    expect(readFileSync(outside, "utf8")).toBe("escaped\n");
    expect(events).toContainEqual({
      type: "tool",
      data: { tool: "Bash", result: expect.any(String), isError: false, exitCode: 0, failed: false },
    });
  });

  it("reports a Bash command that exits 3 with its exit code", async () => {
    const { input, events, emit } = await setup([
      { toolCalls: [{ name: "Bash", input: { command: "echo broke; exit 3", description: "fail" } }] },
      { text: "done: everything worked" },
    ]);
    const result = await harness.run(input, emit);
    expect(result.outcome).toBe("succeeded");
    expect(events).toContainEqual({
      type: "tool",
      data: { tool: "Bash", result: "broke", isError: true, exitCode: 3, failed: true },
    });
  });

  it("stops a model that keeps calling tools at maxTurns and leaves no process behind", async () => {
    const { input, server } = await setup(
      () => ({ toolCalls: [{ name: "Bash", input: { command: "echo again", description: "repeat" } }] }),
      { maxTurns: 2 },
    );
    const started = Date.now();
    const result = await harness.run(input, () => {});
    expect(result.outcome).toBe("failed");
    expect(result.error?.code).toBe("LOOPD_TURN_LIMIT");
    expect(result.error?.message).toContain("maximum number of turns (2)");
    expect(server.turns().length).toBe(2);
    expect(result.usage?.tokensIn).toBe(200);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(processesIn(input.cwd)).toEqual([]);
  });

  it("passes a system prompt too long for one argument through a file it removes afterwards", async () => {
    const systemPrompt = `${"Repo docs. ".repeat(15_000)}END-OF-DOCS`;
    const { input, server } = await setup([{ text: "done" }], { systemPrompt });
    const spills = () =>
      readdirSync(tmpdir()).filter((name) => existsSync(join(tmpdir(), name, "system-prompt.md")));
    const before = spills();
    const result = await harness.run(input, () => {});
    expect(result.outcome).toBe("succeeded");
    expect(JSON.stringify(server.turns()[0]?.body.system)).toContain("END-OF-DOCS");
    expect(spills()).toEqual(before);
  });

  it("passes an MCP config and lets Claude Code enforce maxBudgetUsd", async () => {
    const mcpConfig = join(tempDir("loopd-claude-mcp-"), "mcp.json");
    writeFileSync(mcpConfig, JSON.stringify({ mcpServers: {} }));
    // Each turn costs 100 input + 20 output tokens = $0.0002 at haiku prices.
    const { input } = await setup(
      () => ({ toolCalls: [{ name: "Bash", input: { command: "echo again", description: "repeat" } }] }),
      { maxBudgetUsd: 0.0005, mcpConfig },
    );
    const result = await harness.run(input, () => {});
    expect(result.error).toEqual({
      code: "LOOPD_BUDGET_EXCEEDED",
      message: "claude stopped at the run's budget (perRun): Reached maximum budget ($0.0005)",
    });
    expect(result.costUsd).toBeGreaterThanOrEqual(0.0005);
    expect(result.costUsd).toBeLessThan(0.001);
  });

  it("fails fast with LOOPD_AUTH_EXPIRED when the key is rejected", async () => {
    const { input, events, emit } = await setup(() => ({ status: 401 }));
    const started = Date.now();
    const result = await harness.run(input, emit);
    expect(result.outcome).toBe("failed");
    expect(result.error?.code).toBe("LOOPD_AUTH_EXPIRED");
    expect(result.error?.message).toContain("401");
    // Claude Code alone retries a 401 ten times with backoff (minutes); the adapter stops at the second.
    expect(events).toContainEqual({
      type: "status",
      data: expect.objectContaining({ event: "api_retry", status: 401 }),
    });
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(processesIn(input.cwd)).toEqual([]);
  });

  it("stops the agent and the command it is running when the run is aborted", async () => {
    const abort = new AbortController();
    // Claude Code refuses a bare `sleep 60` ("use Monitor"), so the long command does a bit more.
    const { input } = await setup(
      [
        {
          toolCalls: [
            {
              name: "Bash",
              input: { command: "echo waiting && sleep 60", description: "wait", timeout: 120_000 },
            },
          ],
        },
      ],
      {},
      abort.signal,
    );
    let abortedAt = 0;
    const result = await harness.run(input, (event) => {
      // Abort once the command is running (its tool_use has been printed and Bash started it).
      if (event.type === "tool" && JSON.stringify(event.data).includes("sleep 60") && !abortedAt) {
        setTimeout(() => {
          abortedAt = Date.now();
          abort.abort();
        }, 300);
      }
    });
    expect(abortedAt).toBeGreaterThan(0);
    expect(result.outcome).toBe("failed");
    expect(result.error?.message).toContain("aborted");
    expect(Date.now() - abortedAt).toBeLessThan(4_000);
    expect(processesIn(input.cwd)).toEqual([]);
  });

  it("reports an unknown executable as not installed", async () => {
    const { input } = await setup([{ text: "unused" }]);
    const result = await createClaudeHarness({ command: "/nonexistent/claude" }).run(input, () => {});
    expect(result.error?.code).toBe("LOOPD_HARNESS_NOT_INSTALLED");
  });
});

describe("claude preflight (real CLI)", () => {
  const base = () => ({ cwd: tmpdir(), baseUrl: null, signal: new AbortController().signal });
  const preflight = createClaudeHarness({ command: CLAUDE }).preflight!;

  it("finds the binary and its version, and tries ANTHROPIC_API_KEY where the run will talk", async () => {
    model = await startFakeModelServer({ script: [] });
    const env = {
      ...isolatedEnv(tempDir("loopd-claude-home-")),
      ANTHROPIC_API_KEY: "sk-x-accepted",
      ANTHROPIC_BASE_URL: model.url,
    };
    const result = await preflight({ ...base(), env });
    expect(result).toMatchObject({
      installed: true,
      command: CLAUDE,
      auth: "ok",
      authSource: "ANTHROPIC_API_KEY",
      authDetail: `accepted by ${model.url}/v1/models`,
      error: null,
    });
    expect(result.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(model.modelListRequests.map((request) => request.headers["x-api-key"])).toEqual(["sk-x-accepted"]);
  });

  it("a key the endpoint refuses is LOOPD_AUTH_EXPIRED, naming the variable and the login", async () => {
    model = await startFakeModelServer({ script: [], rejectKeys: true });
    const env = { ...isolatedEnv(tempDir("loopd-claude-home-")), ANTHROPIC_API_KEY: "sk-x-revoked" };
    // The tier's base URL (SDK style, with /v1) wins over the environment, as in the run.
    const result = await preflight({ ...base(), baseUrl: `${model.url}/v1`, env });
    expect(result).toMatchObject({ installed: true, auth: "expired", error: { code: "LOOPD_AUTH_EXPIRED" } });
    expect(result.error?.message).toBe(
      `claude: ANTHROPIC_API_KEY was rejected by ${model.url}/v1/models (HTTP 401: authentication_error: invalid x-api-key)`,
    );
    expect(result.error?.hint).toContain("Replace ANTHROPIC_API_KEY");
    expect(result.error?.hint).toContain("claude auth login");
    expect(result.error?.hint).toContain("loopd resume");
  });

  it("reports missing credentials with an empty HOME and no key", async () => {
    const result = await preflight({ ...base(), env: isolatedEnv(tempDir("loopd-claude-home-")) });
    expect(result).toMatchObject({ installed: true, auth: "missing", error: { code: "LOOPD_AUTH_MISSING" } });
    expect(result.error?.hint).toContain("/login");
    expect(result.error?.hint).toContain("ANTHROPIC_API_KEY");
  });

  it("reads the stored login: refreshable is ok, expired without a refresh token is expired", async () => {
    const env = isolatedEnv(tempDir("loopd-claude-home-"));
    const file = join(env.CLAUDE_CONFIG_DIR!, ".credentials.json");
    mkdirSync(dirname(file), { recursive: true });
    const login = (oauth: Record<string, unknown>) =>
      writeFileSync(
        file,
        JSON.stringify({ claudeAiOauth: { accessToken: "sk-ant-oat01-x", scopes: [], ...oauth } }),
      );

    login({ expiresAt: Date.now() + 3_600_000 });
    expect(await preflight({ ...base(), env })).toMatchObject({
      auth: "ok",
      authSource: "claude login",
      error: null,
    });
    login({ expiresAt: Date.now() - 1000, refreshToken: "sk-ant-ort01-y" });
    expect(await preflight({ ...base(), env })).toMatchObject({ auth: "ok", error: null });
    login({ expiresAt: Date.now() - 1000 });
    const expired = await preflight({ ...base(), env });
    expect(expired).toMatchObject({ auth: "expired", error: { code: "LOOPD_AUTH_EXPIRED" } });
    expect(expired.error?.hint).toContain("/login");
  });

  it("reports a command that is not on PATH as not installed", async () => {
    const env = { PATH: "/nonexistent", HOME: tmpdir() };
    const result = await createClaudeHarness({ command: "claude-bogus" }).preflight!({ ...base(), env });
    expect(result).toMatchObject({
      installed: false,
      command: null,
      error: { code: "LOOPD_HARNESS_NOT_INSTALLED" },
    });
    expect(result.error?.hint).toContain("npm i -g @anthropic-ai/claude-code");
  });
});
