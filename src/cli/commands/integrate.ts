/** `loopd integrate claude|codex|gemini [--print]`: register `loopd mcp` with a coding agent. */
import { type Command, InvalidArgumentError } from "commander";
import { INTEGRATIONS, type Integration, integrate, integrationPlan } from "../../app/integrate.js";
import type { CommandContext } from "../context.js";
import { pc } from "../format.js";
import type { Run } from "../program.js";

export function registerIntegrateCommands(program: Command, run: Run): void {
  program
    .command("integrate")
    .description(
      "let a coding agent create loops and reminders: register `loopd mcp` with claude, codex or gemini",
    )
    .argument("<agent>", INTEGRATIONS.join(" | "), parseAgent)
    .option("--print", "print the registration command and config snippet instead of running it")
    .action(
      run(async (ctx: CommandContext, agent: Integration, options: { print?: boolean }) => {
        const plan = integrationPlan(agent, ctx.home);
        const shown = plan.command.map(shellQuote).join(" ");
        if (options.print) {
          ctx.print(plan, () =>
            [
              pc.bold("Run:"),
              `  ${shown}`,
              "",
              pc.bold(`Or add to ${plan.snippet.file}:`),
              plan.snippet.text.replace(/^/gm, "  "),
            ].join("\n"),
          );
          return;
        }
        const output = await integrate(plan, ctx.io.env);
        ctx.print({ ...plan, registered: true, output }, () =>
          [
            `${pc.green("✓")} Registered loopd with ${agent}: ${pc.dim(shown)}`,
            ...(output.trim() ? [pc.dim(output.trim())] : []),
            `Ask ${agent} to "check this PR every 30 minutes and tell me when CI is green": it can now create the loop with loopd's create_loop tool.`,
          ].join("\n"),
        );
      }),
    );
}

function parseAgent(value: string): Integration {
  if ((INTEGRATIONS as readonly string[]).includes(value)) return value as Integration;
  throw new InvalidArgumentError(`expected one of ${INTEGRATIONS.join(", ")}`);
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`;
}
