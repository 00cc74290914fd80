/**
 * The opencode harness against the real opencode CLI and the fake model server's Chat
 * Completions, reached as the tier's OpenAI-compatible server: files really get written
 * through opencode's tools, loopd's instructions really reach the model, the turn cap and
 * aborts really stop the process, a 401 fails as expired credentials. Each test gets its
 * own HOME (no real login or config is read) and no models.dev fetch. The CLI comes from
 * node_modules/.bin/opencode (a devDependency) or LOOPD_TEST_OPENCODE.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { shellSpec } from "../../test/helpers/specs.js";
import { useTempDirs } from "../../test/helpers/temp-dirs.js";
import type { Script } from "../../test/support/fake-model/script.js";
import { type FakeModelServer, startFakeModelServer } from "../../test/support/fake-model/server.js";
import type { AgentInput, HarnessEvent, HarnessInput } from "./harness.js";
import { createOpencodeHarness } from "./opencode.js";
import { confinedHarness } from "./sandbox/confined-harness.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const OPENCODE = process.env.LOOPD_TEST_OPENCODE ?? join(ROOT, "node_modules/.bin/opencode");
// A devDependency: the suite fails loudly rather than skipping when the CLI is missing.
if (!existsSync(OPENCODE))
  throw new Error(`the opencode-ai e2e tests need its CLI at ${OPENCODE} (npm ci installs it)`);

const MODEL = "fake-model";
const SYSTEM_PROMPT = "LOOPD-INSTRUCTIONS: write memory to .loopd/memory.md";
// opencode starts slower than the other CLIs: a fresh HOME gets its database created first.
const SLOW = 60_000;

let model: FakeModelServer | null = null;
afterEach(async () => {
  await model?.close();
  model = null;
});
const tempDir = useTempDirs();

async function setup(script: Script, agent: Partial<AgentInput> = {}, signal = new AbortController().signal) {
  model = await startFakeModelServer({ script });
  const cwd = tempDir("loopd-opencode-cwd-");
  const home = tempDir("loopd-opencode-home-");
  const input: HarnessInput = {
    runId: 1,
    routine: "opencode-test",
    spec: shellSpec("opencode-test", {
      harness: "opencode",
      task: { kind: "prompt", prompt: "Create hello.txt" },
    }),
    attempt: 1,
    dueAt: Date.now(),
    cwd,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: home,
      OPENAI_API_KEY: "sk-fake-test-key",
      OPENCODE_DISABLE_MODELS_FETCH: "1",
    },
    input: null,
    agent: {
      prompt: "Create hello.txt containing hi.",
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
  const harness = createOpencodeHarness({
    command: OPENCODE,
    pricing: { [MODEL]: { input: 1, cachedInput: 0.1, output: 10 } },
  });
  return { input, events, run: () => harness.run(input, (event) => events.push(event)) };
}

describe("opencode harness (real opencode)", () => {
  it(
    "writes hello.txt with opencode's write tool, then reports done",
    async () => {
      const { input, events, run } = await setup([
        {
          toolCalls: [{ name: "write", input: { filePath: "hello.txt", content: "hi\n" } }],
          usage: { input: 300, cached: 100, output: 20 },
        },
        { text: "done: wrote hello.txt", usage: { input: 400, cached: 100, output: 10 } },
      ]);
      const result = await run();
      expect(result).toMatchObject({
        outcome: "succeeded",
        error: null,
        summary: "done: wrote hello.txt",
        turns: 2,
      });
      expect(readFileSync(join(input.cwd, "hello.txt"), "utf8")).toBe("hi\n");
      expect(result.sessionId).toMatch(/^ses_/);
      expect(result.usage).toEqual({ tokensIn: 700, tokensCached: 200, tokensOut: 30, tokensReasoning: 0 });
      // 700 × 1 + 200 × 0.1 + 30 × 10 per million: opencode cannot price the fake model itself.
      expect(result.costUsd).toBe(0.00102);
      const turns = model?.turns() ?? [];
      expect(turns).toHaveLength(2);
      expect(turns.every((turn) => JSON.stringify(turn.body.messages).includes("LOOPD-INSTRUCTIONS"))).toBe(
        true,
      );
      expect(turns[0]?.headers.authorization).toBe("Bearer sk-fake-test-key");
      expect(events).toContainEqual({
        type: "tool",
        data: expect.objectContaining({ name: "write", status: "completed" }),
      });
    },
    SLOW,
  );

  it(
    "works the same under loopd's sandbox (bubblewrap: synthetic HOME, model port forwarded in)",
    async () => {
      const { input, events } = await setup([
        { toolCalls: [{ name: "write", input: { filePath: "hello.txt", content: "hi\n" } }] },
        { text: "done: wrote hello.txt" },
      ]);
      const harness = confinedHarness(createOpencodeHarness({ command: OPENCODE }), "on");
      const result = await harness.run(input, (event) => events.push(event));
      expect(result, JSON.stringify(events.slice(-5))).toMatchObject({
        outcome: "succeeded",
        summary: "done: wrote hello.txt",
      });
      expect(readFileSync(join(input.cwd, "hello.txt"), "utf8")).toBe("hi\n");
      expect(events).toContainEqual({
        type: "status",
        data: expect.objectContaining({ event: "sandbox", confined: true }),
      });
    },
    SLOW,
  );

  it(
    "stops opencode at maxTurns",
    async () => {
      const { input, run } = await setup(
        (request) =>
          request.turn < 2
            ? { toolCalls: [{ name: "write", input: { filePath: `f${request.turn}.txt`, content: "x\n" } }] }
            : // opencode asks for the next response as soon as a step's tools ran, racing the
              // stop: a third request may reach the model, but it is never answered.
              {
                holdMs: 120_000,
                toolCalls: [{ name: "write", input: { filePath: "f2.txt", content: "x\n" } }],
              },
        { maxTurns: 2 },
      );
      const result = await run();
      expect(result.error?.code).toBe("LOOPD_TURN_LIMIT");
      expect(result.turns).toBe(2);
      expect(model?.turns().length).toBeGreaterThanOrEqual(2);
      expect(model?.turns().length).toBeLessThanOrEqual(3);
      // Both responses ran their tools; a third never ran.
      expect(existsSync(join(input.cwd, "f1.txt"))).toBe(true);
      expect(existsSync(join(input.cwd, "f2.txt"))).toBe(false);
    },
    SLOW,
  );

  it(
    "fails with LOOPD_AUTH_EXPIRED when the key is rejected",
    async () => {
      const { run } = await setup([{ status: 401 }]);
      const result = await run();
      expect(result.error?.code).toBe("LOOPD_AUTH_EXPIRED");
      expect(result.error?.message).toContain("HTTP 401");
    },
    SLOW,
  );

  it(
    "stops opencode when the run is aborted",
    async () => {
      const controller = new AbortController();
      const { run } = await setup(
        [{ toolCalls: [{ name: "bash", input: { command: "sleep 60", description: "wait" } }] }],
        {},
        controller.signal,
      );
      const started = Date.now();
      const timer = setInterval(() => {
        // Abort once the model asked for the command, so the kill lands mid-tool.
        if ((model?.turns().length ?? 0) > 0) controller.abort();
      }, 200);
      const result = await run();
      clearInterval(timer);
      expect(result.error?.code).toBe("LOOPD_AGENT_FAILED");
      expect(Date.now() - started).toBeLessThan(40_000);
    },
    SLOW,
  );
});
