/**
 * The gemini harness against the real Gemini CLI and a small Gemini-API fake
 * (`POST /v1beta/models/<model>:streamGenerateContent?alt=sse`, in this file: the shared fake
 * model server speaks Anthropic and OpenAI only). Files really get written through the CLI's
 * tools, loopd's instructions really reach the model, the turn cap really stops the process,
 * a rejected key fails fast. The CLI comes from node_modules/.bin/gemini (a devDependency)
 * or LOOPD_TEST_GEMINI.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { shellSpec } from "../../test/helpers/specs.js";
import { useTempDirs } from "../../test/helpers/temp-dirs.js";
import { createGeminiHarness } from "./gemini.js";
import type { AgentInput, HarnessEvent, HarnessInput } from "./harness.js";
import { confinedHarness } from "./sandbox/confined-harness.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const GEMINI = process.env.LOOPD_TEST_GEMINI ?? join(ROOT, "node_modules/.bin/gemini");
// A devDependency: the suite fails loudly rather than skipping when the CLI is missing.
if (!existsSync(GEMINI))
  throw new Error(`the @google/gemini-cli e2e tests need its CLI at ${GEMINI} (npm ci installs it)`);

const MODEL = "gemini-2.5-flash";
const SYSTEM_PROMPT = "LOOPD-INSTRUCTIONS: write memory to .loopd/memory.md";

interface Reply {
  text?: string;
  calls?: Array<{ name: string; args: Record<string, unknown> }>;
  status?: number;
}

interface GeminiFake {
  url: string;
  bodies: string[];
  close(): Promise<void>;
}

/** Answers agent turns from `script` in order (then "done"), in the Gemini API's SSE format. */
async function startGeminiFake(script: Reply[]): Promise<GeminiFake> {
  const bodies: string[] = [];
  let turn = 0;
  const server: Server = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += String(chunk);
    bodies.push(body);
    const reply = req.url?.includes(":streamGenerateContent")
      ? (script[turn++] ?? { text: "done" })
      : { text: "{}" };
    if (reply.status) {
      const message = reply.status === 400 ? "API key not valid. Please pass a valid API key." : "failed";
      res.writeHead(reply.status, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: reply.status, message, status: "INVALID_ARGUMENT" } }));
      return;
    }
    const parts = [
      ...(reply.text ? [{ text: reply.text }] : []),
      ...(reply.calls ?? []).map((call) => ({ functionCall: call })),
    ];
    const response = {
      candidates: [{ content: { role: "model", parts }, finishReason: "STOP", index: 0 }],
      usageMetadata: {
        promptTokenCount: 1000,
        candidatesTokenCount: 20,
        cachedContentTokenCount: 200,
        thoughtsTokenCount: 5,
        totalTokenCount: 1025,
      },
      modelVersion: MODEL,
    };
    if (req.url?.includes("alt=sse")) {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(`data: ${JSON.stringify(response)}\r\n\r\n`);
    } else {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(response));
    }
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

let fake: GeminiFake | null = null;
afterEach(async () => {
  await fake?.close();
  fake = null;
});
const tempDir = useTempDirs();

