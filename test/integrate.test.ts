/**
 * `loopd integrate` registers `loopd mcp` with the real agent CLIs (dev dependencies), each in
 * a throwaway HOME: afterwards the agent's own config names the server, started with this
 * node and loopd's bin and LOOPD_HOME pinned; `--print` shows the same without running it.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json, LOOPD_BIN, runCli } from "./helpers/cli.js";

const AGENT_BINS = fileURLToPath(new URL("../node_modules/.bin", import.meta.url));

describe("loopd integrate", () => {
  let home: string;
  let env: Record<string, string>;

  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), "loopd-integrate-"));
    env = { HOME: home, PATH: `${AGENT_BINS}:${process.env.PATH}`, LOOPD_HOME: join(home, ".loopd") };
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  const expectedServer = () => ({
    command: process.execPath,
    args: [LOOPD_BIN, "mcp", "--home", join(home, ".loopd")],
    env: { LOOPD_HOME: join(home, ".loopd") },
  });

  it("registers with Claude Code through `claude mcp add` (user scope)", async () => {
    const result = await runCli(["integrate", "claude"], { env });
    expect(result.code, result.stderr).toBe(0);
    const config = JSON.parse(readFileSync(join(home, ".claude.json"), "utf8")) as {
      mcpServers: Record<string, unknown>;
    };
    expect(config.mcpServers.loopd).toMatchObject({ type: "stdio", ...expectedServer() });
  });

  it("registers with Codex through `codex mcp add`", async () => {
    const result = await runCli(["integrate", "codex"], { env });
    expect(result.code, result.stderr).toBe(0);
    const toml = readFileSync(join(home, ".codex", "config.toml"), "utf8");
    expect(toml).toContain("[mcp_servers.loopd]");
    expect(toml).toContain(`command = "${process.execPath}"`);
    expect(toml).toContain(`args = ["${LOOPD_BIN}", "mcp", "--home", "${join(home, ".loopd")}"]`);
    expect(toml).toContain(`LOOPD_HOME = "${join(home, ".loopd")}"`);
  });

  it("registers with Gemini CLI through `gemini mcp add --scope user`", async () => {
    const result = await runCli(["integrate", "gemini"], { env });
    expect(result.code, result.stderr).toBe(0);
    const settings = JSON.parse(readFileSync(join(home, ".gemini", "settings.json"), "utf8")) as {
      mcpServers: Record<string, unknown>;
    };
    expect(settings.mcpServers.loopd).toMatchObject(expectedServer());
  });

  it("--print shows the command and the config snippet, and changes nothing", async () => {
    const other = mkdtempSync(join(tmpdir(), "loopd-integrate-print-"));
    try {
      const printed = await runCli(["integrate", "codex", "--print", "--json"], {
        env: { ...env, HOME: other },
      });
      expect(printed.code).toBe(0);
      const plan = json<{ command: string[]; snippet: { file: string; text: string } }>(printed);
      expect(plan.command.slice(0, 3)).toEqual(["codex", "mcp", "add"]);
      expect(plan.snippet.text).toContain("[mcp_servers.loopd]");
      expect(existsSync(join(other, ".codex"))).toBe(false);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it("an agent CLI that is not installed is LOOPD_HARNESS_NOT_INSTALLED, pointing at --print", async () => {
    const result = await runCli(["integrate", "gemini", "--json"], { env: { ...env, PATH: "/nonexistent" } });
    expect(result.code).not.toBe(0);
    const { error } = json<{ error: { code: string; hint: string } }>(result);
    expect(error.code).toBe("LOOPD_HARNESS_NOT_INSTALLED");
    expect(error.hint).toContain("loopd integrate gemini --print");
  });

  it("an unknown agent is a usage error", async () => {
    const result = await runCli(["integrate", "cursor"], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("expected one of claude, codex, gemini");
  });
});
