/**
 * The builtin harness end to end: the real AI SDK providers against the fake model server
 * over HTTP, once per wire protocol (Anthropic Messages, OpenAI Responses, Chat Completions).
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { shellSpec } from "../../../test/helpers/specs.js";
import type { ModelRequest, ScriptedReply } from "../../../test/support/fake-model/script.js";
import { type FakeModelServer, startFakeModelServer } from "../../../test/support/fake-model/server.js";
import { costOf, type PricingTable } from "../../domain/pricing.js";
import type { AgentInput, HarnessEvent, HarnessInput } from "../harness.js";
import { createBuiltinHarness } from "./agent.js";

const PRICING: PricingTable = {
  "claude-haiku-4-5": { input: 1, cachedInput: 0.1, output: 5 },
  "gpt-5-mini": { input: 0.25, cachedInput: 0.025, output: 2 },
  "llama3.1": { input: 0.1, cachedInput: 0, output: 0.2 },
};

interface ProviderCase {
  name: string;
  model: string;
  /** The id the API sees and usage is recorded under. */
  modelId: string;
  protocol: ModelRequest["protocol"];
  setup(url: string): { env: Record<string, string>; baseUrl: string | null };
}

const PROVIDERS: ProviderCase[] = [
  {
    name: "anthropic (Messages API)",
    model: "claude-haiku-4-5",
    modelId: "claude-haiku-4-5",
    protocol: "anthropic",
    // Claude Code's convention: no /v1 in ANTHROPIC_BASE_URL.
    setup: (url) => ({ env: { ANTHROPIC_API_KEY: "sk-ant-test", ANTHROPIC_BASE_URL: url }, baseUrl: null }),
  },
  {
    name: "openai (Responses API)",
    model: "openai:gpt-5-mini",
    modelId: "gpt-5-mini",
    protocol: "openai-responses",
    setup: (url) => ({ env: { OPENAI_API_KEY: "sk-test", OPENAI_BASE_URL: `${url}/v1` }, baseUrl: null }),
  },
  {
    name: "openai-compatible (Chat Completions)",
    model: "openai-compatible:llama3.1",
    modelId: "llama3.1",
    protocol: "openai-chat",
    setup: (url) => ({ env: {}, baseUrl: `${url}/v1` }),
  },
];

let server: FakeModelServer;
let cwd: string;
const harness = createBuiltinHarness({ pricing: PRICING });

beforeAll(async () => {
  server = await startFakeModelServer({ script: [] });
});

afterAll(async () => {
  await server.close();
});

beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), "loopd-builtin-"));
  server.requests.length = 0;
});

afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

function harnessInput(
  agent: Partial<AgentInput>,
  env: Record<string, string>,
  signal = new AbortController().signal,
): HarnessInput {
  return {
    runId: 1,
    routine: "builtin-test",
    spec: shellSpec("builtin-test", { harness: "builtin", task: { kind: "prompt", prompt: "p" } }),
    attempt: 1,
    dueAt: 0,
    cwd,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    input: null,
    agent: {
      prompt: "Create hello.txt",
      systemPrompt: "Routine rules: be brief.",
      model: null,
      baseUrl: null,
      maxTurns: 10,
      maxBudgetUsd: null,
      mcpConfig: null,
      subAgents: [],
      ...agent,
    },
    signal,
  };
}

async function run(input: HarnessInput) {
  const events: HarnessEvent[] = [];
  const result = await harness.run(input, (event) => events.push(event));
  return { result, events };
}

const writeHello: ScriptedReply = {
  toolCalls: [{ name: "write_file", input: { path: "hello.txt", content: "hello from the agent\n" } }],
  usage: { input: 100, output: 20, cached: 10 },
};

