import { describe, expect, it } from "vitest";
import { parseConfigText } from "../config/load-config.js";
import { effectiveSandbox, type SandboxConfig, type SandboxSettings } from "./sandbox.js";

describe("effectiveSandbox (table in domain/sandbox.ts)", () => {
  const cases: Array<[string, SandboxConfig | undefined, SandboxSettings | undefined, string, string]> = [
    ["agent CLI, nothing set", undefined, undefined, "claude", "on"],
    ["codex, nothing set", undefined, undefined, "codex", "on"],
    ["shell, nothing set", undefined, undefined, "shell", "off"],
    ["builtin, nothing set", undefined, undefined, "builtin", "on"],
    ["global default applies", undefined, "required", "shell", "required"],
    ["the routine's word wins", "off", "required", "claude", "off"],
    ["object without mode takes the global mode", { allowRead: ["/data"] }, "required", "gemini", "required"],
    [
      "object without mode, no global: the harness default",
      { network: ["github.com"] },
      undefined,
      "opencode",
      "on",
    ],
  ];
  it.each(cases)("%s", (_what, routine, global, harness, mode) => {
    expect(effectiveSandbox(routine, global, harness).mode).toBe(mode);
  });

  it("merges allow-lists field by field; network all wins", () => {
    const merged = effectiveSandbox(
      { allowWrite: ["/cache"], network: ["github.com"] },
      {
        mode: "required",
        allowWrite: ["/shared"],
        allowRead: ["/data"],
        network: ["pypi.org"],
        bwrap: "/opt/bwrap",
      },
      "claude",
    );
    expect(merged).toEqual({
      mode: "required",
      allowWrite: ["/shared", "/cache"],
      allowRead: ["/data"],
      network: ["pypi.org", "github.com"],
    });
    expect(effectiveSandbox({ network: "all" }, { network: ["pypi.org"] }, "claude").network).toBe("all");
  });

  it("is accepted per routine and globally by the config schema, and refuses what it cannot mean", () => {
    const ok = parseConfigText(
      `sandbox: { mode: on, bwrap: /usr/bin/bwrap, network: [github.com] }
routines:
  - { name: a, command: "true", every: 1h, repo: ., sandbox: required }
  - { name: b, command: "true", every: 1h, repo: ., sandbox: { allowWrite: [~/cache], network: all } }
`,
      "loopd.yaml",
    );
    expect(ok.routines.map((routine) => routine.sandbox)).toEqual([
      "required",
      { allowWrite: ["~/cache"], network: "all" },
    ]);
    expect(() =>
      parseConfigText(
        `routines:\n  - { name: a, command: "true", every: 1h, repo: ., sandbox: { allowWrite: [relative/path] } }\n`,
        "loopd.yaml",
      ),
    ).toThrow(/absolute path/);
    expect(() =>
      parseConfigText(
        `routines:\n  - { name: a, command: "true", every: 1h, repo: ., sandbox: maybe }\n`,
        "loopd.yaml",
      ),
    ).toThrow(/sandbox/);
  });
});
