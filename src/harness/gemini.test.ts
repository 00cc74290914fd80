/**
 * The gemini adapter's translation of `gemini --output-format stream-json`, on lines captured
 * from the real CLI (@google/gemini-cli 0.61.0 against a Gemini-protocol fake), its command
 * line, credentials check, and a whole run through a stand-in executable that replays a
 * captured transcript (CI has no Gemini CLI; gemini.e2e.test.ts drives the real one).
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { shellSpec } from "../../test/helpers/specs.js";
import { startFakeModelServer } from "../../test/support/fake-model/server.js";
import type { AgentProcessResult } from "./agent-process.js";
import { createGeminiHarness, geminiArgs, geminiAuth, geminiEnv, geminiResult } from "./gemini.js";
import { GeminiEventParser } from "./gemini-events.js";
import type { AgentInput, HarnessEvent, HarnessInput } from "./harness.js";

const SESSION = "78762eb3-3c19-4a63-bd9d-dde9c6a4fe28";
const STATS = `{"total_tokens":2050,"input_tokens":2000,"output_tokens":40,"cached":400,"input":1600,"duration_ms":272,"tool_calls":2,"models":{"gemini-2.5-flash":{"total_tokens":2050,"input_tokens":2000,"output_tokens":40,"cached":400,"input":1600}}}`;
// One response with text and two parallel calls (announced before either runs), then the
// answer, here in two deltas as longer answers stream.
const SUCCESS = [
  `{"type":"init","timestamp":"2026-11-29T00:06:12.853Z","session_id":"${SESSION}","model":"gemini-2.5-flash"}`,
  `{"type":"message","timestamp":"2026-11-29T00:06:12.854Z","role":"user","content":"write a.txt and run exit 3\\n"}`,
  `{"type":"message","timestamp":"2026-11-29T00:06:12.891Z","role":"assistant","content":"Writing both files.","delta":true}`,
  `{"type":"tool_use","timestamp":"2026-11-29T00:06:12.933Z","tool_name":"write_file","tool_id":"write_file__write_file_1795910772891_0","parameters":{"file_path":"a.txt","content":"a\\n"}}`,
  `{"type":"tool_use","timestamp":"2026-11-29T00:06:12.935Z","tool_name":"run_shell_command","tool_id":"run_shell_command__run_shell_command_1795910772933_1","parameters":{"command":"exit 3"}}`,
  `{"type":"tool_result","timestamp":"2026-11-29T00:06:13.099Z","tool_id":"write_file__write_file_1795910772891_0","status":"success"}`,
  `{"type":"tool_result","timestamp":"2026-11-29T00:06:13.099Z","tool_id":"run_shell_command__run_shell_command_1795910772933_1","status":"success","output":"Command exited with code: 3"}`,
  `{"type":"message","timestamp":"2026-11-29T00:06:13.123Z","role":"assistant","content":"done: wrote hello.txt","delta":true}`,
  `{"type":"message","timestamp":"2026-11-29T00:06:13.124Z","role":"assistant","content":"\\nsecond line","delta":true}`,
  `{"type":"result","timestamp":"2026-11-29T00:06:13.125Z","status":"success","stats":${STATS}}`,
];
const ZERO_STATS = `{"total_tokens":0,"input_tokens":0,"output_tokens":0,"cached":0,"input":0,"duration_ms":0,"tool_calls":0,"models":{"gemini-2.5-flash":{"total_tokens":0,"input_tokens":0,"output_tokens":0,"cached":0,"input":0}}}`;
const KEY_INVALID = `{"type":"result","timestamp":"2026-11-28T23:52:10.304Z","status":"error","error":{"type":"unknown","message":"[API Error: {\\"error\\":{\\"code\\":400,\\"message\\":\\"API key not valid. Please pass a valid API key.\\",\\"status\\":\\"INVALID_ARGUMENT\\",\\"details\\":[{\\"@type\\":\\"type.googleapis.com/google.rpc.ErrorInfo\\",\\"reason\\":\\"API_KEY_INVALID\\",\\"domain\\":\\"googleapis.com\\"}]}}]"},"stats":${ZERO_STATS}}`;
const FORBIDDEN = `{"type":"result","timestamp":"2026-11-28T23:56:23.535Z","status":"error","error":{"type":"unknown","message":"[API Error: {\\"error\\":{\\"code\\":403,\\"message\\":\\"Permission denied: Consumer has been suspended.\\",\\"status\\":\\"PERMISSION_DENIED\\"}}]"},"stats":${ZERO_STATS}}`;
const TOOL = (n: number) => [
  `{"type":"tool_use","timestamp":"2026-11-28T23:52:04.309Z","tool_name":"write_file","tool_id":"write_file__write_file_${n}_0","parameters":{"file_path":"hello.txt","content":"hi\\n"}}`,
  `{"type":"tool_result","timestamp":"2026-11-28T23:52:04.588Z","tool_id":"write_file__write_file_${n}_0","status":"success"}`,
];
const LOOP_DETECTED = `{"type":"error","timestamp":"2026-11-28T23:52:04.915Z","severity":"warning","message":"Loop detected, stopping execution"}`;

function parse(lines: string[], maxTurns = 10) {
  const events: HarnessEvent[] = [];
  const parser = new GeminiEventParser(maxTurns, (event) => events.push(event));
  const answers = lines.map((line) => parser.onLine(line));
  parser.finish();
  return { state: parser.state, events, answers };
}

function proc(overrides: Partial<AgentProcessResult> = {}): AgentProcessResult {
  return { exitCode: 0, signal: null, stopped: false, spawnError: null, stderrTail: [], ...overrides };
}

const CONTEXT = {
  command: "gemini",
  aborted: false,
  maxTurns: 10,
  pricing: { "gemini-2.5-flash": { input: 0.3, cachedInput: 0.075, output: 2.5 } },
};

describe("GeminiEventParser", () => {
  it("turns a successful run into session, message, tool and usage events", () => {
    const { state, events, answers } = parse(SUCCESS);
    expect(answers.every((answer) => answer === undefined)).toBe(true);
    expect(state).toMatchObject({
      sessionId: SESSION,
      model: "gemini-2.5-flash",
      completed: true,
      turns: 2,
      lastMessage: "done: wrote hello.txt\nsecond line",
      failure: null,
      authError: null,
      turnLimit: false,
    });
    // input_tokens is the whole prompt and output_tokens leaves out the thoughts, which are
    // only in total_tokens: 2050 - 2000 - 40 = 10.
    const usage = { tokensIn: 1600, tokensCached: 400, tokensOut: 50, tokensReasoning: 10 };
    expect(state.usage).toEqual(usage);
    expect(state.models).toEqual([{ model: "gemini-2.5-flash", usage }]);
    expect(events.filter((event) => event.type !== "tool")).toEqual([
      { type: "status", data: { event: "session", sessionId: SESSION, model: "gemini-2.5-flash" } },
      { type: "message", data: { role: "assistant", text: "Writing both files." } },
      { type: "message", data: { role: "assistant", text: "done: wrote hello.txt\nsecond line" } },
      { type: "usage", data: usage },
    ]);
    expect(events).toContainEqual({
      type: "tool",
      data: {
        name: "run_shell_command",
        id: "run_shell_command__run_shell_command_1795910772933_1",
        input: '{"command":"exit 3"}',
      },
    });
    expect(events).toContainEqual({
      type: "tool",
      data: {
        name: "run_shell_command",
        id: "run_shell_command__run_shell_command_1795910772933_1",
        status: "success",
        // The CLI says success; the exit code it shows says otherwise.
        exitCode: 3,
        failed: true,
      },
    });
  });

  it("takes a rejected or suspended key as an auth error", () => {
    expect(parse([SUCCESS[0] ?? "", KEY_INVALID]).state.authError).toContain("API key not valid");
    const forbidden = parse([SUCCESS[0] ?? "", FORBIDDEN]).state;
    expect(forbidden.authError).toContain("Consumer has been suspended");
    expect(forbidden.completed).toBe(false);
  });

  it("stops before running the tool whose follow-up response would pass maxTurns", () => {
    const { state, answers } = parse([SUCCESS[0] ?? "", ...TOOL(1), ...TOOL(2), ...TOOL(3)], 2);
    expect(answers).toEqual([undefined, undefined, undefined, "stop", undefined, undefined, undefined]);
    expect(state.turnLimit).toBe(true);
    expect(state.turns).toBe(2);
  });

  it("counts parallel calls of one response as one turn", () => {
    const { state, answers } = parse(SUCCESS, 2);
    expect(answers).not.toContain("stop");
    expect(state.turns).toBe(2);
  });

  it("keeps the CLI's own loop detection as a warning of a finished run", () => {
    const result = `{"type":"result","timestamp":"2026-11-28T23:52:04.916Z","status":"success","stats":${STATS}}`;
    const { state, events } = parse([SUCCESS[0] ?? "", ...TOOL(1), ...TOOL(2), LOOP_DETECTED, result]);
    expect(events).toContainEqual({
      type: "status",
      data: { event: "warning", message: "Loop detected, stopping execution" },
    });
    expect(state.completed).toBe(true);
  });

  it("passes non-JSON lines through as stdout logs", () => {
    expect(parse(["Loaded cached credentials."]).events).toEqual([
      { type: "log", stream: "stdout", line: "Loaded cached credentials." },
    ]);
  });
});

describe("geminiResult", () => {
  it("succeeds with usage, cost per model, turns and a one-line summary", () => {
    const result = geminiResult(parse(SUCCESS).state, proc(), CONTEXT);
    expect(result).toMatchObject({
      outcome: "succeeded",
      error: null,
      summary: "done: wrote hello.txt",
      finalMessage: "done: wrote hello.txt\nsecond line",
      turns: 2,
      sessionId: SESSION,
    });
    // 1600 × 0.3 + 400 × 0.075 + 50 × 2.5 per million.
    expect(result.costUsd).toBe(0.000635);
    expect(result.modelUsage).toEqual([
      { model: "gemini-2.5-flash", usage: result.usage, costUsd: 0.000635 },
    ]);
  });

  it("maps the CLI's failures to loopd's error codes", () => {
    const code = (lines: string[], p: Partial<AgentProcessResult> = {}, maxTurns = 10) =>
      geminiResult(parse(lines, maxTurns).state, proc(p), { ...CONTEXT, maxTurns }).error?.code;
    expect(code([SUCCESS[0] ?? "", KEY_INVALID], { exitCode: 144 })).toBe("LOOPD_AUTH_EXPIRED");
    expect(code([SUCCESS[0] ?? "", ...TOOL(1), ...TOOL(2)], { stopped: true, signal: "SIGTERM" }, 1)).toBe(
      "LOOPD_TURN_LIMIT",
    );
    // Captured: no credentials at all, and a base URL without an auth type in settings.json.
    const noAuth =
      "Please set an Auth method in your /home/u/.gemini/settings.json or specify one of the following environment variables before running: GEMINI_API_KEY, GOOGLE_GENAI_USE_VERTEXAI, GOOGLE_GENAI_USE_GCA";
    expect(code([], { exitCode: 41, stderrTail: [noAuth] })).toBe("LOOPD_AUTH_MISSING");
    expect(code([], { exitCode: 41, stderrTail: ["Invalid auth method selected."] })).toBe(
      "LOOPD_AUTH_MISSING",
    );
    expect(code([], { exitCode: null, spawnError: "spawn gemini ENOENT" })).toBe(
      "LOOPD_HARNESS_NOT_INSTALLED",
    );
    const crashed = geminiResult(
      parse(SUCCESS.slice(0, 4)).state,
      proc({ exitCode: 1, stderrTail: ["boom"] }),
      CONTEXT,
    );
    expect(crashed.error).toEqual({
      code: "LOOPD_AGENT_FAILED",
      message: "gemini exited with 1 before finishing: boom",
    });
    expect(crashed.summary).toBe("Writing both files.");
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
    spec: shellSpec("r", { harness: "gemini", task: { kind: "prompt", prompt: "p" } }),
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

describe("gemini command line", () => {
  it("runs headless with stream-json, every tool approved, the prompt kept off argv", () => {
    const args = geminiArgs(harnessInput("/repo", {}), ["--extensions", "none"], null);
    expect(args).toEqual([
      "--output-format",
      "stream-json",
      "--approval-mode",
      "yolo",
      "--skip-trust",
      "--extensions",
      "none",
    ]);
  });

  it("adds the model and loopd's instructions directory", () => {
    const args = geminiArgs(
      harnessInput("/repo", {}, { model: "gemini-2.5-pro" }),
      [],
      "/tmp/loopd-gemini-x",
    );
    expect(args).toEqual(
      expect.arrayContaining(["--model", "gemini-2.5-pro", "--include-directories", "/tmp/loopd-gemini-x"]),
    );
  });

  it("points the CLI at the tier's base URL without a version suffix", () => {
    const env = geminiEnv(
      harnessInput("/repo", { GEMINI_API_KEY: "k" }, { baseUrl: "http://gw:8080/v1beta/" }),
    );
    expect(env).toEqual({ GEMINI_API_KEY: "k", GOOGLE_GEMINI_BASE_URL: "http://gw:8080" });
  });
});

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "loopd-gemini-test-"));
  dirs.push(dir);
  return dir;
}

describe("geminiAuth", () => {
  it("finds an API key, a Google sign-in, Vertex AI, or nothing", () => {
    const home = tempDir();
    expect(geminiAuth({ HOME: home, GEMINI_API_KEY: "k" }, null)).toEqual({
      state: "ok",
      source: "GEMINI_API_KEY",
    });
    expect(
      geminiAuth({ HOME: home, GOOGLE_GENAI_USE_VERTEXAI: "true", GOOGLE_API_KEY: "k" }, null),
    ).toMatchObject({ state: "ok" });
    expect(geminiAuth({ HOME: home, GOOGLE_API_KEY: "k" }, null)).toMatchObject({
      state: "missing",
      message: expect.stringContaining("only used with GOOGLE_GENAI_USE_VERTEXAI"),
    });
    expect(geminiAuth({ HOME: home }, null)).toMatchObject({
      state: "missing",
      hint: expect.stringContaining("GEMINI_API_KEY"),
    });
    mkdirSync(join(home, ".gemini"));
    // settings.json may carry comments; the CLI reads it with them.
    writeFileSync(
      join(home, ".gemini", "settings.json"),
      '{\n  // chosen at first start\n  "security": {"auth": {"selectedType": "oauth-personal"}}\n}',
    );
    expect(geminiAuth({ HOME: home }, null)).toMatchObject({
      state: "missing",
      hint: expect.stringContaining("sign in"),
    });
    writeFileSync(join(home, ".gemini", "oauth_creds.json"), "{}");
    expect(geminiAuth({ HOME: home }, null)).toEqual({
      state: "ok",
      source: "gemini login (Google account)",
    });
  });

  it("warns that a base URL needs the auth type in settings.json", () => {
    const home = tempDir();
    expect(geminiAuth({ HOME: home, GEMINI_API_KEY: "k" }, "http://gw")).toMatchObject({
      state: "missing",
      hint: expect.stringContaining('"selectedType":"gemini-api-key"'),
    });
    mkdirSync(join(home, ".gemini"));
    writeFileSync(
      join(home, ".gemini", "settings.json"),
      '{"security":{"auth":{"selectedType":"gemini-api-key"}}}',
    );
    expect(geminiAuth({ HOME: home, GEMINI_API_KEY: "k" }, "http://gw")).toEqual({
      state: "ok",
      source: "GEMINI_API_KEY",
    });
  });
});

/** A stand-in `gemini` that records its argv, stdin and loopd's GEMINI.md, then replays `lines`. */
function fakeGemini(dir: string, lines: string[], exitCode = 0): string {
  const path = join(dir, "gemini");
  writeFileSync(join(dir, "transcript.jsonl"), `${lines.join("\n")}\n`);
  writeFileSync(
    path,
    `#!/bin/sh
if [ "$1" = "--version" ]; then echo "0.61.0"; exit 0; fi
printf '%s\\n' "$@" > "${dir}/argv"
cat > "${dir}/stdin"
while [ $# -gt 0 ]; do
  if [ "$1" = "--include-directories" ]; then cat "$2/GEMINI.md" > "${dir}/context"; fi
  shift
done
cat "${dir}/transcript.jsonl"
exit ${exitCode}
`,
  );
  chmodSync(path, 0o755);
  return path;
}

