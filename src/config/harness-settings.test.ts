/**
 * The config for statuses that cannot be mistaken: Codex's sandbox is a setting
 * (`harnesses.codex.sandbox`), extra arguments may not choose it a second way, and a routine
 * can declare `expect: changes`.
 */
import { describe, expect, it } from "vitest";
import { LoopdError } from "../domain/errors.js";
import { toRoutineSpec } from "../domain/routine-spec.js";
import { parseConfigText } from "./load-config.js";

function rejection(text: string): { message: string; issues: Array<{ path: string; message: string }> } {
  try {
    parseConfigText(text, "loopd.yaml");
  } catch (error) {
    expect(error).toBeInstanceOf(LoopdError);
    const loopdError = error as LoopdError;
    expect(loopdError.code).toBe("LOOPD_CONFIG_INVALID");
    return {
      message: loopdError.message,
      issues: (loopdError.details as { issues: Array<{ path: string; message: string }> }).issues,
    };
  }
  throw new Error("expected the config to be rejected");
}

describe("harnesses.codex.sandbox", () => {
  it("accepts Codex's three sandbox modes, next to command and args", () => {
    for (const sandbox of ["read-only", "workspace-write", "danger-full-access"]) {
      const config = parseConfigText(
        `harnesses:\n  codex: { sandbox: ${sandbox}, args: ["-c", "x=1"] }\n`,
        "loopd.yaml",
      );
      expect(config.harnesses?.codex).toEqual({ sandbox, args: ["-c", "x=1"] });
    }
  });

  it("rejects an unknown mode, and a sandbox for another harness", () => {
    expect(rejection("harnesses:\n  codex: { sandbox: off }\n").message).toContain("harnesses.codex.sandbox");
    expect(rejection("harnesses:\n  claude: { sandbox: read-only }\n").message).toContain("sandbox");
  });

  it("refuses args that choose the sandbox themselves, naming the setting", () => {
    for (const args of [
      '["--sandbox", "danger-full-access"]',
      '["-s", "read-only"]',
      '["--sandbox=read-only"]',
      '["--dangerously-bypass-approvals-and-sandbox"]',
      '["-c", "sandbox_mode=danger-full-access"]',
    ]) {
      const { issues } = rejection(`harnesses:\n  codex: { args: ${args} }\n`);
      expect(issues).toHaveLength(1);
      expect(issues[0]?.path).toBe("harnesses.codex.args");
      expect(issues[0]?.message).toContain("set `harnesses.codex.sandbox`");
    }
    // Other flags that start like one are fine.
    expect(
      parseConfigText('harnesses:\n  codex: { args: ["--skip-git-repo-check"] }\n', "loopd.yaml"),
    ).toBeTruthy();
  });
});

describe("expect: changes", () => {
  const routine = (extra: string) =>
    `routines:\n  - name: fixer\n    harness: codex\n    prompt: "Fix the bug."\n${extra}`;

  it("is kept on the routine's spec", () => {
    const config = parseConfigText(routine("    expect: changes\n"), "loopd.yaml");
    const spec = toRoutineSpec(config.routines[0]!, 0, {
      configDir: "/repo",
      defaultTimeZone: "UTC",
      config,
    });
    expect(spec.expect).toBe("changes");
    const without = parseConfigText(routine(""), "loopd.yaml");
    expect(
      toRoutineSpec(without.routines[0]!, 0, { configDir: "/repo", defaultTimeZone: "UTC", config: without })
        .expect,
    ).toBeUndefined();
  });

  it("accepts nothing else", () => {
    expect(rejection(routine("    expect: success\n")).message).toContain("routines[0].expect");
  });
});
