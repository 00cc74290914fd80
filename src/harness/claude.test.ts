/**
 * The claude adapter without a process: real `claude -p --output-format stream-json --verbose`
 * transcripts (Claude Code 2.1.332 against the fake model server; fields the adapter ignores
 * removed, a few long texts shortened) go through the parser and the result mapping.
 */
import { describe, expect, it } from "vitest";
import { shellSpec } from "../../test/helpers/specs.js";
import type { AgentProcessResult } from "./agent-process.js";
import { claudeArgs, claudeEnv } from "./claude.js";
import { ClaudeEventParser, claudeResult, claudeUsage } from "./claude-events.js";
import type { HarnessEvent, HarnessInput, HarnessResult } from "./harness.js";

// A Write tool call, its result, then "done" (one assistant line per content block).
const SUCCESS = [
  '{"type":"system","subtype":"init","cwd":"/tmp/tmp.2Ht3tw03bx","session_id":"e62985cf-2249-4722-8caa-ee4f6facebfb","tools":["Task","Bash","CronCreate","CronDelete"],"model":"claude-haiku-4-5","permissionMode":"acceptEdits","apiKeySource":"ANTHROPIC_API_KEY","claude_code_version":"2.1.332"}',
  `{"type":"assistant","message":{"id":"msg_000002","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[{"type":"text","text":"I'll write it."}],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":500,"cache_creation_input_tokens":0,"cache_read_input_tokens":200,"output_tokens":1}},"parent_tool_use_id":null,"session_id":"e62985cf-2249-4722-8caa-ee4f6facebfb"}`,
  String.raw`{"type":"assistant","message":{"id":"msg_000002","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[{"type":"tool_use","id":"toolu_000001","name":"Write","input":{"file_path":"hello.txt","content":"hello\n"}}],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":500,"cache_creation_input_tokens":0,"cache_read_input_tokens":200,"output_tokens":1}},"parent_tool_use_id":null,"session_id":"e62985cf-2249-4722-8caa-ee4f6facebfb"}`,
  '{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_000001","type":"tool_result","content":"File created successfully at: hello.txt (file state is current in your context — no need to Read it back)"}]},"parent_tool_use_id":null,"session_id":"e62985cf-2249-4722-8caa-ee4f6facebfb"}',
  '{"type":"assistant","message":{"id":"msg_000003","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[{"type":"text","text":"done"}],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":50,"cache_creation_input_tokens":0,"cache_read_input_tokens":700,"output_tokens":1}},"parent_tool_use_id":null,"session_id":"e62985cf-2249-4722-8caa-ee4f6facebfb"}',
  '{"stop_reason":"end_turn","session_id":"e62985cf-2249-4722-8caa-ee4f6facebfb","total_cost_usd":0.000815,"usage":{"input_tokens":550,"cache_creation_input_tokens":0,"cache_read_input_tokens":900,"output_tokens":35,"output_tokens_details":{"thinking_tokens":0}},"modelUsage":{"claude-haiku-4-5":{"inputTokens":550,"outputTokens":35,"cacheReadInputTokens":900,"cacheCreationInputTokens":0,"costUSD":0.000815,"thinkingTokens":0}},"terminal_reason":"completed","is_error":false,"num_turns":2,"subtype":"success","api_error_status":null,"result":"done","type":"result","duration_ms":271}',
];

// The model keeps calling Bash; `--max-turns 1`.
const MAX_TURNS = [
  '{"type":"system","subtype":"init","cwd":"/tmp/tmp.2Ht3tw03bx","session_id":"6842185a-94f9-48aa-a527-392bb38a9319","tools":["Task","Bash","CronCreate","CronDelete"],"model":"claude-haiku-4-5","permissionMode":"acceptEdits","apiKeySource":"ANTHROPIC_API_KEY","claude_code_version":"2.1.332"}',
  '{"type":"assistant","message":{"id":"msg_000002","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[{"type":"tool_use","id":"toolu_000001","name":"Bash","input":{"command":"echo hi","description":"say hi"}}],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":100,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}},"parent_tool_use_id":null,"session_id":"6842185a-94f9-48aa-a527-392bb38a9319"}',
  '{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_000001","type":"tool_result","content":"hi","is_error":false}]},"parent_tool_use_id":null,"session_id":"6842185a-94f9-48aa-a527-392bb38a9319"}',
  '{"stop_reason":"tool_use","session_id":"6842185a-94f9-48aa-a527-392bb38a9319","total_cost_usd":0.0002,"usage":{"input_tokens":100,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":20,"output_tokens_details":{"thinking_tokens":0}},"modelUsage":{"claude-haiku-4-5":{"inputTokens":100,"outputTokens":20,"cacheReadInputTokens":0,"cacheCreationInputTokens":0,"costUSD":0.0002,"thinkingTokens":0}},"terminal_reason":"max_turns","is_error":true,"num_turns":2,"subtype":"error_max_turns","errors":["Reached maximum number of turns (1)"],"type":"result","duration_ms":721}',
];

