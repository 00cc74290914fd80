/**
 * The opencode adapter's translation of `opencode run --format json`, on lines captured from
 * the real CLI (opencode-ai 1.18.33 against an OpenAI-compatible fake), its command line and
 * config, credentials check, and a whole run through a stand-in executable that replays a
 * captured transcript (CI has no opencode; opencode.e2e.test.ts drives the real one).
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { shellSpec } from "../../test/helpers/specs.js";
import type { AgentProcessResult } from "./agent-process.js";
import type { AgentInput, HarnessEvent, HarnessInput } from "./harness.js";
import {
  createOpencodeHarness,
  opencodeArgs,
  opencodeAuth,
  opencodeEnv,
  opencodeModel,
  opencodeResult,
} from "./opencode.js";
import { OpencodeEventParser } from "./opencode-events.js";

const SESSION = "ses_ddb5efbc9ffekaT9qUy8rtE6Sn";
const TOKENS = `"tokens":{"total":1020,"input":800,"output":15,"reasoning":5,"cache":{"write":0,"read":200}},"cost":0`;
const STEP_START = `{"type":"step_start","timestamp":1795910864782,"sessionID":"${SESSION}","part":{"id":"prt_224a10f5b001JSZeFWbd4PTM4l","messageID":"msg_224a10a54001orvksIp1zSrJtX","sessionID":"${SESSION}","snapshot":"fb0200b9331886e1814a9ab14a8f10cbdf350334","type":"step-start"}}`;
const WRITE = `{"type":"tool_use","timestamp":1795910864783,"sessionID":"${SESSION}","part":{"type":"tool","tool":"write","callID":"call_0","state":{"status":"completed","input":{"filePath":"hello.txt","content":"hi\\n"},"output":"Wrote file successfully.","metadata":{"diagnostics":{},"filepath":"/tmp/gem-scratch/oc-repo/hello.txt","exists":false,"truncated":false},"title":"hello.txt","time":{"start":1795910864748,"end":1795910864763}},"id":"prt_224a10f62001vckU4KSlYHmstc","sessionID":"${SESSION}","messageID":"msg_224a10a54001orvksIp1zSrJtX"}}`;
const TOOL_STEP_FINISH = `{"type":"step_finish","timestamp":1795910864896,"sessionID":"${SESSION}","part":{"id":"prt_224a10ff60011P7FrF1C3DVRKA","reason":"tool-calls","snapshot":"6ba5c3f62a8116a096b6f90be7382b98e7b90326","messageID":"msg_224a10a54001orvksIp1zSrJtX","sessionID":"${SESSION}","type":"step-finish",${TOKENS}}}`;
const SUCCESS = [
  STEP_START,
  WRITE,
  TOOL_STEP_FINISH,
  `{"type":"step_start","timestamp":1795910865168,"sessionID":"${SESSION}","part":{"id":"prt_224a110fb001jxoZMbYxNxnQtk","messageID":"msg_224a11069001EswVfLZ3lstP0G","sessionID":"${SESSION}","snapshot":"635a2b5d80ffbf8570c65838697109319db7d1d0","type":"step-start"}}`,
  `{"type":"reasoning","timestamp":1795910865170,"sessionID":"${SESSION}","part":{"id":"prt_224a11101001MUxE6jX6RBdlHl","messageID":"msg_224a11069001EswVfLZ3lstP0G","sessionID":"${SESSION}","type":"reasoning","text":"The file is written; wrap up.","time":{"start":1795910865153,"end":1795910865156}}}`,
  `{"type":"text","timestamp":1795910865170,"sessionID":"${SESSION}","part":{"id":"prt_224a11107001mbqiO6Tb0JYUks","messageID":"msg_224a11069001EswVfLZ3lstP0G","sessionID":"${SESSION}","type":"text","text":"done: wrote hello.txt\\nsecond line","time":{"start":1795910865160,"end":1795910865162}}}`,
  `{"type":"step_finish","timestamp":1795910865509,"sessionID":"${SESSION}","part":{"id":"prt_224a1125a001FnGXYHuwKolStG","reason":"stop","snapshot":"ede8799d82983b2dd62b7fae0cd1837611c721e5","messageID":"msg_224a11069001EswVfLZ3lstP0G","sessionID":"${SESSION}","type":"step-finish",${TOKENS}}}`,
];
const READ_FAILED = `{"type":"tool_use","timestamp":1795910873466,"sessionID":"ses_ddb5ed685ffeP5ZVxppeUNa7Dt","part":{"type":"tool","tool":"read","callID":"call_0","state":{"status":"error","input":{"filePath":"/nonexistent/x.txt"},"error":"File not found: /nonexistent/x.txt","time":{"start":1795910873426,"end":1795910873455}},"id":"prt_224a13148001GkePxdLoubnE8G","sessionID":"ses_ddb5ed685ffeP5ZVxppeUNa7Dt","messageID":"msg_224a12de2001Hz3o5Gf3a0TFqJ"}}`;
// opencode 1.18.33: a bash call whose command exits 3 (status "completed" all the same).
const BASH_EXIT_3 = `{"type":"tool_use","timestamp":1796376043950,"sessionID":"${SESSION}","part":{"type":"tool","tool":"bash","callID":"call_000003","state":{"status":"completed","input":{"command":"echo out; echo err >&2; exit 3","description":"x"},"output":"out\\nerr\\n","metadata":{"output":"out\\nerr\\n","exit":3,"truncated":false},"title":"echo out; echo err >&2; exit 3","time":{"start":1796376042728,"end":1796376043938}}}}`;
const KEY_REJECTED = `{"type":"error","timestamp":1795910506501,"sessionID":"ses_ddb6472f3ffeo57hE0ds8kIWep","error":{"name":"APIError","data":{"message":"Incorrect API key provided: sk-bad.","statusCode":401,"isRetryable":false,"responseHeaders":{"connection":"keep-alive","content-type":"application/json"},"responseBody":"{\\"error\\":{\\"message\\":\\"Incorrect API key provided: sk-bad.\\",\\"type\\":\\"invalid_request_error\\",\\"code\\":\\"invalid_api_key\\"}}","metadata":{"url":"http://127.0.0.1:18601/v1/chat/completions"}}}}`;
const SERVER_ERROR = `{"type":"error","timestamp":1795910506501,"sessionID":"${SESSION}","error":{"name":"APIError","data":{"message":"Internal error","statusCode":500,"isRetryable":true}}}`;

function parse(lines: string[], maxTurns = 10) {
  const events: HarnessEvent[] = [];
  const parser = new OpencodeEventParser(maxTurns, (event) => events.push(event));
  const answers = lines.map((line) => parser.onLine(line));
  return { state: parser.state, events, answers };
}

function proc(overrides: Partial<AgentProcessResult> = {}): AgentProcessResult {
  return { exitCode: 0, signal: null, stopped: false, spawnError: null, stderrTail: [], ...overrides };
}

const PRICING = { "fake-model": { input: 1, cachedInput: 0.1, output: 10 } };
const CONTEXT = {
  command: "opencode",
  model: "loopd/fake-model",
  aborted: false,
  maxTurns: 10,
  pricing: PRICING,
};

describe("OpencodeEventParser", () => {
  it("turns a successful run into session, tool, message and cumulative usage events", () => {
    const { state, events, answers } = parse(SUCCESS);
    expect(answers.every((answer) => answer === undefined)).toBe(true);
    expect(state).toMatchObject({
      sessionId: SESSION,
      turns: 2,
      finished: true,
      lastMessage: "done: wrote hello.txt\nsecond line",
      failure: null,
      authError: null,
      turnLimit: false,
    });
    // opencode's input excludes cache reads and its output excludes reasoning.
    expect(state.usage).toEqual({ tokensIn: 1600, tokensCached: 400, tokensOut: 40, tokensReasoning: 10 });
    expect(events).toEqual([
      { type: "status", data: { event: "session", sessionId: SESSION } },
      {
        type: "tool",
        data: {
          name: "write",
          id: "call_0",
          title: "hello.txt",
          input: '{"filePath":"hello.txt","content":"hi\\n"}',
          status: "completed",
          failed: false,
        },
      },
      { type: "usage", data: { tokensIn: 800, tokensCached: 200, tokensOut: 20, tokensReasoning: 5 } },
      { type: "message", data: { role: "reasoning", text: "The file is written; wrap up." } },
      { type: "message", data: { role: "assistant", text: "done: wrote hello.txt\nsecond line" } },
      { type: "usage", data: state.usage },
    ]);
  });

  it("reports a failed tool call with its error", () => {
    expect(parse([READ_FAILED]).events[1]).toEqual({
      type: "tool",
      data: {
        name: "read",
        id: "call_0",
        title: null,
        input: '{"filePath":"/nonexistent/x.txt"}',
        status: "error",
        failed: true,
        error: "File not found: /nonexistent/x.txt",
      },
    });
  });

  it("reports a bash command's exit code, which opencode keeps in its metadata", () => {
    expect(parse([BASH_EXIT_3]).events[1]).toEqual({
      type: "tool",
      data: {
        name: "bash",
        id: "call_000003",
        title: "echo out; echo err >&2; exit 3",
        input: '{"command":"echo out; echo err >&2; exit 3","description":"x"}',
        status: "completed",
        exitCode: 3,
        failed: true,
      },
    });
  });

  it("tells a rejected key from other API errors", () => {
    expect(parse([KEY_REJECTED]).state.authError).toBe("Incorrect API key provided: sk-bad. (HTTP 401)");
    const failed = parse([SERVER_ERROR]).state;
    expect(failed.authError).toBeNull();
    expect(failed.failure).toBe("Internal error (HTTP 500)");
  });

  it("stops after a tool-calling step when the next response would pass maxTurns", () => {
    const { state, answers } = parse([...SUCCESS.slice(0, 3), STEP_START, WRITE], 1);
    expect(answers).toEqual([undefined, undefined, "stop", undefined, undefined]);
    expect(state).toMatchObject({ turnLimit: true, turns: 1, finished: false });
    expect(parse(SUCCESS, 2).state.turnLimit).toBe(false);
  });

  it("also stops at a step past maxTurns that began without a finished one", () => {
    const { state, answers } = parse([STEP_START, WRITE, STEP_START], 1);
    expect(answers).toEqual([undefined, undefined, "stop"]);
    expect(state.turnLimit).toBe(true);
  });
});

describe("opencodeResult", () => {
  it("succeeds with usage, cost, turns and a one-line summary", () => {
    const result = opencodeResult(parse(SUCCESS).state, proc(), CONTEXT);
    expect(result).toMatchObject({
      outcome: "succeeded",
      error: null,
      summary: "done: wrote hello.txt",
      finalMessage: "done: wrote hello.txt\nsecond line",
      turns: 2,
      sessionId: SESSION,
    });
    // opencode priced it at 0 (a model it does not know): loopd's table gives 1600 × 1 + 400 × 0.1 + 40 × 10.
    expect(result.costUsd).toBe(0.00204);
    expect(result.modelUsage).toEqual([{ model: "loopd/fake-model", usage: result.usage, costUsd: 0.00204 }]);
  });

  it("keeps opencode's own cost when it has one", () => {
    const priced = SUCCESS.map((line) => line.replace('"cost":0', '"cost":0.0125'));
    expect(opencodeResult(parse(priced).state, proc(), CONTEXT).costUsd).toBe(0.025);
  });

  it("maps failures to loopd's error codes", () => {
    const code = (lines: string[], p: Partial<AgentProcessResult> = {}, maxTurns = 10) =>
      opencodeResult(parse(lines, maxTurns).state, proc(p), { ...CONTEXT, maxTurns }).error?.code;
    expect(code([KEY_REJECTED], { exitCode: 1 })).toBe("LOOPD_AUTH_EXPIRED");
    expect(code([SERVER_ERROR], { exitCode: 1 })).toBe("LOOPD_AGENT_FAILED");
    expect(code(SUCCESS.slice(0, 3), { stopped: true, signal: "SIGTERM" }, 1)).toBe("LOOPD_TURN_LIMIT");
    expect(code([], { exitCode: null, spawnError: "spawn opencode ENOENT" })).toBe(
      "LOOPD_HARNESS_NOT_INSTALLED",
    );
    const cut = opencodeResult(
      parse(SUCCESS.slice(0, 3)).state,
      proc({ exitCode: 1, stderrTail: ["Error: boom"] }),
      CONTEXT,
    );
    expect(cut.error).toEqual({
      code: "LOOPD_AGENT_FAILED",
      message: "opencode exited with 1 before finishing: Error: boom",
    });
  });
});

function harnessInput(
  cwd: string,
  env: Record<string, string>,
  agent: Partial<AgentInput> | null = {},
): HarnessInput {
  return {
    runId: 1,
    routine: "r",
    spec: shellSpec("r", { harness: "opencode", task: { kind: "prompt", prompt: "p" } }),
    attempt: 1,
    dueAt: 0,
    cwd,
    env,
    input: null,
    agent:
      agent === null
        ? null
        : {
            prompt: "-write hello.txt",
            systemPrompt: "",
            model: null,
            baseUrl: null,
            maxTurns: 5,
            maxBudgetUsd: null,
            mcpConfig: null,
            subAgents: [],
            ...agent,
          },
    signal: new AbortController().signal,
  };
}

describe("opencode command line and config", () => {
  it("runs with JSON events and permissions approved, the prompt kept off argv", () => {
    expect(opencodeArgs(harnessInput("/repo", {}), ["--variant", "high"])).toEqual([
      "run",
      "--format",
      "json",
      "--auto",
      "--thinking",
      "--variant",
      "high",
    ]);
  });

  it("names models provider/model, adding the provider for bare ids", () => {
    expect(opencodeModel("claude-sonnet-4-5")).toBe("anthropic/claude-sonnet-4-5");
    expect(opencodeModel("gpt-5")).toBe("openai/gpt-5");
    expect(opencodeModel("gemini-2.5-pro")).toBe("google/gemini-2.5-pro");
    expect(opencodeModel("openrouter/qwen/qwen3-coder")).toBe("openrouter/qwen/qwen3-coder");
    expect(opencodeArgs(harnessInput("/repo", {}, { model: "qwen3", baseUrl: "http://h/v1" }), [])).toContain(
      "loopd/qwen3",
    );
  });

  it("adds loopd's instructions and the tier's server to the routine's own config", () => {
    const own = JSON.stringify({ instructions: ["docs/style.md"], provider: { ollama: { npm: "x" } } });
    const env = opencodeEnv(
      harnessInput(
        "/repo",
        { OPENCODE_CONFIG_CONTENT: own },
        { model: "qwen3", baseUrl: "http://h:11434/v1/" },
      ),
      "/tmp/loopd-opencode-x/loopd-instructions.md",
    );
    expect(env.OPENCODE_DISABLE_AUTOUPDATE).toBe("1");
    expect(JSON.parse(env.OPENCODE_CONFIG_CONTENT ?? "")).toEqual({
      instructions: ["docs/style.md", "/tmp/loopd-opencode-x/loopd-instructions.md"],
      provider: {
        ollama: { npm: "x" },
        loopd: {
          npm: "@ai-sdk/openai-compatible",
          name: "loopd",
          options: { baseURL: "http://h:11434/v1", apiKey: "{env:OPENAI_API_KEY}" },
          models: { qwen3: { name: "qwen3" } },
        },
      },
    });
    expect(opencodeEnv(harnessInput("/repo", {}), null)).toEqual({ OPENCODE_DISABLE_AUTOUPDATE: "1" });
  });
});

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "loopd-opencode-test-"));
  dirs.push(dir);
  return dir;
}

describe("opencodeAuth", () => {
  it("finds stored logins, provider keys, configured providers, or nothing", () => {
    const home = tempDir();
    expect(opencodeAuth({ HOME: home }, home, null)).toBeNull();
    expect(opencodeAuth({ HOME: home, OPENROUTER_API_KEY: "k" }, home, null)).toEqual({
      state: "ok",
      source: "OPENROUTER_API_KEY",
    });
    expect(opencodeAuth({ HOME: home }, home, "http://localhost:11434/v1")).toMatchObject({
      state: "unknown",
    });
    writeFileSync(join(home, "opencode.json"), '{"provider":{"ollama":{}}}');
    expect(opencodeAuth({ HOME: home }, home, null)).toMatchObject({ state: "unknown" });
    mkdirSync(join(home, ".local", "share", "opencode"), { recursive: true });
    writeFileSync(
      join(home, ".local", "share", "opencode", "auth.json"),
      '{"anthropic":{"type":"api","key":"sk"}}',
    );
    expect(opencodeAuth({ HOME: home }, home, null)).toEqual({
      state: "ok",
      source: "opencode auth login (anthropic)",
    });
  });
});

/** A stand-in `opencode` that records its argv, stdin and config, then replays `lines`. */
function fakeOpencode(dir: string, lines: string[]): string {
  const path = join(dir, "opencode");
  writeFileSync(join(dir, "transcript.jsonl"), `${lines.join("\n")}\n`);
  writeFileSync(
    path,
    `#!/bin/sh
if [ "$1" = "--version" ]; then echo "1.18.33"; exit 0; fi
printf '%s\\n' "$@" > "${dir}/argv"
cat > "${dir}/stdin"
printf '%s' "$OPENCODE_CONFIG_CONTENT" > "${dir}/config"
for file in $(printf '%s' "$OPENCODE_CONFIG_CONTENT" | sed -n 's/.*"instructions":\\["\\([^"]*\\)".*/\\1/p'); do cat "$file" > "${dir}/instructions"; done
cat "${dir}/transcript.jsonl"
`,
  );
  chmodSync(path, 0o755);
  return path;
}

