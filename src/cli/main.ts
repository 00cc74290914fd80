/**
 * The CLI's top level: runs the command and turns every failure into `error[CODE]` + a hint
 * (or JSON) and the exit code docs/errors.md documents. User errors never print a stack trace.
 */
import { CommanderError } from "commander";
import { LoopdError, toLoopdError } from "../domain/errors.js";
import type { CommandContext, Io } from "./context.js";
import { buildProgram } from "./program.js";
import { renderError } from "./render-error.js";

export async function main(argv: readonly string[], io: Io): Promise<number> {
  const contexts: CommandContext[] = [];
  const program = await buildProgram(io, contexts, argv);
  const json = argv.includes("--json");
  try {
    await program.parseAsync(argv, { from: "user" });
    return contexts.at(-1)?.exitCode ?? 0;
  } catch (error) {
    if (error instanceof CommanderError && (error.exitCode === 0 || error.code === "commander.help"))
      return 0;
    const loopdError = error instanceof CommanderError ? usageError(error) : toLoopdError(error);
    const debug = io.env.LOOPD_DEBUG === "1" || loopdError.code === "LOOPD_INTERNAL";
    const text = renderError(loopdError, { json, debug: debug && io.env.LOOPD_DEBUG === "1" });
    if (json) io.stdout(text);
    else io.stderr(text);
    return loopdError.exitCode;
  } finally {
    await Promise.all(contexts.map((ctx) => ctx.close()));
  }
}

function usageError(error: CommanderError): LoopdError {
  const message = error.message.replace(/^error: /, "").split("\n", 1)[0] ?? error.message;
  return new LoopdError("LOOPD_USAGE", message);
}
