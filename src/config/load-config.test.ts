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

describe("parseConfigText: watches", () => {
  const watch = (body: string) =>
    `dates: { launch: 2026-12-10 }\nmodels:\n  cheap: { harness: claude, model: haiku }\nroutines:\n  - name: fix-it\n    prompt: fix it\n  - name: w\n${body}`;
  const only = (body: string) => {
    const { issues } = issuesOf(watch(body));
    expect(issues).toHaveLength(1);
    return issues[0]!;
  };

  it.each([
    ["command", '    check: { command: "npm test" }\n    every: 1h\n'],
    ["testRetry", '    check: { testRetry: { command: "npx vitest run test/sync.test.ts", retries: 3 } }\n'],
    [
      "github issue",
      "    check: { github: { issue: https://github.com/acme/web/issues/34, state: fixed } }\n    by: launch - 1d\n",
    ],
    [
      "github pr",
      "    check: { github: { pr: acme/web#7, checks: green } }\n    every: 30m\n    until: { satisfied: true }\n",
    ],
    ["github ref", '    check: { github: { ref: acme/web@main } }\n    cron: "0 9 * * *"\n'],
    [
      "github discussion",
      "    check: { github: { discussion: https://github.com/acme/web/discussions/12 } }\n    at: 2026-12-01T09:00\n",
    ],
    [
      "http",
      '    check: { http: { url: https://status.example.com, status: 5xx, matches: "^down" } }\n    every: 5m\n',
    ],
    [
      "agent",
      "    check: { agent: { question: Is the changelog updated?, subject: CHANGELOG.md, tier: cheap } }\n    by: 2026-12-09\n    every: 1d\n    onUnsatisfied: { notify: false, run: fix-it }\n",
    ],
  ])("accepts a %s watch", (_, body) => {
    const config = parseConfigText(watch(body), "loopd.yaml");
    expect(config.routines[1]!.check).toBeDefined();
  });

  it("rejects a check with two kinds", () => {
    expect(only('    check: { command: "true", http: { url: https://example.com } }\n')).toMatchObject({
      path: "routines[1].check",
      message: "a check has one kind; found command and http",
    });
  });

  it("rejects an empty check and lists the kinds", () => {
    expect(only("    check: {}\n").message).toBe(
      "a check needs one of `command`, `testRetry`, `github`, `http`, `agent`",
    );
  });

  it("rejects a github check with no subject, or with two", () => {
    expect(only("    check: { github: { state: closed } }\n")).toMatchObject({
      path: "routines[1].check.github",
      message: "a github check needs one subject: `issue`, `pr`, `discussion` or `ref`",
    });
    expect(only("    check: { github: { issue: acme/web#1, pr: acme/web#2 } }\n").message).toBe(
      "a github check has one subject; found issue and pr",
    );
  });

  it("rejects a state the subject cannot have", () => {
    const issue = only("    check: { github: { issue: acme/web#34, state: merged } }\n");
    expect(issue.path).toBe("routines[1].check.github.state");
    expect(issue.message).toContain('an issue can be open, closed, fixed, new-comments; not "merged"');
  });

  it("rejects `checks: green` on an issue", () => {
    expect(only("    check: { github: { issue: acme/web#34, checks: green } }\n")).toMatchObject({
      path: "routines[1].check.github.checks",
      message: "`checks: green` applies to a `pr` or a `ref`",
    });
  });

  it("rejects a subject URL of the wrong kind", () => {
    expect(only("    check: { github: { issue: https://github.com/acme/web/pull/7 } }\n").message).toBe(
      "expected a GitHub issue URL or owner/repo#N",
    );
  });

  it("rejects `by` with `at`", () => {
    expect(only('    check: { command: "true" }\n    by: launch\n    at: launch - 1d\n')).toMatchObject({
      path: "routines[1].by",
      message: "a `by` watch is evaluated every `every` (default 2h) until its deadline; drop `at`/`cron`",
    });
  });

  it("rejects `by`, `onUnsatisfied` and `until: { satisfied }` without a check", () => {
    expect(only('    command: "true"\n    by: launch\n')).toMatchObject({
      path: "routines[1].by",
      message: "`by` applies to a watch: add a `check`",
    });
    expect(only('    command: "true"\n    every: 1h\n    until: { satisfied: true }\n')).toMatchObject({
      path: "routines[1].until",
      message: "`until` applies to a watch: add a `check`",
    });
    expect(only('    command: "true"\n    every: 1h\n    onUnsatisfied: { notify: false }\n')).toMatchObject({
      path: "routines[1].onUnsatisfied",
      message: "`onUnsatisfied` applies to a watch: add a `check`",
    });
  });

  it("rejects a `backoff` outside a watch with an interval, or shorter than `every`", () => {
    expect(only('    command: "true"\n    every: 5m\n    backoff: 2h\n')).toMatchObject({
      path: "routines[1].backoff",
      message: "`backoff` applies to a watch: add a `check`",
    });
    expect(only('    check: { command: "true" }\n    backoff: 2h\n')).toMatchObject({
      path: "routines[1].backoff",
      message: "`backoff` stretches the interval of an `every` or `by` watch; add `every`",
    });
    expect(only('    check: { command: "true" }\n    every: 1h\n    backoff: 30m\n')).toMatchObject({
      path: "routines[1].backoff",
      message: "`backoff` is the longest interval; it cannot be shorter than `every` (1h)",
    });
    const config = parseConfigText(
      watch('    check: { command: "true" }\n    every: 5m\n    backoff: 2h\n'),
      "loopd.yaml",
    );
    expect(config.routines[1]!.backoff).toBe("2h");
  });

  it("rejects `onUnsatisfied.run` naming a routine not in the file", () => {
    expect(only('    check: { command: "true" }\n    onUnsatisfied: { run: fix-that }\n')).toMatchObject({
      path: "routines[1].onUnsatisfied.run",
      message: 'unknown routine "fix-that"; `onUnsatisfied.run` names a routine in this file',
    });
  });

  it("rejects an agent check on a tier that is not declared", () => {
    const issue = only("    check: { agent: { question: Done?, tier: smart } }\n");
    expect(issue.path).toBe("routines[1].check.agent.tier");
    expect(issue.message).toContain('unknown model tier "smart"');
    expect(issue.message).toContain("cheap");
  });

  it("rejects a named deadline that is not declared", () => {
    expect(only('    check: { command: "true" }\n    by: lunch\n').path).toBe("routines[1].by");
  });
});

