/** Every harness this loopd offers, configured from `harnesses:` in loopd.yaml. */
import type { ConfigSettings } from "../store/settings.js";
import { createBuiltinHarness } from "./builtin/agent.js";
import { createClaudeHarness } from "./claude.js";
import { createCodexHarness } from "./codex.js";
import type { Harness, HarnessRegistry } from "./harness.js";
import { shellHarness } from "./shell.js";

export function createHarnessRegistry(settings: ConfigSettings["harnesses"] = {}): HarnessRegistry {
  const cli = (name: string) => {
    const entry = settings[name];
    return {
      ...(entry?.command !== undefined ? { command: entry.command } : {}),
      ...(entry?.args !== undefined ? { extraArgs: entry.args } : {}),
    };
  };
  const harnesses: Harness[] = [
    shellHarness,
    createClaudeHarness(cli("claude")),
    createCodexHarness(cli("codex")),
    createBuiltinHarness(),
  ];
  return new Map(harnesses.map((harness) => [harness.name, harness]));
}