async function setup(
  script: Reply[],
  agent: Partial<AgentInput> = {},
  signal = new AbortController().signal,
) {
  fake = await startGeminiFake(script);
  const cwd = tempDir("loopd-gemini-cwd-");
  const home = tempDir("loopd-gemini-home-");
  // With a base URL, Gemini CLI 0.61 needs the auth type in settings.json (see geminiAuth).
  mkdirSync(join(home, ".gemini"));
  writeFileSync(
    join(home, ".gemini", "settings.json"),
    '{"security":{"auth":{"selectedType":"gemini-api-key"}}}',
  );
  const input: HarnessInput = {
    runId: 1,
    routine: "gemini-test",
    spec: shellSpec("gemini-test", {
      harness: "gemini",
      task: { kind: "prompt", prompt: "Create hello.txt" },
    }),
    attempt: 1,
    dueAt: Date.now(),
    cwd,
    // TMPDIR: the CLI drops an error report file in the temp folder for each failed API call.
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: home,
      TMPDIR: home,
      GEMINI_API_KEY: "fake-gemini-key",
    },
    input: null,
    agent: {
      prompt: "Create hello.txt containing hi.",
      systemPrompt: SYSTEM_PROMPT,
      model: MODEL,
      baseUrl: fake.url,
      maxTurns: 10,
      maxBudgetUsd: null,
      mcpConfig: null,
      subAgents: [],
      ...agent,
    },
    signal,
  };
  const events: HarnessEvent[] = [];
  const harness = createGeminiHarness({
    command: GEMINI,
    pricing: { [MODEL]: { input: 1, cachedInput: 0.1, output: 10 } },
  });
  return { input, events, run: () => harness.run(input, (event) => events.push(event)) };
}

describe("gemini harness (real Gemini CLI)", () => {
  it("writes hello.txt with the CLI's write_file tool, then reports done", async () => {
    const { input, events, run } = await setup([
      { calls: [{ name: "write_file", args: { file_path: "hello.txt", content: "hi\n" } }] },
      { text: "done: wrote hello.txt" },
    ]);
    const result = await run();
    expect(result).toMatchObject({
      outcome: "succeeded",
      error: null,
      summary: "done: wrote hello.txt",
      turns: 2,
    });
    expect(readFileSync(join(input.cwd, "hello.txt"), "utf8")).toBe("hi\n");
    expect(result.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    // Two requests of 1000 prompt tokens (200 cached), 20 answer and 5 thought tokens.
    expect(result.usage).toEqual({ tokensIn: 1600, tokensCached: 400, tokensOut: 50, tokensReasoning: 10 });
    expect(result.costUsd).toBe(0.00214);
    expect(fake?.bodies.every((body) => body.includes("LOOPD-INSTRUCTIONS"))).toBe(true);
    expect(events).toContainEqual({
      type: "tool",
      data: expect.objectContaining({ name: "write_file", status: "success" }),
    });
  });

  it("works the same under loopd's sandbox (bubblewrap: synthetic HOME, model port forwarded in)", async () => {
    const { input, events } = await setup([
      { calls: [{ name: "write_file", args: { file_path: "hello.txt", content: "hi\n" } }] },
      { text: "done: wrote hello.txt" },
    ]);
    const harness = confinedHarness(createGeminiHarness({ command: GEMINI }), "on");
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
  });

  it("stops the CLI at maxTurns", async () => {
    const call = (n: number): Reply => ({
      calls: [{ name: "write_file", args: { file_path: `f${n}.txt`, content: `${n}\n` } }],
    });
    const { input, run } = await setup([call(1), call(2), call(3), call(4)], { maxTurns: 2 });
    const result = await run();
    expect(result.error?.code).toBe("LOOPD_TURN_LIMIT");
    expect(existsSync(join(input.cwd, "f1.txt"))).toBe(true);
    // The second response's tool may already be running when the stop lands (Gemini CLI
    // announces and starts tools together); no third model turn ever happens.
    expect(existsSync(join(input.cwd, "f3.txt"))).toBe(false);
  });

  it("fails fast with LOOPD_AUTH_EXPIRED when the key is rejected", async () => {
    const { run } = await setup([{ status: 400 }]);
    const started = Date.now();
    const result = await run();
    expect(result.error?.code).toBe("LOOPD_AUTH_EXPIRED");
    expect(result.error?.message).toContain("API key not valid");
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it("stops the CLI when the run is aborted", async () => {
    const controller = new AbortController();
    const { run } = await setup(
      [{ calls: [{ name: "run_shell_command", args: { command: "sleep 30" } }] }],
      {},
      controller.signal,
    );
    setTimeout(() => controller.abort(), 4_000);
    const started = Date.now();
    const result = await run();
    expect(result.error?.code).toBe("LOOPD_AGENT_FAILED");
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