describe("opencode harness", () => {
  it("runs the CLI with the prompt on stdin and loopd's instructions file, then cleans up", async () => {
    const dir = tempDir();
    const harness = createOpencodeHarness({ command: fakeOpencode(dir, SUCCESS), pricing: PRICING });
    const events: HarnessEvent[] = [];
    const input = harnessInput(
      dir,
      { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      { systemPrompt: "Write memory to .loopd/memory.md" },
    );
    const result = await harness.run(input, (event) => events.push(event));
    expect(result).toMatchObject({ outcome: "succeeded", sessionId: SESSION, turns: 2, exitCode: 0 });
    expect(readFileSync(join(dir, "stdin"), "utf8")).toBe("-write hello.txt");
    expect(readFileSync(join(dir, "instructions"), "utf8")).toBe("Write memory to .loopd/memory.md");
    const file = JSON.parse(readFileSync(join(dir, "config"), "utf8")).instructions[0];
    expect(() => readFileSync(file)).toThrow(/ENOENT/);
    expect(events.filter((event) => event.type === "usage")).toHaveLength(2);
  });

  it("refuses tasks without an agent block, and a base URL without a model", async () => {
    const harness = createOpencodeHarness();
    expect((await harness.run(harnessInput("/repo", {}, null), () => {})).error?.code).toBe(
      "LOOPD_HARNESS_MISMATCH",
    );
    const noModel = await harness.run(harnessInput("/repo", {}, { baseUrl: "http://h/v1" }), () => {});
    expect(noModel.error?.message).toContain("needs a model");
  });

  it("preflight finds the binary and its version, or says how to install it", async () => {
    const dir = tempDir();
    const command = fakeOpencode(dir, []);
    const signal = new AbortController().signal;
    const env = { PATH: dir, HOME: dir, ANTHROPIC_API_KEY: "k" };
    const ok = await createOpencodeHarness().preflight?.({ env, cwd: dir, baseUrl: null, signal });
    expect(ok).toMatchObject({
      harness: "opencode",
      installed: true,
      command,
      version: "1.18.33",
      auth: "ok",
      authSource: "ANTHROPIC_API_KEY",
      error: null,
    });
    const missing = await createOpencodeHarness({ command: join(dir, "nope") }).preflight?.({
      env,
      cwd: dir,
      baseUrl: null,
      signal,
    });
    expect(missing).toMatchObject({
      installed: false,
      error: { code: "LOOPD_HARNESS_NOT_INSTALLED", hint: expect.stringContaining("npm i -g opencode-ai") },
    });
    const noKey = await createOpencodeHarness().preflight?.({
      env: { PATH: dir, HOME: dir },
      cwd: dir,
      baseUrl: null,
      signal,
    });
    expect(noKey).toMatchObject({
      auth: "missing",
      error: { code: "LOOPD_AUTH_MISSING", hint: expect.stringContaining("opencode auth login") },
    });
  });
});