describe.each(PROVIDERS)("builtin on $name", (provider) => {
  it("runs tools in the workspace and records usage, cost and turns", async () => {
    server.setScript([
      writeHello,
      { text: "Created hello.txt\nDetails follow.", usage: { input: 150, output: 30 } },
    ]);
    const { env, baseUrl } = provider.setup(server.url);
    const { result, events } = await run(harnessInput({ model: provider.model, baseUrl }, env));

    expect(result.error).toBeNull();
    expect(result.outcome).toBe("succeeded");
    expect(await readFile(join(cwd, "hello.txt"), "utf8")).toBe("hello from the agent\n");
    expect(result.summary).toBe("Created hello.txt");
    expect(result.finalMessage).toBe("Created hello.txt\nDetails follow.");
    expect(result.turns).toBe(2);
    expect(result.sessionId).toBeNull();
    const usage = { tokensIn: 250, tokensCached: 10, tokensOut: 50, tokensReasoning: 0 };
    expect(result.usage).toEqual(usage);
    expect(result.costUsd).toBe(costOf(provider.modelId, usage, PRICING));
    expect(result.costUsd).toBeGreaterThan(0);
    expect(result.modelUsage).toEqual([{ model: provider.modelId, usage, costUsd: result.costUsd }]);

    const turns = server.turns();
    expect(turns.map((turn) => [turn.protocol, turn.model])).toEqual([
      [provider.protocol, provider.modelId],
      [provider.protocol, provider.modelId],
    ]);
    // The routine's system prompt follows the builtin instructions.
    expect(JSON.stringify(turns[0]?.body)).toContain("Routine rules: be brief.");
    expect(JSON.stringify(turns[1]?.body)).toContain("Created hello.txt (1 lines)");
    if (provider.protocol === "openai-responses") {
      // Optional tool arguments are not allowed in strict schemas, so tools are sent non-strict.
      const tools = (turns[0]?.body.tools ?? []) as Array<{ strict?: boolean }>;
      expect(tools.every((tool) => tool.strict === false)).toBe(true);
    }
    expect(events).toContainEqual({
      type: "tool",
      data: {
        agent: "main",
        name: "write_file",
        input: { path: "hello.txt", content: "hello from the agent\n" },
      },
    });
    expect(events.filter((event) => event.type === "usage")).toHaveLength(2);
    expect(events).toContainEqual({
      type: "message",
      data: { agent: "main", role: "assistant", text: "Created hello.txt\nDetails follow." },
    });
  });

  it("reports a bash call's exit code with its result", async () => {
    server.setScript([
      { toolCalls: [{ name: "bash", input: { command: "echo broke; exit 3" } }] },
      { toolCalls: [{ name: "bash", input: { command: "true" } }] },
      { text: "done" },
    ]);
    const { env, baseUrl } = provider.setup(server.url);
    const { result, events } = await run(harnessInput({ model: provider.model, baseUrl }, env));
    expect(result.outcome).toBe("succeeded");
    const finished = events.flatMap((event) =>
      event.type === "tool" && "failed" in (event.data as object) ? [event.data] : [],
    );
    expect(finished).toEqual([
      expect.objectContaining({ name: "bash", exitCode: 3, failed: true, output: "broke\n[exit code 3]" }),
      expect.objectContaining({ name: "bash", exitCode: 0, failed: false }),
    ]);
  });

  it("fails with LOOPD_TURN_LIMIT when the step cap stops a working agent", async () => {
    server.setScript(() => ({ toolCalls: [{ name: "list_files", input: {} }] }));
    const { env, baseUrl } = provider.setup(server.url);
    const { result } = await run(harnessInput({ model: provider.model, baseUrl, maxTurns: 3 }, env));
    expect(result.outcome).toBe("failed");
    expect(result.error?.code).toBe("LOOPD_TURN_LIMIT");
    expect(result.turns).toBe(3);
    expect(result.usage?.tokensOut).toBe(60);
    expect(server.turns()).toHaveLength(3);
  });

  it("maps HTTP 401 to LOOPD_AUTH_EXPIRED", async () => {
    server.setScript([{ status: 401 }]);
    const { env, baseUrl } = provider.setup(server.url);
    const { result } = await run(harnessInput({ model: provider.model, baseUrl }, env));
    expect(result.outcome).toBe("failed");
    expect(result.error?.code).toBe("LOOPD_AUTH_EXPIRED");
    expect(result.error?.message).toContain("401");
  });
});