// A Bash command run in the background outlives the first result: Claude Code waits for it,
// tells the model, and prints a second result (usage and num_turns for that part only).
const BACKGROUND = [
  '{"type":"system","subtype":"init","cwd":"/tmp/tmp.qTvVlzjLRF","session_id":"647e8e6e-3083-4107-8b7c-a53c014b58c5","model":"claude-haiku-4-5","permissionMode":"acceptEdits","apiKeySource":"ANTHROPIC_API_KEY","claude_code_version":"2.1.332"}',
  '{"type":"assistant","message":{"id":"msg_000002","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[{"type":"tool_use","id":"toolu_000001","name":"Bash","input":{"command":"echo bg-start && sleep 30 && echo bg-end","description":"bg","run_in_background":true}}],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":100,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}},"parent_tool_use_id":null,"session_id":"647e8e6e-3083-4107-8b7c-a53c014b58c5"}',
  '{"type":"system","subtype":"task_started","task_id":"b5sidcjyw","tool_use_id":"toolu_000001","description":"bg","is_backgrounded":true,"task_type":"local_bash","session_id":"647e8e6e-3083-4107-8b7c-a53c014b58c5"}',
  '{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_000001","type":"tool_result","content":"Command running in background with ID: b5sidcjyw.","is_error":false}]},"parent_tool_use_id":null,"session_id":"647e8e6e-3083-4107-8b7c-a53c014b58c5"}',
  '{"type":"assistant","message":{"id":"msg_000003","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[{"type":"text","text":"done"}],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":100,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}},"parent_tool_use_id":null,"session_id":"647e8e6e-3083-4107-8b7c-a53c014b58c5"}',
  '{"stop_reason":"end_turn","session_id":"647e8e6e-3083-4107-8b7c-a53c014b58c5","total_cost_usd":0.0004,"usage":{"input_tokens":200,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":40,"output_tokens_details":{"thinking_tokens":0}},"modelUsage":{"claude-haiku-4-5":{"inputTokens":200,"outputTokens":40,"cacheReadInputTokens":0,"cacheCreationInputTokens":0,"costUSD":0.0004,"thinkingTokens":0}},"terminal_reason":"completed","is_error":false,"num_turns":2,"subtype":"success","api_error_status":null,"result":"done","type":"result","duration_ms":258,"result_index":0}',
  '{"type":"system","subtype":"task_notification","task_id":"b5sidcjyw","tool_use_id":"toolu_000001","status":"completed","session_id":"647e8e6e-3083-4107-8b7c-a53c014b58c5"}',
  '{"type":"assistant","message":{"id":"msg_000004","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[{"type":"text","text":"The background job finished."}],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":100,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}},"parent_tool_use_id":null,"session_id":"647e8e6e-3083-4107-8b7c-a53c014b58c5"}',
  '{"stop_reason":"end_turn","session_id":"647e8e6e-3083-4107-8b7c-a53c014b58c5","total_cost_usd":0.0006000000000000001,"usage":{"input_tokens":100,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":20,"output_tokens_details":{"thinking_tokens":0}},"modelUsage":{"claude-haiku-4-5":{"inputTokens":300,"outputTokens":60,"cacheReadInputTokens":0,"cacheCreationInputTokens":0,"costUSD":0.0006000000000000001,"thinkingTokens":0}},"terminal_reason":"completed","origin":{"kind":"task-notification","producer":"session-task"},"is_error":false,"num_turns":1,"subtype":"success","api_error_status":null,"result":"The background job finished.","type":"result","duration_ms":70,"result_index":1}',
];