describe("gemini harness", () => {
  it("runs the CLI with the prompt on stdin and loopd's instructions as GEMINI.md, then cleans up", async () => {
    const dir = tempDir();
    const harness = createGeminiHarness({ command: fakeGemini(dir, SUCCESS) });
    const events: HarnessEvent[] = [];
    const input = harnessInput(
      dir,
      { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      { systemPrompt: "Write memory to .loopd/memory.md" },
    );
    const result = await harness.run(input, (event) => events.push(event));
    expect(result).toMatchObject({ outcome: "succeeded", sessionId: SESSION, turns: 2, exitCode: 0 });
    expect(readFileSync(join(dir, "stdin"), "utf8")).toBe("-write hello.txt");
    expect(readFileSync(join(dir, "context"), "utf8")).toBe("Write memory to .loopd/memory.md");
    const argv = readFileSync(join(dir, "argv"), "utf8").split("\n");
    const contextDir = argv[argv.indexOf("--include-directories") + 1] ?? "";
    expect(() => readFileSync(join(contextDir, "GEMINI.md"))).toThrow(/ENOENT/);
    expect(events.some((event) => event.type === "usage")).toBe(true);
  });

  it("refuses tasks without an agent block", async () => {
    const result = await createGeminiHarness().run(harnessInput("/repo", {}, null), () => {});
    expect(result.error?.code).toBe("LOOPD_HARNESS_MISMATCH");
  });

  it("preflight finds the binary and its version, or says how to install it", async () => {
    const dir = tempDir();
    const command = fakeGemini(dir, []);
    const signal = new AbortController().signal;
    const model = await startFakeModelServer({ script: [] });
    // With a base URL the CLI needs its auth type set (see geminiAuth).
    const home = join(dir, "home");
    mkdirSync(join(home, ".gemini"), { recursive: true });
    writeFileSync(
      join(home, ".gemini", "settings.json"),
      '{"security":{"auth":{"selectedType":"gemini-api-key"}}}',
    );
    const env = { PATH: dir, HOME: home, GEMINI_API_KEY: "k", GOOGLE_GEMINI_BASE_URL: model.url };
    const ok = await createGeminiHarness().preflight?.({ env, cwd: dir, baseUrl: null, signal });
    expect(ok).toMatchObject({
      harness: "gemini",
      installed: true,
      command,
      version: "0.61.0",
      auth: "ok",
      authSource: "GEMINI_API_KEY",
      authDetail: `accepted by ${model.url}/v1beta/models`,
      error: null,
    });
    // A key Google refuses (400 API_KEY_INVALID) fails before the CLI starts.
    model.setRejectKeys(true);
    const refused = await createGeminiHarness().preflight?.({
      env: { ...env, GEMINI_API_KEY: "k-revoked" },
      cwd: dir,
      baseUrl: null,
      signal,
    });
    await model.close();
    expect(refused).toMatchObject({ auth: "expired", error: { code: "LOOPD_AUTH_EXPIRED" } });
    expect(refused?.error?.message).toContain("API key not valid");
    expect(refused?.error?.hint).toContain("GEMINI_API_KEY");
    const missing = await createGeminiHarness({ command: join(dir, "nope") }).preflight?.({
      env,
      cwd: dir,
      baseUrl: null,
      signal,
    });
    expect(missing).toMatchObject({
      installed: false,
      error: {
        code: "LOOPD_HARNESS_NOT_INSTALLED",
        hint: expect.stringContaining("npm i -g @google/gemini-cli"),
      },
    });
    const noKey = await createGeminiHarness().preflight?.({
      env: { PATH: dir, HOME: dir },
      cwd: dir,
      baseUrl: null,
      signal,
    });
    expect(noKey).toMatchObject({ installed: true, auth: "missing", error: { code: "LOOPD_AUTH_MISSING" } });
  });
});
