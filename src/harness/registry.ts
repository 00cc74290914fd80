/** Every harness this loopd offers, configured from `harnesses:` and `pricing:` in loopd.yaml. */
import { DEFAULT_PRICING, type PricingTable } from "../domain/pricing.js";
import type { ConfigSettings } from "../domain/settings.js";
import { createBuiltinHarness } from "./builtin/agent.js";
import { createClaudeHarness } from "./claude.js";
import { createCodexHarness } from "./codex.js";
import { createGeminiHarness } from "./gemini.js";
import type { Harness, HarnessRegistry } from "./harness.js";
import { createOpencodeHarness } from "./opencode.js";
import { confinedHarness } from "./sandbox/confined-harness.js";
import { shellHarness } from "./shell.js";

export function createHarnessRegistry(
  settings: ConfigSettings["harnesses"] = {},
  pricing: PricingTable = DEFAULT_PRICING,
  sandbox?: ConfigSettings["sandbox"],
): HarnessRegistry {
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
    createCodexHarness({
      ...cli("codex"),
      ...(settings.codex?.sandbox !== undefined ? { sandbox: settings.codex.sandbox } : {}),
      pricing,
    }),
    createGeminiHarness({ ...cli("gemini"), pricing }),
    createOpencodeHarness({ ...cli("opencode"), pricing }),
    createBuiltinHarness({ pricing }),
  ];
  // Every run is confined per its `sandbox:` setting (sandbox/confined-harness.ts).
  return new Map(harnesses.map((harness) => [harness.name, confinedHarness(harness, sandbox)]));
}
