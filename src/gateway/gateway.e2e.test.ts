/**
 * The real Claude Code, Codex and Gemini CLIs (node_modules/.bin) through the metering gateway to the
 * fake model server, driven by loopd's own harnesses with the gateway's base URL standing in
 * for the tier's: each gets its answer and every request is recorded with the tokens the model
 * reported; a refusal stops each CLI at once, without a single retry (the statuses were chosen
 * by trying the CLIs, see REFUSED_STATUS in server.ts).
 */

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { recordingTenant } from "../../test/helpers/gateway.js";
import { shellSpec } from "../../test/helpers/specs.js";
import { useTempDirs } from "../../test/helpers/temp-dirs.js";
import type { Script } from "../../test/support/fake-model/script.js";
import { type FakeModelServer, startFakeModelServer } from "../../test/support/fake-model/server.js";
import { createClaudeHarness } from "../harness/claude.js";
import { createCodexHarness } from "../harness/codex.js";
import { createGeminiHarness } from "../harness/gemini.js";
import type { Harness, HarnessInput } from "../harness/harness.js";
import { startGateway } from "./server.js";
import type { Admission, MeteredRequest, MeteringGateway } from "./types.js";

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), "../../node_modules/.bin");
const claude = createClaudeHarness({ command: join(BIN, "claude") });
// No plugin marketplace or apps sync (they would phone home); the retry settings stay Codex's own.
const codex = createCodexHarness({
  command: join(BIN, "codex"),
  extraArgs: ["-c", "features.plugins=false", "-c", "features.apps=false"],
});
/** CODEX_HOME outside the temp dir, where Codex lays out its sandbox helper (see codex.e2e.test.ts). */
const HOME_PARENT = ["/var/tmp", homedir()].find(
  (dir) => !dir.startsWith(tmpdir()) && !dir.startsWith("/tmp"),
)!;

let model: FakeModelServer | null = null;
let gateway: MeteringGateway | null = null;
afterEach(async () => {
  await gateway?.close();
  await model?.close();
  gateway = model = null;
});
const tempDir = useTempDirs();

interface Case {
  name: "claude" | "codex" | "gemini";
  harness: Harness;
  model: string;
  upstream: (fake: string) => string;
  tool: { name: string; input: Record<string, unknown> };
}

const CASES: Case[] = [
  {
    name: "claude",
    harness: claude,
    model: "claude-haiku-4-5",
    upstream: (fake) => fake,
    tool: { name: "Write", input: { file_path: "hello.txt", content: "hello\n" } },
  },
  {
    name: "codex",
    harness: codex,
    model: "gpt-5.5",
    upstream: (fake) => `${fake}/v1`,
    tool: { name: "exec_command", input: { cmd: "echo hello > hello.txt" } },
  },
  {
    name: "gemini",
    harness: createGeminiHarness({ command: join(BIN, "gemini") }),
    model: "gemini-2.5-flash",
    // The harness strips /v1beta from the base URL and Gemini CLI adds it back per request.
    upstream: (fake) => `${fake}/v1beta`,
    tool: { name: "write_file", input: { file_path: "hello.txt", content: "hello\n" } },
  },
];