describe("builtin run", () => {
  it("fails with LOOPD_AUTH_MISSING before any request when the key is not in the run's environment", async () => {
    const { result } = await run(
      harnessInput({ model: "claude-haiku-4-5" }, { ANTHROPIC_BASE_URL: server.url }),
    );
    expect(result.error?.code).toBe("LOOPD_AUTH_MISSING");
    expect(result.error?.message).toContain("ANTHROPIC_API_KEY");
    expect(server.requests).toHaveLength(0);
  });

  it("maps other API errors to LOOPD_AGENT_FAILED with the status", async () => {
    server.setScript([{ status: 400, errorMessage: "prompt is too long" }]);
    const env = { ANTHROPIC_API_KEY: "k", ANTHROPIC_BASE_URL: server.url };
    const { result } = await run(harnessInput({ model: "claude-haiku-4-5" }, env));
    expect(result.error?.code).toBe("LOOPD_AGENT_FAILED");
    expect(result.error?.message).toMatch(/HTTP 400: prompt is too long/);
  });

  it("stops a running bash tool and the loop when the run is aborted, keeping usage so far", async () => {
    server.setScript([{ toolCalls: [{ name: "bash", input: { command: "sleep 30" } }] }]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const env = { ANTHROPIC_API_KEY: "k", ANTHROPIC_BASE_URL: server.url };
    const started = Date.now();
    const { result } = await run(harnessInput({ model: "claude-haiku-4-5" }, env, controller.signal));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(result.outcome).toBe("failed");
    expect(result.error?.message).toMatch(/aborted/);
    expect(result.usage?.tokensIn).toBe(100);
  });
});

describe("builtin preflight", () => {
  const preflight = (env: Record<string, string>, baseUrl: string | null = null) =>
    harness.preflight!({ env, cwd: tmpdir(), baseUrl, signal: new AbortController().signal });

  it("is installed in process, and tries the key it found at the provider's model list", async () => {
    const result = await preflight({ OPENAI_API_KEY: "sk", OPENAI_BASE_URL: `${server.url}/v1` });
    expect(result).toMatchObject({ harness: "builtin", installed: true, command: null, auth: "ok" });
    expect(result.authSource).toBe("OPENAI_API_KEY");
    expect(result.authDetail).toBe(`accepted by ${server.url}/v1/models`);
    expect(result.version).toMatch(/^6\./);
    expect(server.requests).toHaveLength(0);
  });

  it("a refused key fails before any model call, for the run's model's provider", async () => {
    const dead = await startFakeModelServer({ script: [], rejectKeys: true });
    try {
      const env = { ANTHROPIC_API_KEY: "sk-ant-revoked", ANTHROPIC_BASE_URL: dead.url };
      const result = await harness.preflight!({
        env,
        cwd: tmpdir(),
        baseUrl: null,
        model: "claude-haiku-4-5",
        signal: new AbortController().signal,
      });
      expect(result).toMatchObject({ auth: "expired", error: { code: "LOOPD_AUTH_EXPIRED" } });
      expect(result.error?.message).toContain(`ANTHROPIC_API_KEY was rejected by ${dead.url}/v1/models`);
      expect(result.error?.hint).toContain("Replace ANTHROPIC_API_KEY");
      expect(dead.modelListRequests).toHaveLength(1);
      expect(dead.requests).toHaveLength(0);
    } finally {
      await dead.close();
    }
  });

  it("accepts a keyless OpenAI-compatible server and reports a missing key otherwise", async () => {
    expect(await preflight({}, "http://localhost:11434/v1")).toMatchObject({ auth: "unknown", error: null });
    const missing = await preflight({});
    expect(missing.auth).toBe("missing");
    expect(missing.error?.code).toBe("LOOPD_AUTH_MISSING");
    expect(missing.error?.hint).toContain("ANTHROPIC_API_KEY");
  });
});
