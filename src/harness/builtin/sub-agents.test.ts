/**
 * Sub-agents end to end: the main agent (Anthropic) delegates through its `agent_<name>`
 * tool to a sub-agent on another provider and model (OpenAI Responses), both served by the
 * fake model server; usage is recorded per model.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { shellSpec } from "../../../test/helpers/specs.js";
import type { ModelRequest, ScriptedReply } from "../../../test/support/fake-model/script.js";
import { type FakeModelServer, startFakeModelServer } from "../../../test/support/fake-model/server.js";
import { costOf, type PricingTable } from "../../domain/pricing.js";
import type { HarnessEvent, HarnessInput } from "../harness.js";
import { createBuiltinHarness } from "./agent.js";
import { subAgentToolName } from "./sub-agents.js";

const PRICING: PricingTable = {
  "claude-haiku-4-5": { input: 1, cachedInput: 0.1, output: 5 },
  "gpt-5-mini": { input: 0.25, cachedInput: 0.025, output: 2 },
};
const harness = createBuiltinHarness({ pricing: PRICING });

let server: FakeModelServer;
let cwd: string;

beforeAll(async () => {
  server = await startFakeModelServer({ script: [] });
});
afterAll(async () => {
  await server.close();
});
beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), "loopd-subagents-"));
  server.requests.length = 0;
});
afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

/** One script per model, each consumed in order (the server's turn counter is shared). */
function scriptsByModel(scripts: Record<string, ScriptedReply[]>): (request: ModelRequest) => ScriptedReply {
  const next: Record<string, number> = {};
  return (request) => {
    const index = next[request.model] ?? 0;
    next[request.model] = index + 1;
    return scripts[request.model]?.[index] ?? { text: "done" };
  };
}

function input(): HarnessInput {
  return {
    runId: 1,
    routine: "with-reviewer",
    spec: shellSpec("with-reviewer", { harness: "builtin", task: { kind: "prompt", prompt: "p" } }),
    attempt: 1,
    dueAt: 0,
    cwd,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      ANTHROPIC_API_KEY: "sk-ant",
      ANTHROPIC_BASE_URL: server.url,
      OPENAI_API_KEY: "sk-oai",
      OPENAI_BASE_URL: `${server.url}/v1`,
    },
    input: null,
    agent: {
      prompt: "Get the change reviewed",
      systemPrompt: "",
      model: "anthropic:claude-haiku-4-5",
      baseUrl: null,
      maxTurns: 5,
      maxBudgetUsd: null,
      mcpConfig: null,
      subAgents: [
        {
          name: "reviewer",
          description: "Reviews changes.",
          model: "openai:gpt-5-mini",
          baseUrl: null,
          maxTurns: 4,
        },
      ],
    },
    signal: new AbortController().signal,
  };
}

describe("builtin sub-agents", () => {
  it("runs a sub-agent on its own model through its tool and records its usage under that model", async () => {
    server.setScript(
      scriptsByModel({
        "claude-haiku-4-5": [
          { toolCalls: [{ name: "agent_reviewer", input: { task: "Review and write review.txt" } }] },
          { text: "Review done", usage: { input: 200, output: 10 } },
        ],
        "gpt-5-mini": [
          { toolCalls: [{ name: "write_file", input: { path: "review.txt", content: "LGTM" } }] },
          { text: "Looks good to me", usage: { input: 50, output: 5, reasoning: 3 } },
        ],
      }),
    );
    const events: HarnessEvent[] = [];
    const result = await harness.run(input(), (event) => events.push(event));

    expect(result.error).toBeNull();
    expect(result.summary).toBe("Review done");
    expect(result.turns).toBe(2);
    expect(await readFile(join(cwd, "review.txt"), "utf8")).toBe("LGTM");
    const main = { tokensIn: 300, tokensCached: 0, tokensOut: 30, tokensReasoning: 0 };
    const sub = { tokensIn: 150, tokensCached: 0, tokensOut: 25, tokensReasoning: 3 };
    expect(result.modelUsage).toEqual([
      { model: "gpt-5-mini", usage: sub, costUsd: costOf("gpt-5-mini", sub, PRICING) },
      { model: "claude-haiku-4-5", usage: main, costUsd: costOf("claude-haiku-4-5", main, PRICING) },
    ]);
    expect(result.usage).toEqual({ tokensIn: 450, tokensCached: 0, tokensOut: 55, tokensReasoning: 3 });
    expect(result.costUsd).toBeCloseTo(
      costOf("gpt-5-mini", sub, PRICING) + costOf("claude-haiku-4-5", main, PRICING),
    );

    const turns = server.turns();
    expect(turns.map((turn) => turn.protocol)).toEqual([
      "anthropic",
      "openai-responses",
      "openai-responses",
      "anthropic",
    ]);
    // The sub-agent gets the workspace tools but cannot delegate again.
    const subTools = ((turns[1]?.body.tools ?? []) as Array<{ name: string }>).map((tool) => tool.name);
    expect(subTools).toContain("write_file");
    expect(subTools).not.toContain("agent_reviewer");
    // Its final text is the main agent's tool result.
    expect(JSON.stringify(turns[3]?.body)).toContain("Looks good to me");
    expect(events).toContainEqual({
      type: "tool",
      data: { agent: "reviewer", name: "write_file", input: { path: "review.txt", content: "LGTM" } },
    });
  });

  it("ends the run with LOOPD_AUTH_EXPIRED when the sub-agent's credentials are rejected", async () => {
    server.setScript(
      scriptsByModel({
        "claude-haiku-4-5": [{ toolCalls: [{ name: "agent_reviewer", input: { task: "Review" } }] }],
        "gpt-5-mini": [{ status: 401 }],
      }),
    );
    const result = await harness.run(input(), () => {});
    expect(result.error?.code).toBe("LOOPD_AUTH_EXPIRED");
    expect(result.error?.message).toContain("gpt-5-mini");
    expect(server.turns()).toHaveLength(2);
  });

  it("tells the main agent when the sub-agent hits its own turn cap, and the run goes on", async () => {
    server.setScript(
      scriptsByModel({
        "claude-haiku-4-5": [
          { toolCalls: [{ name: "agent_reviewer", input: { task: "Review" } }] },
          { text: "Reviewer gave up; done without review" },
        ],
        "gpt-5-mini": Array.from({ length: 4 }, () => ({ toolCalls: [{ name: "list_files", input: {} }] })),
      }),
    );
    const result = await harness.run(input(), () => {});
    expect(result.outcome).toBe("succeeded");
    const turns = server.turns();
    expect(turns.filter((turn) => turn.model === "gpt-5-mini")).toHaveLength(4);
    expect(JSON.stringify(turns.at(-1)?.body)).toContain("sub-agent reviewer reached its limit of 4 turns");
  });

  it("checks the sub-agent's key before the first request", async () => {
    const withoutOpenAI = input();
    delete withoutOpenAI.env.OPENAI_API_KEY;
    const result = await harness.run(withoutOpenAI, () => {});
    expect(result.error).toEqual({
      code: "LOOPD_AUTH_MISSING",
      message: "sub-agent reviewer: OPENAI_API_KEY is not set for model gpt-5-mini",
    });
    expect(server.requests).toHaveLength(0);
  });

  it("names tools so every provider accepts them", () => {
    expect(subAgentToolName("code reviewer.v2")).toBe("agent_code_reviewer_v2");
    expect(subAgentToolName("x".repeat(80))).toHaveLength(64);
  });
});