// A Bash command that exits 3, then one that succeeds (result lines as Claude Code prints them).
const BASH_EXIT_3 = [
  '{"type":"assistant","message":{"id":"msg_000002","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[{"type":"tool_use","id":"toolu_000001","name":"Bash","input":{"command":"printf hello > hello.txt; echo out; echo err >&2; exit 3"}}],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":100,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}},"parent_tool_use_id":null,"session_id":"522f8045-e496-421b-863d-a7450fcf570b"}',
  '{"type":"user","message":{"role":"user","content":[{"type":"tool_result","content":"Exit code 3\\nout\\nerr","is_error":true,"tool_use_id":"toolu_000001"}]},"parent_tool_use_id":null,"session_id":"522f8045-e496-421b-863d-a7450fcf570b","tool_use_result":"Error: Exit code 3\\nout\\nerr"}',
  '{"type":"assistant","message":{"id":"msg_000003","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[{"type":"tool_use","id":"toolu_000003","name":"Bash","input":{"command":"echo ok"}}],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":100,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}},"parent_tool_use_id":null,"session_id":"522f8045-e496-421b-863d-a7450fcf570b"}',
  '{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_000003","type":"tool_result","content":"ok","is_error":false}]},"parent_tool_use_id":null,"session_id":"522f8045-e496-421b-863d-a7450fcf570b","tool_use_result":{"stdout":"ok","stderr":"","interrupted":false,"isImage":false,"noOutputExpected":false}}',
];

// A rejected key: Claude Code retries with backoff (only the first retries shown) …
const RETRYING_401 = [
  '{"type":"system","subtype":"api_retry","attempt":1,"max_retries":10,"retry_delay_ms":555,"error_status":401,"error":"authentication_failed","session_id":"df88ef89-d418-49cc-a39d-be0af5e38cf2"}',
  '{"type":"system","subtype":"api_retry","attempt":2,"max_retries":10,"retry_delay_ms":1167,"error_status":401,"error":"authentication_failed","session_id":"df88ef89-d418-49cc-a39d-be0af5e38cf2"}',
];
// … or, when the server says not to retry, ends with a synthetic message and an error result.
const REJECTED_401 = [
  '{"type":"assistant","message":{"id":"f4cbb5cf-f0c2-4e76-aa31-b6768ac567ff","model":"<synthetic>","role":"assistant","stop_reason":"stop_sequence","type":"message","usage":{"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0},"content":[{"type":"text","text":"Invalid API key · Fix external API key"}]},"parent_tool_use_id":null,"session_id":"437377de-3991-499f-a6d9-a5cf941774ec","error":"authentication_failed","request_id":"req_000001","is_api_error_message":true,"api_error_status":401,"api_error_type":"authentication_error"}',
  '{"stop_reason":"stop_sequence","session_id":"437377de-3991-499f-a6d9-a5cf941774ec","total_cost_usd":0,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0},"modelUsage":{},"terminal_reason":"api_error","is_error":true,"num_turns":1,"subtype":"success","api_error_status":401,"api_error_type":"authentication_error","result":"Invalid API key · Fix external API key","type":"result","duration_ms":121}',
];
// No key and no login.
const NOT_LOGGED_IN =
  '{"stop_reason":"stop_sequence","session_id":"f7de12ff-1f77-4e55-9539-e36de5e38007","total_cost_usd":0,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0},"modelUsage":{},"terminal_reason":"api_error","is_error":true,"num_turns":1,"subtype":"success","api_error_status":null,"result":"Not logged in · Please run /login","type":"result"}';

const EXITED: Pick<AgentProcessResult, "exitCode" | "signal" | "spawnError" | "stderrTail"> = {
  exitCode: 0,
  signal: null,
  spawnError: null,
  stderrTail: [],
};
const CONTEXT = { command: "claude", aborted: false };

function parse(lines: string[]): { parser: ClaudeEventParser; events: HarnessEvent[]; stops: number } {
  const events: HarnessEvent[] = [];
  const parser = new ClaudeEventParser((event) => events.push(event));
  let stops = 0;
  for (const line of lines) if (parser.onLine(line) === "stop") stops++;
  return { parser, events, stops };
}

function run(lines: string[], proc = EXITED): HarnessResult {
  return claudeResult(parse(lines).parser.state, proc, CONTEXT);
}

