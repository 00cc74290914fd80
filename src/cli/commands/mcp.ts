/** `loopd mcp`: serve loopd's tools to a coding agent over stdio (MCP). */
import type { Command } from "commander";
import type { CommandContext } from "../context.js";
import { packageVersion, type Run } from "../program.js";

export function registerMcpCommands(program: Command, run: Run): void {
  program
    .command("mcp")
    .description("serve loopd to a coding agent over stdio (MCP): it can create its own loops and reminders")
    .addHelpText(
      "after",
      `
Add it to an agent's MCP config; the agent's working directory becomes the default repo:
  {"mcpServers": {"loopd": {"command": "loopd", "args": ["mcp"]}}}`,
    )
    .action(
      run(async (ctx: CommandContext) => {
        // Loaded on use: the MCP SDK is most of a second of start-up every other command skips.
        const { serveMcpOverStdio } = await import("../../mcp/server.js");
        await serveMcpOverStdio({
          home: ctx.home,
          env: ctx.io.env,
          cwd: process.cwd(),
          now: ctx.io.now,
          version: packageVersion(),
        });
      }),
    );
}