async function setup(c: Case, script: Script, admit?: (request: MeteredRequest) => Admission) {
  // Side requests (titles, Gemini's next-speaker checks) cost nothing here, so the CLI's own
  // total and the gateway's agree whether or not a CLI counts them.
  model = await startFakeModelServer({ script, sideReply: { text: "{}", usage: { input: 0, output: 0 } } });
  gateway = await startGateway();
  const tenant = recordingTenant(admit);
  const upstream = c.upstream(model.url);
  const baseUrl = gateway.register(tenant, [upstream]).baseUrl(upstream);
  const home = tempDir(`loopd-gateway-${c.name}-home-`, HOME_PARENT);
  // With a base URL, Gemini CLI needs the auth type in its settings (see geminiAuth).
  mkdirSync(join(home, ".gemini"));
  writeFileSync(
    join(home, ".gemini", "settings.json"),
    '{"security":{"auth":{"selectedType":"gemini-api-key"}}}',
  );
  const input: HarnessInput = {
    runId: 1,
    routine: "gateway-test",
    spec: shellSpec("gateway-test", {
      harness: c.name,
      task: { kind: "prompt", prompt: "Create hello.txt" },
    }),
    attempt: 1,
    dueAt: Date.now(),
    cwd: tempDir(`loopd-gateway-${c.name}-cwd-`),
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: home,
      CLAUDE_CONFIG_DIR: join(home, ".claude"),
      CLAUDE_CODE_TMPDIR: home,
      CODEX_HOME: home,
      ANTHROPIC_API_KEY: "sk-ant-fake-test-key",
      OPENAI_API_KEY: "sk-fake-test-key",
      GEMINI_API_KEY: "fake-gemini-key",
      // Gemini CLI drops an error report in the temp folder for each failed API call.
      ...(c.name === "gemini" ? { TMPDIR: home } : {}),
      // Anything but the loopback gateway fails at once instead of leaving the machine.
      HTTPS_PROXY: "http://127.0.0.1:9",
      HTTP_PROXY: "http://127.0.0.1:9",
      NO_PROXY: "127.0.0.1,localhost",
    },
    input: null,
    agent: {
      prompt: "Create hello.txt containing hello.",
      systemPrompt: "",
      model: c.model,
      baseUrl,
      maxTurns: 10,
      maxBudgetUsd: null,
      mcpConfig: null,
      subAgents: [],
    },
    signal: AbortSignal.timeout(50_000),
  };
  return { input, tenant, server: model };
}

const isModelCall = (request: MeteredRequest) => request.format !== "unknown" && request.method === "POST";

describe.each(CASES)("$name through the metering gateway", (c) => {
  it("gets its answer, and every request it made is recorded with the model's tokens", async () => {
    const { input, tenant, server } = await setup(c, [
      { toolCalls: [c.tool], usage: { input: 500, cached: 200, output: 30 } },
      { text: "Created hello.txt.", usage: { input: 50, cached: 700, output: 5 } },
    ]);
    const result = await c.harness.run(input, () => {});
    expect(result.error).toBeNull();
    expect(result.outcome).toBe("succeeded");
    expect(readFileSync(join(input.cwd, "hello.txt"), "utf8")).toBe("hello\n");

    const calls = tenant.records.filter(({ request }) => isModelCall(request));
    expect(calls).toHaveLength(server.requests.length);
    expect(calls.every(({ response }) => response.status === 200 && !response.aborted)).toBe(true);
    const turns = calls.filter(({ request }) => request.model === c.model && request.stream);
    const total = turns.reduce(
      (sum, { response }) => ({
        tokensIn: sum.tokensIn + (response.usage?.tokensIn ?? 0),
        tokensCached: sum.tokensCached + (response.usage?.tokensCached ?? 0),
        tokensOut: sum.tokensOut + (response.usage?.tokensOut ?? 0),
        tokensReasoning: sum.tokensReasoning + (response.usage?.tokensReasoning ?? 0),
      }),
      { tokensIn: 0, tokensCached: 0, tokensOut: 0, tokensReasoning: 0 },
    );
    // The gateway's count and the CLI's own report agree, in loopd's token convention.
    expect(total).toEqual({ tokensIn: 550, tokensCached: 900, tokensOut: 35, tokensReasoning: 0 });
    expect(result.usage).toEqual(total);
  });

  it("a refused request stops it at once: one refusal, no retry, nothing forwarded after the cap", async () => {
    const refusals: MeteredRequest[] = [];
    let admitted = 0;
    const { input, server } = await setup(
      c,
      () => ({ toolCalls: [c.tool] }),
      (request) => {
        if (!isModelCall(request) || admitted < 1) {
          if (isModelCall(request)) admitted++;
          return { ok: true };
        }
        refusals.push(request);
        return { ok: false, code: "LOOPD_BUDGET_EXCEEDED", message: "perRun $0.0030 reached" };
      },
    );
    const started = Date.now();
    const result = await c.harness.run(input, () => {});
    expect(result.outcome).toBe("failed");
    expect(result.error?.message).toContain("LOOPD_BUDGET_EXCEEDED: perRun $0.0030 reached");
    expect(result.error?.code).not.toBe("LOOPD_AUTH_EXPIRED");
    expect(refusals).toHaveLength(1);
    expect(server.requests).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