describe("claude stream-json parsing", () => {
  it("turns a successful transcript into events and a result in loopd's token convention", () => {
    const { parser, events, stops } = parse(SUCCESS);
    expect(stops).toBe(0);
    const sessionId = "e62985cf-2249-4722-8caa-ee4f6facebfb";
    expect(events[0]).toEqual({
      type: "status",
      data: { event: "session", sessionId, model: "claude-haiku-4-5" },
    });
    expect(events).toContainEqual({ type: "message", data: { role: "assistant", text: "I'll write it." } });
    expect(events).toContainEqual({
      type: "tool",
      data: { name: "Write", input: String.raw`{"file_path":"hello.txt","content":"hello\n"}` },
    });
    expect(events).toContainEqual({
      type: "tool",
      data: {
        tool: "Write",
        result: expect.stringMatching(/^File created successfully at: hello.txt/),
        isError: false,
        failed: false,
      },
    });
    // Live usage counts each message once although Claude Code prints it once per content block.
    const usage = events.flatMap((event) => (event.type === "usage" ? [event.data] : []));
    expect(usage[0]).toEqual({ tokensIn: 500, tokensCached: 200, tokensOut: 1, tokensReasoning: 0 });
    expect(usage[1]).toEqual(usage[0]);
    expect(usage[2]).toEqual({ tokensIn: 550, tokensCached: 900, tokensOut: 2, tokensReasoning: 0 });
    expect(usage.at(-1)).toEqual({ tokensIn: 550, tokensCached: 900, tokensOut: 35, tokensReasoning: 0 });

    const result = claudeResult(parser.state, EXITED, CONTEXT);
    expect(result).toEqual({
      outcome: "succeeded",
      exitCode: 0,
      summary: "done",
      finalMessage: "done",
      error: null,
      usage: { tokensIn: 550, tokensCached: 900, tokensOut: 35, tokensReasoning: 0 },
      costUsd: 0.000815,
      modelUsage: [
        {
          model: "claude-haiku-4-5",
          usage: { tokensIn: 550, tokensCached: 900, tokensOut: 35, tokensReasoning: 0 },
          costUsd: 0.000815,
        },
      ],
      turns: 2,
      sessionId,
    });
  });

  it("reports Bash results with their exit code, and which tool a result belongs to", () => {
    const { events } = parse(BASH_EXIT_3);
    const results = events.filter((event) => event.type === "tool" && "failed" in (event.data as object));
    expect(results).toEqual([
      { type: "tool", data: { tool: "Bash", result: "out\nerr", isError: true, exitCode: 3, failed: true } },
      { type: "tool", data: { tool: "Bash", result: "ok", isError: false, exitCode: 0, failed: false } },
    ]);
  });

  it("adds up a session that goes on after background tasks finish", () => {
    const { parser, events } = parse(BACKGROUND);
    expect(events).toContainEqual({ type: "status", data: { event: "task_notification" } });
    const result = claudeResult(parser.state, EXITED, CONTEXT);
    expect(result).toMatchObject({
      outcome: "succeeded",
      summary: "The background job finished.",
      usage: { tokensIn: 300, tokensCached: 0, tokensOut: 60, tokensReasoning: 0 },
      costUsd: 0.0006000000000000001,
      turns: 3,
    });
    expect(result.modelUsage).toEqual([
      { model: "claude-haiku-4-5", usage: result.usage, costUsd: result.costUsd },
    ]);
  });

  it("maps error_max_turns to LOOPD_TURN_LIMIT with Claude Code's message", () => {
    const result = run(MAX_TURNS, { ...EXITED, exitCode: 1 });
    expect(result.outcome).toBe("failed");
    expect(result.error).toEqual({
      code: "LOOPD_TURN_LIMIT",
      message: "claude reached maxTurns: Reached maximum number of turns (1)",
    });
    expect(result.costUsd).toBe(0.0002);
    expect(result.turns).toBe(2);
  });

  it("stops Claude Code at the second 401 retry and reports LOOPD_AUTH_EXPIRED", () => {
    const { parser, events, stops } = parse(RETRYING_401);
    expect(stops).toBe(1);
    expect(events[0]).toEqual({
      type: "status",
      data: { event: "api_retry", attempt: 1, status: 401, error: "authentication_failed" },
    });
    const result = claudeResult(parser.state, { ...EXITED, exitCode: null, signal: "SIGTERM" }, CONTEXT);
    expect(result.error?.code).toBe("LOOPD_AUTH_EXPIRED");
    expect(result.error?.message).toContain("HTTP 401");
  });

  it("maps an authentication_error result to LOOPD_AUTH_EXPIRED and ignores the synthetic message's usage", () => {
    const { parser, events } = parse(REJECTED_401);
    expect(events.filter((event) => event.type === "usage")).toHaveLength(1); // from the result only
    const result = claudeResult(parser.state, { ...EXITED, exitCode: 1 }, CONTEXT);
    expect(result.error).toEqual({
      code: "LOOPD_AUTH_EXPIRED",
      message: "claude: Invalid API key · Fix external API key (HTTP 401)",
    });
  });

  it('maps "Not logged in" to LOOPD_AUTH_MISSING', () => {
    expect(run([NOT_LOGGED_IN]).error?.code).toBe("LOOPD_AUTH_MISSING");
  });

  it("fails other errors with the result text, and a missing result with the stderr tail", () => {
    const failedRun =
      '{"type":"result","subtype":"error_during_execution","is_error":true,"num_turns":3,"errors":["boom"],"total_cost_usd":0.01,"usage":{}}';
    expect(run([failedRun]).error).toEqual({ code: "LOOPD_AGENT_FAILED", message: "claude: boom" });
    const crashed = run(SUCCESS.slice(0, 3), {
      ...EXITED,
      exitCode: 2,
      stderrTail: ["Error: out of memory"],
    });
    expect(crashed.error).toEqual({
      code: "LOOPD_AGENT_FAILED",
      message: "claude exited with 2 before reporting a result: Error: out of memory",
    });
    // What it did before dying is still reported.
    expect(crashed.sessionId).toBe("e62985cf-2249-4722-8caa-ee4f6facebfb");
    expect(crashed.usage?.tokensIn).toBe(500);
  });

  it("reports a missing executable as not installed", () => {
    const proc = { ...EXITED, exitCode: null, spawnError: "Command failed with ENOENT: claude" };
    expect(run([], proc).error?.code).toBe("LOOPD_HARNESS_NOT_INSTALLED");
  });

  it("keeps lines that are not JSON as stdout logs, and summarises the first non-empty line", () => {
    const text = "\n\n  Fixed the flaky test.  \nDetails follow.";
    const result = JSON.stringify({
      type: "result",
      subtype: "success",
      is_error: false,
      result: text,
      usage: {},
    });
    const { events, parser } = parse(["Warning: something", result]);
    expect(events[0]).toEqual({ type: "log", stream: "stdout", line: "Warning: something" });
    expect(claudeResult(parser.state, EXITED, CONTEXT).summary).toBe("Fixed the flaky test.");
  });

  it("counts cache writes as uncached input", () => {
    const usage = {
      input_tokens: 10,
      cache_creation_input_tokens: 90,
      cache_read_input_tokens: 5,
      output_tokens: 7,
    };
    expect(claudeUsage(usage)).toEqual({ tokensIn: 100, tokensCached: 5, tokensOut: 7, tokensReasoning: 0 });
  });
});

