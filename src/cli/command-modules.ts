/**
 * Which file registers which top-level command, so a command loads only its own file (and
 * what that imports): `loopd ls` never parses the daemon, the agent harnesses or the MCP SDK.
 * Help, no command and an unknown command load them all (commander lists and suggests from
 * the full tree). A new command goes in its file's `commands` (test/cli-modules.test.ts
 * checks the table against what each file registers).
 */
import type { Command } from "commander";
import type { Run } from "./program.js";

type Register = (program: Command, run: Run) => void;

export interface CommandModule {
  /** The top-level command names (and aliases) the module's register function adds. */
  commands: readonly string[];
  load: () => Promise<Register>;
}

/** In the order `loopd --help` lists them. */
export const COMMAND_MODULES: readonly CommandModule[] = [
  {
    commands: ["init", "apply", "schema"],
    load: async () => (await import("./commands/config.js")).registerConfigCommands,
  },
  {
    commands: ["templates"],
    load: async () => (await import("./commands/templates.js")).registerTemplateCommands,
  },
  {
    commands: ["ls", "show", "pause", "resume", "rm"],
    load: async () => (await import("./commands/routines.js")).registerRoutineCommands,
  },
  { commands: ["runs"], load: async () => (await import("./commands/runs.js")).registerRunCommands },
  { commands: ["run", "logs"], load: async () => (await import("./commands/run.js")).registerRunNowCommands },
  {
    commands: ["serve", "worker", "status"],
    load: async () => (await import("./commands/daemon.js")).registerDaemonCommands,
  },
  {
    commands: ["doctor", "memory", "costs", "show-run"],
    load: async () => (await import("./commands/agents.js")).registerAgentCommands,
  },
  {
    commands: ["deliveries"],
    load: async () => (await import("./commands/deliveries.js")).registerDeliveryCommands,
  },
  { commands: ["checks"], load: async () => (await import("./commands/checks.js")).registerCheckCommands },
  { commands: ["flaky"], load: async () => (await import("./commands/flaky.js")).registerFlakyCommands },
  {
    commands: ["feedback"],
    load: async () => (await import("./commands/feedback.js")).registerFeedbackCommands,
  },
  { commands: ["remind"], load: async () => (await import("./commands/remind.js")).registerRemindCommands },
  {
    commands: ["integrate"],
    load: async () => (await import("./commands/integrate.js")).registerIntegrateCommands,
  },
  { commands: ["open"], load: async () => (await import("./commands/open.js")).registerOpenCommands },
  { commands: ["mcp"], load: async () => (await import("./commands/mcp.js")).registerMcpCommands },
  {
    commands: ["service"],
    load: async () => (await import("./commands/service.js")).registerServiceCommands,
  },
  {
    commands: ["export", "import", "backup"],
    load: async () => (await import("./commands/data.js")).registerDataCommands,
  },
];

/** Global options that take a value: the word after them is not a command name. */
const VALUED_GLOBALS = new Set(["--home"]);

/** The modules `argv` needs: the one that owns its command, or all of them. */
export function modulesFor(argv: readonly string[]): readonly CommandModule[] {
  const name = commandName(argv);
  const owner =
    name === undefined ? undefined : COMMAND_MODULES.find((module) => module.commands.includes(name));
  return owner === undefined ? COMMAND_MODULES : [owner];
}

function commandName(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] as string;
    if (word === "--") return undefined;
    if (VALUED_GLOBALS.has(word)) i++;
    else if (!word.startsWith("-")) return word;
  }
  return undefined;
}
