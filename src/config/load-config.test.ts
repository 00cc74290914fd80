import { describe, expect, it } from "vitest";
import { configJsonSchema } from "../domain/config-schema.js";
import { LoopdError } from "../domain/errors.js";
import { EXAMPLE_CONFIG } from "./example.js";
import { type ConfigIssue, parseConfigText } from "./load-config.js";

function issuesOf(text: string): { message: string; issues: ConfigIssue[]; hint: string } {
  try {
    parseConfigText(text, "loopd.yaml");
  } catch (error) {
    expect(error).toBeInstanceOf(LoopdError);
    const loopdError = error as LoopdError;
    expect(loopdError.code).toBe("LOOPD_CONFIG_INVALID");
    return {
      message: loopdError.message,
      issues: (loopdError.details as { issues: ConfigIssue[] }).issues,
      hint: loopdError.hint,
    };
  }
  throw new Error("expected the config to be rejected");
}

const minimal = (routine: string) => `routines:\n  - name: a\n    command: "true"\n${routine}`;

describe("parseConfigText", () => {
  it("accepts the example that `loopd init` writes", () => {
    const config = parseConfigText(EXAMPLE_CONFIG, "loopd.yaml");
    expect(config.routines.map((routine) => routine.name)).toEqual([
      "tick",
      "nightly-todos",
      "babysit-prs",
      "fix-docs",
      "launch-check",
    ]);
  });

  it("accepts an empty file as a config with no routines", () => {
    expect(parseConfigText("", "loopd.yaml").routines).toEqual([]);
  });

  it("names the field path and the line of an invalid cron", () => {
    const { message, issues } = issuesOf(minimal('    cron: "61 * * * *"\n'));
    expect(message).toBe('loopd.yaml:4: routines[0].cron: "61 * * * *" is not a valid cron expression');
    expect(issues[0]).toMatchObject({ path: "routines[0].cron", line: 4, column: 11 });
  });

  it("rejects an unknown time zone", () => {
    const { issues } = issuesOf(minimal('    cron: "0 9 * * *"\n    tz: Mars/Olympus\n'));
    expect(issues[0]).toMatchObject({ path: "routines[0].tz", line: 5 });
    expect(issues[0]!.message).toContain("not an IANA time zone");
  });

  it("rejects a negative duration", () => {
    const { issues } = issuesOf(minimal("    every: -5m\n"));
    expect(issues[0]).toMatchObject({
      path: "routines[0].every",
      message: '"-5m" is negative; durations must be positive',
    });
  });

  it("rejects an unknown key and suggests the closest one", () => {
    const { issues, hint } = issuesOf(minimal("    every: 5m\n    timout: 30s\n"));
    expect(issues[0]).toMatchObject({ path: "routines[0]", message: 'unknown key "timout"', line: 5 });
    expect(hint).toContain('Did you mean "timeout"?');
  });

  it("reports every problem, sorted by line", () => {
    const { issues, message } = issuesOf(
      `routines:\n  - name: a\n    command: x\n    every: 0s\n  - name: Bad_Name\n    prompt: y\n    overlap: sometimes\n`,
    );
    expect(issues.map((issue) => issue.path)).toEqual([
      "routines[0].every",
      "routines[1].name",
      "routines[1].overlap",
    ]);
    expect(message).toContain("(and 2 more)");
  });

  it("checks references to tiers, channels and named dates", () => {
    const { issues } = issuesOf(
      `dates: { launch: 2026-12-10 }\nroutines:\n  - name: a\n    prompt: x\n    tier: fast\n    at: lunch - 1d\n    notify: { to: me }\n`,
    );
    expect(issues.map((issue) => issue.path)).toEqual([
      "routines[0].tier",
      "routines[0].at",
      "routines[0].notify.to",
    ]);
  });

  it("enforces one trigger and one task per routine", () => {
    const { issues } = issuesOf(
      `routines:\n  - name: a\n    prompt: x\n    command: y\n    every: 5m\n    cron: "* * * * *"\n`,
    );
    expect(issues.map((issue) => issue.message)).toEqual([
      "a routine has one task; found prompt and command",
      "a routine has one trigger; found every and cron",
    ]);
  });

  it("reports the branch of a union that matched the value's shape", () => {
    const { issues } = issuesOf(minimal("    until: { runs: -1 }\n"));
    expect(issues[0]).toMatchObject({ path: "routines[0].until.runs" });
  });

  it("reports YAML syntax errors with their line", () => {
    const { issues, hint } = issuesOf("routines:\n  - name: a\n    command: [unclosed\n");
    expect(issues[0]!.path).toBe("(yaml)");
    expect(issues[0]!.line).toBeGreaterThanOrEqual(3);
    expect(hint).toContain("YAML syntax");
  });
});

describe("configJsonSchema", () => {
  it("describes routines and rejects unknown keys", () => {
    const schema = configJsonSchema() as {
      properties: {
        routines: { items: { additionalProperties: boolean; properties: Record<string, unknown> } };
      };
    };
    const routine = schema.properties.routines.items;
    expect(routine.additionalProperties).toBe(false);
    expect(Object.keys(routine.properties)).toEqual(
      expect.arrayContaining(["every", "cron", "tz", "catchUp", "overlap"]),
    );
  });
});
