import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { configSchema } from "./config-schema.js";
import { type RoutineSpec, toRoutineSpec } from "./routine-spec.js";
import { routineConfigOf, routineYaml } from "./routine-yaml.js";

const DIR = "/home/me/project";
const NOW = Date.parse("2026-11-29T10:00:00Z");
const MODELS = {
  cheap: { harness: "codex", model: "gpt-5-mini" },
  strong: { harness: "claude", model: "opus" },
} as const;

/** A `fix-it` routine rides along, for `onUnsatisfied.run` to name. */
function specsOf(routines: unknown[]): RoutineSpec[] {
  const config = configSchema.parse({
    models: MODELS,
    channels: { me: { type: "log" } },
    routines: [...routines, { name: "fix-it", command: "true" }],
  });
  return config.routines.map((routine, index) =>
    toRoutineSpec(routine, index, {
      configDir: DIR,
      defaultTimeZone: "Europe/Berlin",
      now: NOW,
      config: { models: config.models },
    }),
  );
}

const ROUTINES: Array<Record<string, unknown>> = [
  { name: "tick", command: "date", every: "10s" },
  { name: "pulse", command: "git status", cron: "* * * * *", tz: "UTC", retries: 2, timeout: "30s" },
  {
    name: "babysit",
    prompt: "Rebase my PRs",
    every: "30m",
    jitter: "2m",
    tier: "cheap",
    escalate: ["strong"],
    verify: { command: "npm test", timeout: "5m" },
    notify: [
      { to: "me", on: ["failure"], changeOnly: true },
      { to: "me", on: ["success"], digest: "1d" },
    ],
    labels: ["prs", "ci"],
    requires: ["gpu"],
    repo: "./web",
    deliver: "push",
    push: { branch: "bot/{run}" },
    secrets: ["GH_TOKEN"],
    env: { MODE: "ci" },
    budget: { perRun: 0.5 },
    overlap: "queue",
    catchUp: "all",
    maxCatchup: 3,
    memory: false,
    until: { runs: 10 },
  },
  { name: "once", prompt: "Say hi", at: "2026-12-01T09:00", harness: "codex", model: "gpt-5", maxTurns: 5 },
  {
    name: "ci-green",
    by: "2026-12-09T09:00:00+01:00",
    check: { github: { pr: "https://github.com/acme/web/pull/7", checks: "green" } },
    notify: { to: "me", on: ["deadline", "failure"] },
    labels: ["remind"],
  },
  // A CI watch's written `every: 5m` (no backoff) is not the omitted one (5m backing off to 2h).
  {
    name: "ci-green-fixed",
    by: "2026-12-09T09:00:00+01:00",
    every: "5m",
    check: { github: { ref: "acme/web@main", checks: "green" } },
  },
  {
    name: "ci-green-1h",
    by: "2026-12-09T09:00:00+01:00",
    backoff: "1h",
    check: { github: { ref: "acme/web@main", checks: "green" } },
  },
  {
    name: "ci-until-green",
    every: "5m",
    backoff: "2h",
    until: { satisfied: true },
    check: { github: { ref: "acme/web@main", checks: "green" } },
  },
  {
    name: "site-up",
    every: "5m",
    until: { satisfied: true },
    check: { http: { url: "https://example.com/health", status: 200, contains: "ok" } },
    onUnsatisfied: { notify: false, run: "fix-it" },
  },
  {
    name: "answered",
    at: "tomorrow 9am",
    check: { agent: { question: "Was the question answered?", subject: "https://example.com/q/1" } },
  },
  { name: "fired", prompt: "Handle the event", hook: { tokenEnv: "HOOK_TOKEN" }, repo: "/srv/other" },
];

describe("routineYaml", () => {
  it.each(ROUTINES.map((routine) => [routine.name, routine]))(
    "%s: the YAML parses back to the same spec",
    (_name, routine) => {
      const [spec] = specsOf([routine]);
      const yaml = routineYaml(spec!, {
        configDir: DIR,
        tierHarnesses: { cheap: "codex", strong: "claude" },
      });
      const [again] = specsOf([parse(yaml)]);
      expect(again).toEqual(spec);
    },
  );

  it("writes what a user would write: no internal fields, no defaults", () => {
    const [spec] = specsOf([{ name: "tick", command: "date", every: "10s" }]);
    expect(routineConfigOf(spec!, { configDir: DIR })).toEqual({
      name: "tick",
      command: "date",
      every: "10s",
    });
    const yaml = routineYaml(specsOf([ROUTINES[2]])[0]!, { configDir: DIR });
    expect(yaml).not.toMatch(/timeoutMs|everyMs|escalate: \[\]|kind:/);
    expect(yaml).toContain("repo: ./web");
  });
});