describe("bounds and non-configs (loopd#15)", () => {
  it.each([
    ["    every: 1ms\n", "routines[0].every", '"1ms" is shorter than the 1s minimum'],
    ["    every: 99999999999999999999d\n", "routines[0].every", "is longer than the 36500d limit"],
    ["    every: 1h\n    timeout: 30d\n", "routines[0].timeout", '"30d" is longer than the 7d maximum'],
    ["    every: 1h\n    timeout: 500ms\n", "routines[0].timeout", "shorter than the 1s minimum"],
    ["    every: 1h\n    jitter: 40000000d\n", "routines[0].jitter", "36500d limit"],
  ])("rejects %j with the field and the limit", (routine, path, message) => {
    const { issues } = issuesOf(minimal(routine));
    expect(issues[0]).toMatchObject({ path });
    expect(issues[0]!.message).toContain(message);
  });

  it("bounds verify timeouts and digests too", () => {
    const agent = "routines:\n  - name: a\n    prompt: hi\n    every: 1h\n";
    expect(issuesOf(`${agent}    verify: { command: "true", timeout: 8d }\n`).issues[0]).toMatchObject({
      path: "routines[0].verify.timeout",
      message: '"8d" is longer than the 7d maximum',
    });
    const digest = issuesOf(
      `channels:\n  ops: { type: desktop }\n${agent}    notify: { to: ops, digest: 10ms }\n`,
    );
    expect(digest.issues[0]!.path).toBe("routines[0].notify.digest");
  });

  it("accepts the limits themselves", () => {
    expect(parseConfigText(minimal("    every: 1s\n    timeout: 7d\n"), "loopd.yaml").routines).toHaveLength(
      1,
    );
  });

  it("refuses binary input instead of reading it as a file with no routines", () => {
    const { message, hint } = issuesOf("#\u0000\u0001\u0002 binary\n");
    expect(message).toContain("control character (U+0000) on line 1");
    expect(hint).toContain("nothing was applied");
  });

  it("reads run retention, and refuses a keepFor under a minute or a keepPerRoutine under 1", () => {
    const config = parseConfigText(
      `runs:\n  keepFor: 14d\n  keepPerRoutine: 3\n${minimal("    every: 5m\n")}`,
      "loopd.yaml",
    );
    expect(config.runs).toEqual({ keepFor: "14d", keepPerRoutine: 3 });
    const { issues } = issuesOf(`runs:\n  keepFor: 30s\n  keepPerRoutine: 0\n${minimal("    every: 5m\n")}`);
    expect(issues.map((issue) => issue.path).sort()).toEqual(["runs.keepFor", "runs.keepPerRoutine"]);
  });

  it("refuses an alias bomb with a coded error", () => {
    const bomb = [
      "a: &a [x, x, x, x, x, x, x, x, x]",
      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]",
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]",
      "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]",
      "e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]",
      "",
    ].join("\n");
    const { message, hint } = issuesOf(bomb);
    expect(message).toMatch(/^loopd\.yaml: \(yaml\): /);
    expect(hint).toContain("aliases");
  });

  it("refuses more than 10,000 routines", () => {
    const routines = Array.from({ length: 10_001 }, (_, i) => `  - {name: r${i}, command: x}`);
    const { issues } = issuesOf(`routines:\n${routines.join("\n")}\n`);
    expect(issues[0]).toMatchObject({ path: "routines" });
    expect(issues[0]!.message).toContain("more than 10000 routines");
  });
});
