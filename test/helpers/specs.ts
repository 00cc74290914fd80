/** A complete, normalised shell RoutineSpec for tests that work below the config layer. */
import type { RoutineSpec } from "../../src/domain/routine-spec.js";

export function shellSpec(name: string, overrides: Partial<RoutineSpec> = {}): RoutineSpec {
  return {
    name,
    paused: false,
    repo: "/repo",
    workspace: "in-place",
    task: { kind: "command", command: "true" },
    harness: "shell",
    escalate: [],
    trigger: { kind: "every", every: "10s", everyMs: 10_000 },
    timeout: "1h",
    timeoutMs: 3_600_000,
    retries: 0,
    catchUp: "latest",
    maxCatchup: 10,
    overlap: "skip",
    notify: [],
    labels: [],
    requires: ["shell"],
    docs: [],
    memory: false,
    deliver: "none",
    secrets: [],
    env: {},
    agents: [],
    ...overrides,
  };
}
