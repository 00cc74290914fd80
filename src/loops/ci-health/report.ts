/**
 * ci-health's digest: a short Markdown message saying what changed since the last one —
 * newly broken, newly flaky, recovered — each test with since when, its flake rate and its
 * last failure's first line; then one line on the suite as a whole.
 */
import type { HealthChanges, TestHealth } from "../../domain/test-health.js";

const LIST_MAX = 10;
const MESSAGE_LINE_MAX = 160;

export function renderDigest(input: {
  routine: string;
  command: string;
  commit: string;
  changes: HealthChanges;
  health: readonly TestHealth[];
  /** What became of an agent's fix of a flaky test this run, if one was tried. */
  fix?: string | null;
}): string {
  const { changes } = input;
  const sections: string[] = [
    `**${input.routine}**: \`${input.command}\` on ${short(input.commit)} · ${suiteLine(input.health)}`,
  ];
  const section = (title: string, tests: TestHealth[], line: (test: TestHealth) => string) => {
    if (tests.length === 0) return;
    const shown = tests.slice(0, LIST_MAX).map((test) => `- \`${test.testId}\` ${line(test)}`);
    if (tests.length > shown.length) shown.push(`- … and ${tests.length - shown.length} more`);
    sections.push([`${title} (${tests.length})`, ...shown].join("\n"));
  };
  section("Newly broken", changes.newlyBroken, (test) => `failing since ${sinceOf(test)}${failureOf(test)}`);
  section(
    "Newly flaky",
    changes.newlyFlaky,
    (test) => `flake rate ${percent(test.flakeRate)} over ${test.runs} run(s)${failureOf(test)}`,
  );
  section("Recovered", changes.recovered, (test) => `passing since ${sinceOf(test)}`);
  if (input.fix) sections.push(`Fix (1)\n- ${input.fix}`);
  sections.push(`\`loopd flaky --routine ${input.routine}\` lists every test.`);
  return sections.join("\n\n");
}

/** "48 tests: 1 broken, 2 flaky" */
export function suiteLine(health: readonly TestHealth[]): string {
  const count = (name: TestHealth["class"]) => health.filter((test) => test.class === name).length;
  const parts = (["broken", "flaky", "recovered", "new"] as const)
    .map((name) => [name, count(name)] as const)
    .filter(([, n]) => n > 0)
    .map(([name, n]) => `${n} ${name}`);
  return `${health.length} test${health.length === 1 ? "" : "s"}${parts.length > 0 ? `: ${parts.join(", ")}` : ", all passing"}`;
}

function sinceOf(test: TestHealth): string {
  if (!test.since) return "now";
  return `${short(test.since.commit)} (${new Date(test.since.at).toISOString().slice(0, 16).replace("T", " ")} UTC)`;
}

function failureOf(test: TestHealth): string {
  const line = test.lastFailure?.message
    ?.split("\n")
    .find((text) => text.trim() !== "")
    ?.trim();
  if (!line) return "";
  return `: ${line.length > MESSAGE_LINE_MAX ? `${line.slice(0, MESSAGE_LINE_MAX - 1)}…` : line}`;
}

function percent(rate: number): string {
  return `${Math.round(rate * 100)}%`;
}

function short(commit: string): string {
  return /^[0-9a-f]{40}$/.test(commit) ? commit.slice(0, 7) : commit;
}
