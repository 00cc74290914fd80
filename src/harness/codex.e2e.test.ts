/**
 * The codex harness against the real Codex CLI (node_modules/.bin/codex) and the fake model
 * server: files really get written through Codex's sandboxed tools, the turn cap and aborts
 * really stop the process tree, a 401 fails fast, a failing command's exit code is reported.
 * Each test gets its own CODEX_HOME, so no real login is read, and an unreachable proxy, so
 * anything that tries to phone home fails at once instead of leaving the machine.
 *
 * CODEX_HOME lives outside the temp dir: inside it, Codex will not lay out its sandbox helper,
 * and with a system bubblewrap (Debian's `bubblewrap`) no command can run. That case has tests
 * of its own, with and without a bubblewrap on PATH, so the file passes on machines of both kinds.
 */
import { existsSync, readFileSync, symlinkSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { processesIn, processesRunning } from "../../test/helpers/processes.js";
import { shellSpec } from "../../test/helpers/specs.js";
import { useTempDirs } from "../../test/helpers/temp-dirs.js";
import type { Script } from "../../test/support/fake-model/script.js";
import { type FakeModelServer, startFakeModelServer } from "../../test/support/fake-model/server.js";
import { CODEX_PROVIDER, createCodexHarness } from "./codex.js";
import { findExecutable } from "./executable.js";
import type { AgentInput, HarnessEvent, HarnessInput } from "./harness.js";

const CODEX = resolve(dirname(fileURLToPath(import.meta.url)), "../../node_modules/.bin/codex");
// gpt-5.5 is in Codex's model catalogue with classic function tools (exec_command,
// apply_patch); the newer default models speak "code mode", which the script would have to mimic.
const MODEL = "gpt-5.5";
const PRICING = { [MODEL]: { input: 2, cachedInput: 0.2, output: 10 } };
// Hermetic test runs: no plugin marketplace (github.com) or apps (chatgpt.com) sync, and a
// failing stream is retried once, not five times.
const TEST_ARGS = [
  "-c",
  "features.plugins=false",
  "-c",
  "features.apps=false",
  "-c",
  `model_providers.${CODEX_PROVIDER}.request_max_retries=0`,
  "-c",
  `model_providers.${CODEX_PROVIDER}.stream_max_retries=1`,
];
// Quotes, backslashes, newlines and TOML syntax: it travels as a `-c` TOML string.
const SYSTEM_PROMPT = 'Write memory to .loopd/memory.md.\nSay "done" \\ then stop = [ok] \u007f';
const harness = createCodexHarness({ command: CODEX, extraArgs: TEST_ARGS, pricing: PRICING });

let model: FakeModelServer | null = null;
afterEach(async () => {
  await model?.close();
  model = null;
});
const tempDir = useTempDirs();

/** A parent for CODEX_HOME that is not the temp dir (where Codex will not put its sandbox helper). */
const HOME_PARENT = ["/var/tmp", homedir()].find(
  (dir) => !dir.startsWith(tmpdir()) && !dir.startsWith("/tmp"),
)!;
/** The system bubblewrap Codex would use, if this machine has one. */
const SYSTEM_BWRAP = findExecutable("bwrap", process.env.PATH);

interface SetupOptions {
  /** CODEX_HOME (and HOME); default a fresh folder outside the temp dir. */
  home?: string;
  /** The run's PATH; default this process's. */
  path?: string;
}

async function setup(
  script: Script,
  agent: Partial<AgentInput> = {},
  signal = new AbortController().signal,
  options: SetupOptions = {},
) {
  model = await startFakeModelServer({ script });
  const cwd = tempDir("loopd-codex-cwd-");
  const home = options.home ?? tempDir("loopd-codex-home-", HOME_PARENT);
  const input: HarnessInput = {
    runId: 1,
    routine: "codex-test",
    spec: shellSpec("codex-test", { harness: "codex", task: { kind: "prompt", prompt: "Create hello.txt" } }),
    attempt: 1,
    dueAt: Date.now(),
    cwd,
    env: {
      PATH: options.path ?? process.env.PATH ?? "/usr/bin:/bin",
      HOME: home,
      CODEX_HOME: home,
      OPENAI_API_KEY: "sk-fake-test-key",
      HTTPS_PROXY: "http://127.0.0.1:9",
      HTTP_PROXY: "http://127.0.0.1:9",
      NO_PROXY: "127.0.0.1,localhost",
    },
    input: null,
    agent: {
      prompt: "Create hello.txt containing hello.",
      systemPrompt: SYSTEM_PROMPT,
      model: MODEL,
      baseUrl: `${model.url}/v1`,
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

/**
 * Processes still working in `dir` after a short grace: a sandbox helper codex was starting as
 * it died can take a moment to notice and exit by itself.
 */
async function leftoverIn(dir: string): Promise<number[]> {
  for (let waited = 0; waited < 2_000; waited += 50) {
    if (processesIn(dir).length === 0) return [];
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return processesIn(dir);
}

describe("codex harness (real CLI)", () => {
  it("writes a file through Codex's tool and records usage, cost, turns and the session", async () => {
    const { input, events, emit, server } = await setup([
      {
        toolCalls: [{ name: "exec_command", input: { cmd: "printf hello > hello.txt" } }],
        usage: { input: 1000, cached: 200, output: 50, reasoning: 10 },
      },
      { text: "Created hello.txt.\nIt says hello.", usage: { input: 300, cached: 1000, output: 20 } },
    ]);
    const started = Date.now();
    const result = await harness.run(input, emit);
    const elapsed = Date.now() - started;

    expect(result.error).toBeNull();
    expect(result.outcome).toBe("succeeded");
    expect(readFileSync(join(input.cwd, "hello.txt"), "utf8")).toBe("hello");
    expect(result.usage).toEqual({ tokensIn: 1300, tokensCached: 1200, tokensOut: 70, tokensReasoning: 10 });
    expect(result.costUsd).toBeCloseTo((1300 * 2 + 1200 * 0.2 + 70 * 10) / 1e6, 9);
    expect(result.modelUsage).toEqual([{ model: MODEL, usage: result.usage, costUsd: result.costUsd }]);
    expect(result.turns).toBe(2);
    expect(result.summary).toBe("Created hello.txt.");
    expect(result.finalMessage).toBe("Created hello.txt.\nIt says hello.");
    expect(result.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(events).toContainEqual({
      type: "status",
      data: { event: "session", sessionId: result.sessionId },
    });
    expect(events).toContainEqual(
      expect.objectContaining({ type: "tool", data: expect.objectContaining({ name: "command" }) }),
    );
    expect(events).toContainEqual({
      type: "message",
      data: { role: "assistant", text: result.finalMessage },
    });
    // The routine's instructions reached the model as developer instructions, with the model id.
    const first = server.turns()[0];
    expect(first?.model).toBe(MODEL);
    const texts = ((first?.body.input ?? []) as Array<{ role?: string; content?: Array<{ text?: string }> }>)
      .filter((item) => item.role === "developer")
      .flatMap((item) => (item.content ?? []).map((part) => part.text ?? ""));
    expect(texts.some((text) => text.includes(SYSTEM_PROMPT))).toBe(true);
    expect(first?.headers.authorization).toBe("Bearer sk-fake-test-key");
    expect(elapsed).toBeLessThan(15_000);
  });

  it("edits through apply_patch inside the workspace-write sandbox, and cannot write outside it", async () => {
    // Not under /tmp: workspace-write also lets commands write to /tmp and $TMPDIR.
    const outside = join(tempDir("loopd-codex-outside-", "/var/tmp"), "escaped.txt");
    const { input } = await setup([
      { toolCalls: [{ name: "exec_command", input: { cmd: `echo no > ${outside}` } }] },
      {
        toolCalls: [
          {
            name: "apply_patch",
            input: { input: "*** Begin Patch\n*** Add File: notes.md\n+patched\n*** End Patch\n" },
          },
        ],
      },
      { text: "done" },
    ]);
    const result = await harness.run(input, () => {});
    expect(result.outcome).toBe("succeeded");
    expect(readFileSync(join(input.cwd, "notes.md"), "utf8")).toBe("patched\n");
    expect(existsSync(outside)).toBe(false);
  });

  it("stops a model that keeps calling tools at maxTurns and leaves no process behind", async () => {
    const { input, server } = await setup(
      () => ({ toolCalls: [{ name: "exec_command", input: { cmd: "echo again" } }] }),
      {
        maxTurns: 2,
      },
    );
    const started = Date.now();
    const result = await harness.run(input, () => {});
    expect(result.outcome).toBe("failed");
    expect(result.error?.code).toBe("LOOPD_TURN_LIMIT");
    expect(result.turns).toBe(2);
    // Codex is stopped when it starts the second tool; a quick tool can finish and its result
    // reach the model before the signal lands, so at most one more request gets out.
    expect(server.turns().length).toBeGreaterThanOrEqual(2);
    expect(server.turns().length).toBeLessThanOrEqual(3);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await leftoverIn(input.cwd)).toEqual([]);
  });

  it("fails fast with LOOPD_AUTH_EXPIRED when the key is rejected", async () => {
    const { input, server } = await setup(() => ({ status: 401 }));
    const result = await harness.run(input, () => {});
    expect(result.outcome).toBe("failed");
    expect(result.error?.code).toBe("LOOPD_AUTH_EXPIRED");
    expect(result.error?.message).toContain("401");
    // Codex alone would retry the stream five times (about 6 s) before giving up: loopd stops
    // it at the first 401 (a retry may already be on its way when the signal lands).
    // Counted, not timed: Codex's start-up alone takes 3 s on a busy machine.
    expect(server.turns().length).toBeGreaterThanOrEqual(1);
    expect(server.turns().length).toBeLessThanOrEqual(2);
    expect(await leftoverIn(input.cwd)).toEqual([]);
  });

  it("stops the agent and the command it is running when the run is aborted", async () => {
    const abort = new AbortController();
    const marker = `59.${process.pid}`;
    const { input } = await setup(
      [{ toolCalls: [{ name: "exec_command", input: { cmd: `sleep ${marker}`, yield_time_ms: 60_000 } }] }],
      {},
      abort.signal,
    );
    // Abort once the command Codex started is really running.
    const poll = setInterval(() => {
      if (processesRunning(marker).length > 0) abort.abort();
    }, 50);
    const started = Date.now();
    const result = await harness.run(input, () => {}).finally(() => clearInterval(poll));
    expect(abort.signal.aborted).toBe(true);
    expect(result.outcome).toBe("failed");
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(await leftoverIn(input.cwd)).toEqual([]);
    expect(processesRunning(marker)).toEqual([]);
  });

  it("reports a failing command with its exit code; the turn still ends as Codex says", async () => {
    const { input, events } = await setup([
      {
        toolCalls: [
          { name: "exec_command", input: { cmd: "printf hello > hello.txt; echo broke >&2; exit 3" } },
        ],
      },
      { text: "done: everything worked" },
    ]);
    const result = await harness.run(input, (event) => events.push(event));
    expect(result.outcome).toBe("succeeded");
    expect(readFileSync(join(input.cwd, "hello.txt"), "utf8")).toBe("hello");
    const finished = events.filter((event) => event.type === "tool" && "failed" in (event.data as object));
    expect(finished).toEqual([
      {
        type: "tool",
        data: expect.objectContaining({ name: "command", exitCode: 3, failed: true, output: "broke" }),
      },
    ]);
  });

  it("with sandbox read-only, Codex refuses the agent's writes", async () => {
    const readOnly = createCodexHarness({
      command: CODEX,
      extraArgs: TEST_ARGS,
      pricing: PRICING,
      sandbox: "read-only",
    });
    const { input, server } = await setup([
      { toolCalls: [{ name: "exec_command", input: { cmd: "printf hello > hello.txt" } }] },
      { text: "done" },
    ]);
    const result = await readOnly.run(input, () => {});
    expect(result.outcome).toBe("succeeded");
    expect(existsSync(join(input.cwd, "hello.txt"))).toBe(false);
    // Codex 0.171 reports no item for a command run under read-only; the model is told.
    expect(JSON.stringify(server.turns()[1]?.body.input)).toContain("Read-only file system");
  });

  it.skipIf(SYSTEM_BWRAP === null)(
    "with CODEX_HOME in the temp dir and a system bubblewrap, fails LOOPD_HARNESS_BROKEN before asking the model",
    async () => {
      const home = tempDir("loopd-codex-home-", "/tmp");
      const { input, server } = await setup(
        [
          { toolCalls: [{ name: "exec_command", input: { cmd: "printf hello > hello.txt" } }] },
          { text: "done" },
        ],
        {},
        undefined,
        { home },
      );
      const started = Date.now();
      const result = await harness.run(input, () => {});
      expect(result.outcome).toBe("failed");
      expect(result.error?.code).toBe("LOOPD_HARNESS_BROKEN");
      expect(result.error?.message).toContain(`CODEX_HOME (${home})`);
      expect(result.error?.message).toContain(SYSTEM_BWRAP);
      expect(result.error?.hint).toContain("harnesses.codex.sandbox: danger-full-access");
      expect(result.error?.hint).toContain("CODEX_HOME");
      expect(server.turns()).toEqual([]);
      expect(existsSync(join(input.cwd, "hello.txt"))).toBe(false);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(await leftoverIn(input.cwd)).toEqual([]);
    },
  );

  it("without a system bubblewrap, CODEX_HOME in the temp dir works (Codex's own needs no helper)", async () => {
    // A PATH with node (codex's launcher) and nothing else: no bwrap on it.
    const bin = tempDir("loopd-codex-path-");
    symlinkSync(process.execPath, join(bin, "node"));
    const { input } = await setup(
      [
        { toolCalls: [{ name: "exec_command", input: { cmd: "printf hello > hello.txt" } }] },
        { text: "done" },
      ],
      {},
      undefined,
      { home: tempDir("loopd-codex-home-", "/tmp"), path: bin },
    );
    const result = await harness.run(input, () => {});
    expect(result.error).toBeNull();
    expect(readFileSync(join(input.cwd, "hello.txt"), "utf8")).toBe("hello");
  });

  it("sandbox danger-full-access runs commands whatever CODEX_HOME and bubblewrap are", async () => {
    const unsandboxed = createCodexHarness({
      command: CODEX,
      extraArgs: TEST_ARGS,
      pricing: PRICING,
      sandbox: "danger-full-access",
    });
    const { input } = await setup(
      [
        { toolCalls: [{ name: "exec_command", input: { cmd: "printf hello > hello.txt" } }] },
        { text: "done" },
      ],
      {},
      undefined,
      { home: tempDir("loopd-codex-home-", "/tmp") },
    );
    const result = await unsandboxed.run(input, () => {});
    expect(result.error).toBeNull();
    expect(readFileSync(join(input.cwd, "hello.txt"), "utf8")).toBe("hello");
  });

  it("prices the model Codex chose when the routine names none", async () => {
    const { input, server } = await setup([{ text: "nothing to do" }], { model: null });
    const result = await harness.run(input, () => {});
    expect(result.outcome).toBe("succeeded");
    const used = server.turns()[0]?.model;
    expect(used).toBeTruthy();
    expect(result.modelUsage?.[0]?.model).toBe(used);
  });

  it("reports an unknown executable as not installed", async () => {
    const { input } = await setup([{ text: "unused" }]);
    const result = await createCodexHarness({ command: "/nonexistent/codex" }).run(input, () => {});
    expect(result.error?.code).toBe("LOOPD_HARNESS_NOT_INSTALLED");
  });
});

describe("codex preflight (real CLI)", () => {
  const base = () => ({ cwd: tmpdir(), baseUrl: null, signal: new AbortController().signal });

  it("finds the binary and its version, and tries OPENAI_API_KEY at the tier's server", async () => {
    model = await startFakeModelServer({ script: [] });
    const home = tempDir("loopd-codex-home-");
    const env = { PATH: process.env.PATH ?? "", HOME: home, CODEX_HOME: home, OPENAI_API_KEY: "sk-x" };
    const result = await createCodexHarness({ command: CODEX }).preflight?.({
      ...base(),
      baseUrl: `${model.url}/v1`,
      env,
    });
    expect(result).toMatchObject({
      installed: true,
      command: CODEX,
      auth: "ok",
      authSource: "OPENAI_API_KEY",
      authDetail: `accepted by ${model.url}/v1/models`,
      error: null,
    });
    expect(result?.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(model.modelListRequests.map((request) => request.headers.authorization)).toEqual(["Bearer sk-x"]);
  });

  it("a key the endpoint refuses is LOOPD_AUTH_EXPIRED, with OpenAI's message and the fix", async () => {
    model = await startFakeModelServer({ script: [], rejectKeys: true });
    const home = tempDir("loopd-codex-home-");
    const env = {
      PATH: process.env.PATH ?? "",
      HOME: home,
      CODEX_HOME: home,
      OPENAI_API_KEY: "sk-x-revoked",
      OPENAI_BASE_URL: `${model.url}/v1`,
    };
    const result = await createCodexHarness({ command: CODEX }).preflight?.({ ...base(), env });
    expect(result).toMatchObject({ auth: "expired", error: { code: "LOOPD_AUTH_EXPIRED" } });
    expect(result?.error?.message).toContain("codex: OPENAI_API_KEY was rejected by");
    expect(result?.error?.message).toContain("Incorrect API key provided");
    expect(result?.error?.hint).toContain("codex login");
  });

  it("reports missing credentials with an empty CODEX_HOME and no key", async () => {
    const home = tempDir("loopd-codex-home-");
    const env = { PATH: process.env.PATH ?? "", HOME: home, CODEX_HOME: home };
    const result = await createCodexHarness({ command: CODEX }).preflight?.({ ...base(), env });
    expect(result).toMatchObject({ installed: true, auth: "missing", error: { code: "LOOPD_AUTH_MISSING" } });
    expect(result?.error?.hint).toContain("codex login");
  });

  it("reports a command that is not on PATH as not installed", async () => {
    const env = { PATH: "/nonexistent", HOME: tmpdir() };
    const result = await createCodexHarness({ command: "codex-bogus" }).preflight?.({ ...base(), env });
    expect(result).toMatchObject({
      installed: false,
      command: null,
      error: { code: "LOOPD_HARNESS_NOT_INSTALLED" },
    });
    expect(result?.error?.hint).toContain("npm i -g @openai/codex");
  });
});
