/**
 * The `loopd` command tree (commander). Commands are thin: parse flags, call `app`, print.
 * Every command takes the global `--json` and `--home <dir>`.
 */
import { readFileSync } from "node:fs";
import { Command } from "commander";
import { registerAgentCommands } from "./commands/agents.js";
import { registerCheckCommands } from "./commands/checks.js";
import { registerConfigCommands } from "./commands/config.js";
import { registerDaemonCommands } from "./commands/daemon.js";
import { registerDataCommands } from "./commands/data.js";
import { registerDeliveryCommands } from "./commands/deliveries.js";
import { registerFeedbackCommands } from "./commands/feedback.js";
import { registerFlakyCommands } from "./commands/flaky.js";
import { registerIntegrateCommands } from "./commands/integrate.js";
import { registerMcpCommands } from "./commands/mcp.js";
import { registerOpenCommands } from "./commands/open.js";
import { registerRemindCommands } from "./commands/remind.js";
import { registerRoutineCommands } from "./commands/routines.js";
import { registerRunNowCommands } from "./commands/run.js";
import { registerRunCommands } from "./commands/runs.js";
import { registerServiceCommands } from "./commands/service.js";
import { registerTemplateCommands } from "./commands/templates.js";
import { CommandContext, type GlobalOptions, type Io } from "./context.js";

export type Handler<A extends unknown[]> = (ctx: CommandContext, ...args: A) => Promise<void>;
/** Wraps a command body so it receives a context built from the global flags. */
export type Run = <A extends unknown[]>(handler: Handler<A>) => (...args: unknown[]) => Promise<void>;

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

export function buildProgram(io: Io, contexts: CommandContext[]): Command {
  const program = new Command("loopd")
    .description("Run coding agents as durable background workers.")
    .version(packageVersion(), "-V, --version", "print the version")
    .option("--json", "print machine-readable JSON")
    .option(
      "--home <dir>",
      "data directory (default: the nearest .loopd here or above, else $LOOPD_HOME, $XDG_DATA_HOME/loopd, ~/.local/share/loopd)",
    )
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout(text),
      // Commander's own error text is replaced by our error[…] rendering in main().
      writeErr: () => {},
    });

  const run: Run =
    (handler) =>
    async (...args) => {
      const command = args.at(-1) as Command;
      const ctx = new CommandContext(command.optsWithGlobals<GlobalOptions>(), io);
      contexts.push(ctx);
      await handler(ctx, ...(args.slice(0, -1) as never));
    };

  registerConfigCommands(program, run);
  registerTemplateCommands(program, run);
  registerRoutineCommands(program, run);
  registerRunCommands(program, run);
  registerRunNowCommands(program, run);
  registerDaemonCommands(program, run);
  registerAgentCommands(program, run);
  registerDeliveryCommands(program, run);
  registerCheckCommands(program, run);
  registerFlakyCommands(program, run);
  registerFeedbackCommands(program, run);
  registerRemindCommands(program, run);
  registerIntegrateCommands(program, run);
  registerOpenCommands(program, run);
  registerMcpCommands(program, run);
  registerServiceCommands(program, run);
  registerDataCommands(program, run);
  return program;
}