describe("claude command line", () => {
  const input = (agent: Partial<NonNullable<HarnessInput["agent"]>> = {}): HarnessInput => ({
    runId: 1,
    routine: "r",
    spec: shellSpec("r", { harness: "claude", task: { kind: "prompt", prompt: "p" } }),
    attempt: 1,
    dueAt: 0,
    cwd: "/repo",
    env: { PATH: "/usr/bin", HOME: "/home/u" },
    input: null,
    agent: {
      prompt: "p",
      systemPrompt: "",
      model: null,
      baseUrl: null,
      maxTurns: 7,
      maxBudgetUsd: null,
      mcpConfig: null,
      subAgents: [],
      ...agent,
    },
    signal: new AbortController().signal,
  });

  it("asks for stream-json with the turn cap, accepted edits and Bash", () => {
    expect(claudeArgs(input(), [])).toEqual([
      "-p",
      "--output-format",
      "stream-json",
      "--verbose",
      "--max-turns",
      "7",
      "--permission-mode",
      "acceptEdits",
      "--allowedTools",
      "Bash",
    ]);
  });

  it("passes model, system prompt, MCP config, budget and extra args", () => {
    const args = claudeArgs(
      input({ model: "claude-sonnet-4-5", systemPrompt: "mem", mcpConfig: "/m.json", maxBudgetUsd: 0.5 }),
      ["--fallback-model", "claude-haiku-4-5"],
    );
    expect(args.slice(10)).toEqual([
      "--model",
      "claude-sonnet-4-5",
      "--append-system-prompt",
      "mem",
      "--mcp-config",
      "/m.json",
      "--max-budget-usd",
      "0.5",
      "--fallback-model",
      "claude-haiku-4-5",
    ]);
    expect(claudeArgs(input({ systemPrompt: "mem" }), [], "/tmp/sp.md")).toContain(
      "--append-system-prompt-file",
    );
  });

  it("sets the base URL without /v1 and quiet defaults the routine can override", () => {
    const env = claudeEnv(input({ baseUrl: "http://127.0.0.1:8080/v1/" }));
    expect(env).toMatchObject({
      ANTHROPIC_BASE_URL: "http://127.0.0.1:8080",
      DISABLE_AUTOUPDATER: "1",
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      HOME: "/home/u",
    });
    const own = input();
    own.env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC = "0";
    expect(claudeEnv(own).CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC).toBe("0");
    expect(claudeEnv(own).ANTHROPIC_BASE_URL).toBeUndefined();
  });
});
