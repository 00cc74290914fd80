/**
 * The `loopd` command tree (commander). Commands are thin: parse flags, call `app`, print.
 * Every command takes the global `--json` and `--home <dir>`.
 */
import { Command } from "commander";
import { packageVersion } from "../lib/package-root.js";
import { modulesFor } from "./command-modules.js";
import { CommandContext, type GlobalOptions, type Io } from "./context.js";

export type Handler<A extends unknown[]> = (ctx: CommandContext, ...args: A) => Promise<void>;
/** Wraps a command body so it receives a context built from the global flags. */
export type Run = <A extends unknown[]>(handler: Handler<A>) => (...args: unknown[]) => Promise<void>;

export { packageVersion };

/** The command tree for `argv`: every command, or only the file that owns argv's command (see command-modules.ts). */
export async function buildProgram(
  io: Io,
  contexts: CommandContext[],
  argv: readonly string[] = [],
): Promise<Command> {
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

  const registers = await Promise.all(modulesFor(argv).map((module) => module.load()));
  for (const register of registers) register(program, run);
  return program;
}
