/**
 * `loopd <command>` loads only the file that registers it (src/cli/command-modules.ts): the
 * table must name exactly what each file registers, or a command would be missing from the
 * tree its own invocation builds.
 */
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { COMMAND_MODULES, modulesFor } from "../src/cli/command-modules.js";
import type { CommandContext } from "../src/cli/context.js";
import { buildProgram } from "../src/cli/program.js";

const io = { stdout: () => {}, stderr: () => {}, env: {}, now: () => 0 };

describe("command modules", () => {
  it("each module registers exactly the commands the table names", async () => {
    for (const module of COMMAND_MODULES) {
      const program = new Command("loopd");
      (await module.load())(program, () => async () => {});
      const names = program.commands.flatMap((command) => [command.name(), ...command.aliases()]);
      expect(names.sort()).toEqual([...module.commands].sort());
    }
  });

  it("the full tree is every module's commands, and a command's own tree has it", async () => {
    const contexts: CommandContext[] = [];
    const full = await buildProgram(io, contexts);
    const all = COMMAND_MODULES.flatMap((module) => module.commands);
    expect(full.commands.map((command) => command.name()).sort()).toEqual([...all].sort());
    for (const name of all) {
      const own = await buildProgram(io, contexts, ["--home", "x", name, "--json"]);
      expect(own.commands.map((command) => command.name())).toContain(name);
    }
  });

  it("help, no command and an unknown word load everything", () => {
    for (const argv of [[], ["--help"], ["help", "ls"], ["nope"], ["--json"], ["--home", "ls"], ["--", "ls"]])
      expect(modulesFor(argv)).toHaveLength(COMMAND_MODULES.length);
    expect(modulesFor(["--json", "ls"]).flatMap((module) => module.commands)).toContain("ls");
    expect(modulesFor(["ls"])).toHaveLength(1);
  });
});
