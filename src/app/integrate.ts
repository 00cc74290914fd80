/**
 * `loopd integrate claude|codex|gemini`: register `loopd mcp` with a coding agent, through
 * the agent's own `mcp add` command (so its config format and location stay its business),
 * or print that command and the equivalent config snippet. The server is started as
 * `<node> <loopd bin> mcp --home <home>` (and LOOPD_HOME), so the agent's loops land in the
 * same data dir as the daemon the user runs: the flag, because a `.loopd` found above the
 * agent's folder would otherwise win over LOOPD_HOME (app/home.ts).
 */
import { LoopdError } from "../domain/errors.js";
import { findExecutable } from "../harness/executable.js";
import { loopdBinPath } from "../lib/package-root.js";

export const INTEGRATIONS = ["claude", "codex", "gemini"] as const;
export type Integration = (typeof INTEGRATIONS)[number];

const LOOPD_BIN = loopdBinPath();

export interface IntegrationPlan {
  agent: Integration;
  /** The agent CLI's registration command, argv form. */
  command: string[];
  /** The same registration as a config snippet, and the file it belongs in. */
  snippet: { file: string; text: string };
}

export function integrationPlan(agent: Integration, home: string): IntegrationPlan {
  const server = {
    command: process.execPath,
    args: [LOOPD_BIN, "mcp", "--home", home],
    env: { LOOPD_HOME: home },
  };
  const env = `LOOPD_HOME=${home}`;
  switch (agent) {
    case "claude":
      return {
        agent,
        command: [
          "claude",
          "mcp",
          "add",
          "--scope",
          "user",
          // `-e` takes several values: it goes after the name, ended by `--`.
          "loopd",
          "-e",
          env,
          "--",
          server.command,
          ...server.args,
        ],
        snippet: {
          file: "~/.claude.json (user scope) or .mcp.json in a project",
          text: JSON.stringify({ mcpServers: { loopd: { type: "stdio", ...server } } }, null, 2),
        },
      };
    case "codex":
      return {
        agent,
        command: ["codex", "mcp", "add", "--env", env, "loopd", "--", server.command, ...server.args],
        snippet: {
          file: "~/.codex/config.toml",
          text: [
            "[mcp_servers.loopd]",
            `command = ${JSON.stringify(server.command)}`,
            `args = [${server.args.map((arg) => JSON.stringify(arg)).join(", ")}]`,
            `env = { LOOPD_HOME = ${JSON.stringify(home)} }`,
          ].join("\n"),
        },
      };
    case "gemini":
      return {
        agent,
        command: [
          "gemini",
          "mcp",
          "add",
          "--scope",
          "user",
          "-e",
          env,
          "loopd",
          server.command,
          ...server.args,
        ],
        snippet: {
          file: "~/.gemini/settings.json",
          text: JSON.stringify({ mcpServers: { loopd: server } }, null, 2),
        },
      };
  }
}

/** Runs the agent's registration command; its output is returned for the user to see. */
export async function integrate(plan: IntegrationPlan, env: NodeJS.ProcessEnv): Promise<string> {
  const [cli, ...args] = plan.command as [string, ...string[]];
  const binary = findExecutable(cli, env.PATH);
  if (!binary) {
    throw new LoopdError("LOOPD_HARNESS_NOT_INSTALLED", `\`${cli}\` is not on PATH`, {
      hint: `Install it, or add this to ${plan.snippet.file} yourself (\`loopd integrate ${plan.agent} --print\` shows it).`,
    });
  }
  const { execa } = await import("execa");
  const result = await execa(binary, args, {
    env,
    extendEnv: false,
    reject: false,
    stdin: "ignore",
    all: true,
  });
  if (result.exitCode !== 0) {
    throw new LoopdError(
      "LOOPD_INTEGRATE_FAILED",
      `\`${cli} mcp add\` exited with ${result.exitCode}: ${lastLine(result.all)}`,
      {
        details: { command: plan.command, output: result.all ?? "" },
      },
    );
  }
  return result.all ?? "";
}

function lastLine(text: string | undefined): string {
  return (text ?? "").trim().split("\n").at(-1) ?? "";
}
