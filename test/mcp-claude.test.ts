/**
 * An agent creating its own durable loop, end to end: the real Claude Code CLI, driven by the
 * fake model server, is given `loopd mcp` in its MCP config and calls create_loop; the loop
 * lands in loopd with Claude's working directory as its repo, and once `loopd serve` runs it
 * fires on schedule in that directory. Claude Code gets its own HOME and an unreachable proxy,
 * as in src/harness/claude.e2e.test.ts, so nothing leaves the machine.
 */
import { spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { json, LOOPD_BIN, runCli } from "./helpers/cli.js";
import { type LoopdProcess, spawnLoopd } from "./helpers/process.js";
import { waitUntil } from "./helpers/wait.js";
import { type FakeModelServer, startFakeModelServer } from "./support/fake-model/server.js";

const CLAUDE = resolve(fileURLToPath(new URL("../node_modules/.bin/claude", import.meta.url)));
const TOOL = "mcp__loopd__create_loop";

let model: FakeModelServer | null = null;
let daemon: LoopdProcess | null = null;
let root: string | null = null;
afterEach(async () => {
  await daemon?.stop();
  await model?.close();
  if (root) rmSync(root, { recursive: true, force: true });
  daemon = model = root = null;
});

/** Runs `claude -p` in `cwd` with the prompt on stdin; resolves with its exit code and output. */
function runClaude(
  args: string[],
  options: { cwd: string; env: Record<string, string>; prompt: string },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(CLAUDE, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.once("error", fail);
    child.once("exit", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
    child.stdin.end(options.prompt);
  });
}

describe("loopd mcp with the real Claude Code CLI", () => {
  it("lets Claude Code create a loop in its working directory that then fires on schedule", async () => {
    root = realpathSync(mkdtempSync(join(tmpdir(), "loopd-mcp-claude-")));
    const home = join(root, "loopd-home");
    const agentHome = join(root, "agent-home");
    const project = join(root, "project");
    mkdirSync(agentHome);
    mkdirSync(project);
    model = await startFakeModelServer({
      script: [
        {
          text: "I'll set up a loop for that.",
          toolCalls: [
            { name: TOOL, input: { name: "agent-loop", command: "echo fired >> fired.txt", every: "2s" } },
          ],
        },
        { text: "Done: agent-loop runs every 2 seconds." },
      ],
    });
    const mcpConfig = join(root, "mcp.json");
    writeFileSync(
      mcpConfig,
      JSON.stringify({
        mcpServers: { loopd: { command: process.execPath, args: [LOOPD_BIN, "mcp", "--home", home] } },
      }),
    );

    const claude = await runClaude(
      [
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--max-turns",
        "5",
        "--model",
        "claude-haiku-4-5",
        // As root bypassPermissions is refused; the one MCP tool is allowed outright instead.
        "--permission-mode",
        "acceptEdits",
        "--allowedTools",
        TOOL,
        "--mcp-config",
        mcpConfig,
        "--strict-mcp-config",
      ],
      {
        cwd: project,
        prompt: "check this every 2 seconds",
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME: agentHome,
          CLAUDE_CONFIG_DIR: join(agentHome, ".claude"),
          CLAUDE_CODE_TMPDIR: agentHome,
          ANTHROPIC_BASE_URL: model.url,
          ANTHROPIC_API_KEY: "sk-ant-fake-test-key",
          DISABLE_AUTOUPDATER: "1",
          // Else Claude Code defers MCP tools behind its ToolSearch tool and the first turn lists none.
          ENABLE_TOOL_SEARCH: "false",
          CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
          HTTPS_PROXY: "http://127.0.0.1:9",
          HTTP_PROXY: "http://127.0.0.1:9",
          NO_PROXY: "127.0.0.1,localhost",
        },
      },
    );
    const init = JSON.parse(claude.stdout.split("\n")[0] ?? "{}") as {
      tools?: string[];
      mcp_servers?: Array<{ name: string; status: string }>;
    };
    expect(init.mcp_servers).toContainEqual({
      name: "loopd",
      status: "connected",
      source: expect.any(String),
    });
    const diagnostics = `exit ${claude.code}\nstdout: ${claude.stdout.slice(-3000)}\nstderr: ${claude.stderr}`;
    expect(claude.code, diagnostics).toBe(0);

    // Claude Code offered the model loopd's tools under its mcp__<server>__<tool> names …
    const turns = model.turns();
    const offered = ((turns[0]?.body.tools ?? []) as Array<{ name: string }>).map((tool) => tool.name);
    expect(offered).toContain(TOOL);
    expect(offered).toContain("mcp__loopd__list_routines");
    // … and handed the tool's answer (not an error) back on the next turn.
    expect(turns.length, diagnostics).toBeGreaterThanOrEqual(2);
    const toolResult = JSON.stringify(turns[1]?.body.messages);
    expect(toolResult).toContain("tool_result");
    expect(toolResult).toContain("agent-loop");
    expect(toolResult).not.toContain("LOOPD_");

    const shown = await runCli(["show", "agent-loop", "--json", "--home", home], { cwd: root });
    const routine = json<{ labels: string[]; description: string; spec: { repo: string } }>(shown);
    expect(routine.spec.repo).toBe(project);
    expect(routine.labels).toEqual(["mcp"]);
    expect(routine.description).toMatch(/^created by .+ via MCP$/);

    daemon = spawnLoopd(["serve", "--home", home, "--port", "0"], { env: {}, cwd: root });
    await daemon.waitFor((event) => event.type === "ready", 30_000);
    const fired = join(project, "fired.txt");
    const lines = () => (existsSync(fired) ? readFileSync(fired, "utf8").trim().split("\n").length : 0);
    await waitUntil(() => lines() >= 2, "the loop fired twice (two lines in fired.txt)", {
      timeoutMs: 60_000,
      everyMs: 200,
      state: () => `fired.txt has ${lines()} lines; ${daemon?.stderr()}`,
    });
    expect(readFileSync(fired, "utf8")).toMatch(/^fired\nfired\n/);
  }, 120_000);
});
