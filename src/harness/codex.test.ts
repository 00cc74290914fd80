/**
 * The codex adapter's translation of `codex exec --json` output, on lines captured from the
 * real CLI (codex-cli 0.171.0 against the fake model server), and its command line.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { shellSpec } from "../../test/helpers/specs.js";
import { codexArgs, sandboxFailureInSession, sessionModel, tomlString } from "./codex.js";
import { CodexEventParser } from "./codex-events.js";
import type { HarnessEvent, HarnessInput } from "./harness.js";

const THREAD = "01a22489-ba4b-7973-842d-19e3d80f89e2";
const SUCCESS = [
  `{"type":"thread.started","thread_id":"${THREAD}"}`,
  `{"type":"item.completed","item":{"id":"item_0","type":"error","message":"Model metadata for \`gpt-5-codex\` not found. Defaulting to fallback metadata; this can degrade performance and cause issues."}}`,
  `{"type":"turn.started"}`,
  `{"type":"item.started","item":{"id":"item_1","type":"command_execution","command":"/bin/bash -lc 'echo hi > hello.txt && cat hello.txt'","aggregated_output":"","exit_code":null,"status":"in_progress"}}`,
  `{"type":"item.completed","item":{"id":"item_1","type":"command_execution","command":"/bin/bash -lc 'echo hi > hello.txt && cat hello.txt'","aggregated_output":"hi\\n","exit_code":0,"status":"completed"}}`,
  `{"type":"item.started","item":{"id":"item_2","type":"file_change","changes":[{"path":"/tmp/cxcwd-IHBHxD/hello.txt","kind":"add"}],"status":"in_progress"}}`,
  `{"type":"item.completed","item":{"id":"item_2","type":"file_change","changes":[{"path":"/tmp/cxcwd-IHBHxD/hello.txt","kind":"add"}],"status":"completed"}}`,
  `{"type":"item.completed","item":{"id":"item_3","type":"agent_message","text":"Created hello.txt.\\nBoth ways."}}`,
  `{"type":"turn.completed","usage":{"input_tokens":300,"cached_input_tokens":120,"cache_write_input_tokens":0,"output_tokens":60,"reasoning_output_tokens":7}}`,
];
// codex-cli 0.171.0, CODEX_HOME under /tmp with Debian's bubblewrap installed.
const HELPERS_REFUSED = `WARNING: proceeding, even though we could not create PATH aliases: Refusing to create helper binaries under temporary dir "/tmp" (codex_home: AbsolutePathBuf("/tmp/loopd-codex-home-0Y29GW"))`;
const FAILED_COMMAND = `{"type":"item.completed","item":{"id":"item_0","type":"command_execution","command":"/bin/bash -lc 'printf hello > hello.txt; echo hi; exit 3'","aggregated_output":"hi\\n","exit_code":3,"status":"failed"}}`;
const RECONNECT_401 = `{"type":"error","message":"Reconnecting... 1/5 (unexpected status 401 Unauthorized: Incorrect API key provided: sk-fake***. You can find your API key at https://platform.openai.com/account/api-keys., url: http://127.0.0.1:41013/v1/responses)"}`;
const FAILED_500 = [
  `{"type":"error","message":"Reconnecting... 1/1 (We’re currently experiencing high demand, which may cause temporary errors.)"}`,
  `{"type":"error","message":"We’re currently experiencing high demand, which may cause temporary errors."}`,
  `{"type":"turn.failed","error":{"message":"We’re currently experiencing high demand, which may cause temporary errors."}}`,
];

function parse(lines: string[], maxTurns = 10, systemBwrap: string | null = null) {
  const events: HarnessEvent[] = [];
  const parser = new CodexEventParser(maxTurns, (event) => events.push(event), { systemBwrap });
  const answers = lines.map((line) => parser.onLine(line));
  return { state: parser.state, events, answers };
}

describe("CodexEventParser", () => {
  it("turns a successful run into session, tool, message and usage events", () => {
    const { state, events, answers } = parse(SUCCESS);
    expect(answers.every((answer) => answer === undefined)).toBe(true);
    expect(state).toMatchObject({
      sessionId: THREAD,
      completed: true,
      turns: 3,
      lastMessage: "Created hello.txt.\nBoth ways.",
      failure: null,
      authError: null,
      turnLimit: false,
    });
    // input_tokens includes the cached part; loopd's tokensIn does not.
    expect(state.usage).toEqual({ tokensIn: 180, tokensCached: 120, tokensOut: 60, tokensReasoning: 7 });
    expect(events).toContainEqual({ type: "status", data: { event: "session", sessionId: THREAD } });
    expect(events).toContainEqual({
      type: "tool",
      data: {
        name: "command",
        input: "/bin/bash -lc 'echo hi > hello.txt && cat hello.txt'",
        exitCode: 0,
        status: "completed",
        failed: false,
      },
    });
    expect(events).toContainEqual({
      type: "tool",
      data: {
        name: "file_change",
        summary: "add /tmp/cxcwd-IHBHxD/hello.txt",
        status: "completed",
        failed: false,
      },
    });
    expect(events).toContainEqual({
      type: "message",
      data: { role: "assistant", text: "Created hello.txt.\nBoth ways." },
    });
    expect(events.filter((event) => event.type === "usage")).toEqual([{ type: "usage", data: state.usage }]);
    expect(events).toContainEqual({
      type: "status",
      data: { event: "warning", message: expect.stringContaining("metadata") },
    });
  });

  it("stops at the first 401 instead of waiting out Codex's retries", () => {
    const { state, answers } = parse([SUCCESS[0] ?? "", RECONNECT_401]);
    expect(answers).toEqual([undefined, "stop"]);
    expect(state.authError).toMatch(/^unexpected status 401 Unauthorized: Incorrect API key/);
  });

  it("records turn.failed as the failure and keeps retries as status events", () => {
    const { state, events, answers } = parse(FAILED_500);
    expect(answers).toEqual([undefined, undefined, undefined]);
    expect(state.failure).toContain("high demand");
    expect(state.completed).toBe(false);
    expect(events[0]).toEqual({
      type: "status",
      data: { event: "error", message: expect.stringContaining("Reconnecting") },
    });
  });

  it("stops before running the tool whose follow-up response would pass maxTurns", () => {
    const tools = [1, 2, 3].map(
      (n) =>
        `{"type":"item.started","item":{"id":"item_${n}","type":"command_execution","command":"echo","status":"in_progress"}}`,
    );
    const { state, answers } = parse(tools, 2);
    expect(answers).toEqual([undefined, "stop", undefined]);
    expect(state.turnLimit).toBe(true);
    expect(state.turns).toBe(2);
  });

  it("counts an item once across started and completed", () => {
    const { state } = parse(SUCCESS.slice(3, 7), 3);
    expect(state.turns).toBe(2);
    expect(state.turnLimit).toBe(false);
  });

  it("reports a failed command with its exit code and the end of its output", () => {
    const { events, answers } = parse([FAILED_COMMAND]);
    expect(answers).toEqual([undefined]);
    expect(events).toEqual([
      {
        type: "tool",
        data: {
          name: "command",
          input: "/bin/bash -lc 'printf hello > hello.txt; echo hi; exit 3'",
          exitCode: 3,
          status: "failed",
          failed: true,
          output: "hi",
        },
      },
    ]);
  });

  it("stops at Codex's helper warning when a system bubblewrap would need the helper", () => {
    const events: HarnessEvent[] = [];
    const parser = new CodexEventParser(10, (event) => events.push(event), { systemBwrap: "/usr/bin/bwrap" });
    expect(parser.onStderrLine("Reading additional input from stdin...")).toBeUndefined();
    expect(parser.onStderrLine(HELPERS_REFUSED)).toBe("stop");
    expect(parser.state.sandboxBroken).toBe(
      "Codex refused to create its sandbox helper binaries (CODEX_HOME (/tmp/loopd-codex-home-0Y29GW) is inside the temp dir /tmp), and commands sandboxed by the system bubblewrap (/usr/bin/bwrap) cannot start without them",
    );
    // Codex's own bubblewrap does without the helper: the warning alone is no failure.
    const bundled = new CodexEventParser(10, () => {});
    expect(bundled.onStderrLine(HELPERS_REFUSED)).toBeUndefined();
    expect(bundled.state.sandboxBroken).toBeNull();
  });

  it("stops at a command bubblewrap could not start", () => {
    const { state, answers } = parse([
      `{"type":"item.completed","item":{"id":"item_0","type":"command_execution","command":"ls","aggregated_output":"bwrap: No permissions to create new namespace, likely because the kernel does not allow non-privileged user namespaces.\\n","exit_code":1,"status":"failed"}}`,
    ]);
    expect(answers).toEqual(["stop"]);
    expect(state.sandboxBroken).toContain("bwrap: No permissions to create new namespace");
  });

  it("passes non-JSON lines through as stdout logs", () => {
    const { events } = parse(["WARNING: something odd"]);
    expect(events).toEqual([{ type: "log", stream: "stdout", line: "WARNING: something odd" }]);
  });
});

describe("codexArgs", () => {
  const input = (agent: Partial<NonNullable<HarnessInput["agent"]>>): HarnessInput => ({
    runId: 1,
    routine: "r",
    spec: shellSpec("r"),
    attempt: 1,
    dueAt: 0,
    cwd: "/repo",
    env: {},
    input: null,
    agent: {
      prompt: "-fix the bug",
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
  });

  it("runs exec in the repo, sandboxed, without phoning home, prompt last after --", () => {
    const args = codexArgs(input({}), ["-c", "x=1"]);
    expect(args.slice(0, 7)).toEqual([
      "exec",
      "--json",
      "-C",
      "/repo",
      "--sandbox",
      "workspace-write",
      "--skip-git-repo-check",
    ]);
    expect(args).toContain("analytics.enabled=false");
    expect(args).not.toContain("-m");
    expect(args.slice(-4)).toEqual(["-c", "x=1", "--", "-fix the bug"]);
  });

  it("adds the model, developer instructions and a provider for a base URL", () => {
    const args = codexArgs(
      input({ model: "gpt-5.1", systemPrompt: 'say "hi"\n', baseUrl: "http://h:1/v1" }),
      [],
    );
    expect(args).toEqual(
      expect.arrayContaining(["-m", "gpt-5.1", 'developer_instructions="say \\"hi\\"\\n"']),
    );
    expect(args).toEqual(
      expect.arrayContaining([
        'model_provider="loopd"',
        'model_providers.loopd.base_url="http://h:1/v1"',
        'model_providers.loopd.env_key="OPENAI_API_KEY"',
        'model_providers.loopd.wire_api="responses"',
      ]),
    );
  });

  it("passes the configured sandbox", () => {
    const args = codexArgs(input({}), [], "danger-full-access");
    expect(args.slice(4, 6)).toEqual(["--sandbox", "danger-full-access"]);
  });

  it("writes TOML strings Codex can parse", () => {
    expect(tomlString('a\\b"c\u007f')).toBe('"a\\\\b\\"c\\u007f"');
    expect(tomlString("lone \ud800 surrogate")).toBe('"lone \ufffd surrogate"');
  });
});

describe("sessionModel", () => {
  let home: string | null = null;
  afterEach(() => {
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it("reads the model from the session file Codex wrote today", () => {
    home = mkdtempSync(join(tmpdir(), "loopd-codex-sessions-"));
    const dir = join(home, "sessions", ...new Date().toISOString().slice(0, 10).split("-"));
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, `rollout-2026-11-28T23-43-10-${THREAD}.jsonl`),
      `{"type":"session_meta","payload":{"id":"${THREAD}","base_instructions":{"text":"say \\"model\\":\\"no\\""}}}\n{"type":"turn_context","payload":{"model":"gpt-5.5"}}\n`,
    );
    expect(sessionModel({ CODEX_HOME: home }, THREAD)).toBe("gpt-5.5");
    expect(sessionModel({ CODEX_HOME: home }, "other")).toBeNull();
    expect(sessionModel({}, THREAD)).toBeNull();
  });

  it("finds a command the sandbox could not start, which Codex reports only to the model", () => {
    home = mkdtempSync(join(tmpdir(), "loopd-codex-sessions-"));
    const dir = join(home, "sessions", ...new Date().toISOString().slice(0, 10).split("-"));
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `rollout-2026-12-04T09-08-41-${THREAD}.jsonl`);
    // Lines as codex-cli 0.171.0 wrote them (shortened).
    const call = `{"timestamp":"2026-12-04T09:08:41.336Z","type":"response_item","payload":{"type":"function_call","name":"exec_command","arguments":"{\\"cmd\\":\\"ls\\"}","call_id":"call_000002"}}`;
    const output = `{"timestamp":"2026-12-04T09:08:41.413Z","type":"response_item","payload":{"type":"function_call_output","call_id":"call_000002","output":"Chunk ID: e1f666\\nWall time: 0.0000 seconds\\nProcess exited with code 1\\nOriginal token count: 16\\nOutput:\\nbwrap: execvp codex-linux-sandbox: No such file or directory\\n"}}`;
    writeFileSync(file, `${call}\n`);
    expect(sandboxFailureInSession({ CODEX_HOME: home }, THREAD)).toBeNull();
    writeFileSync(file, `${call}\n${output}\n`);
    expect(sandboxFailureInSession({ CODEX_HOME: home }, THREAD)).toBe(
      "its sandbox could not start a command (bwrap: execvp codex-linux-sandbox: No such file or directory)",
    );
  });
});
