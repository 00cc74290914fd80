/**
 * Real agent CLIs (claude, codex from node_modules/.bin) run by loopd against the fake model
 * server: the environment a test daemon gives them, and the moves a scripted agent makes.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ModelRequest, ScriptedReply } from "../support/fake-model/script.js";

/** Where the agent CLIs the tests run are installed. */
export const AGENT_BIN = fileURLToPath(new URL("../../node_modules/.bin", import.meta.url));

/**
 * The environment of a test's loopd (and so of its agents): the agent CLIs on PATH, a home of
 * their own under `root` (no user config leaks in), Claude pointed at the fake model, the
 * loopd home at `root/home`, and every other way off the machine closed by a dead proxy.
 */
export function fakeAgentEnv(root: string, modelUrl: string): Record<string, string> {
  const agentHome = join(root, "agent-home");
  mkdirSync(agentHome, { recursive: true });
  return {
    PATH: `${AGENT_BIN}:${process.env.PATH ?? "/usr/bin:/bin"}`,
    HOME: agentHome,
    CLAUDE_CONFIG_DIR: join(agentHome, ".claude"),
    CLAUDE_CODE_TMPDIR: agentHome,
    LOOPD_HOME: join(root, "home"),
    ANTHROPIC_BASE_URL: modelUrl,
    ANTHROPIC_API_KEY: "sk-ant-fake-key-for-tests",
    HTTPS_PROXY: "http://127.0.0.1:9",
    HTTP_PROXY: "http://127.0.0.1:9",
    NO_PROXY: "127.0.0.1,localhost",
  };
}

/** The run's worktree, read from loopd's instructions in the request (Claude's system prompt, Codex's instructions). */
export function worktreeOf(request: ModelRequest): string {
  const text = JSON.stringify(request.body.system ?? request.body.instructions ?? request.body.input ?? "");
  const match = /You work in (\/[^,\s"\\]+), a private/.exec(text);
  if (!match?.[1]) throw new Error("no worktree path in the request's system prompt");
  return match[1];
}

/** The agent writes `file` into its worktree with the Write tool, then reports `summary`; it never commits. */
export function writes(file: string, content: string, summary: string) {
  return (request: ModelRequest): ScriptedReply =>
    request.turn === 0
      ? { toolCalls: [{ name: "Write", input: { file_path: join(worktreeOf(request), file), content } }] }
      : { text: summary };
}
