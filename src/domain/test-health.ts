/**
 * ci-health's classification of tests from their recent history (pure; table in
 * test-health.test.ts). An observation is one test's outcome in one try of a run: try 0 is the
 * suite's own run, tries 1..N re-run what failed. Per test, over the window:
 *
 * | class       | when                                                                                       |
 * | ----------- | ------------------------------------------------------------------------------------------ |
 * | `broken`    | its latest run failed every try, and so did every run since a commit on which it never passed |
 * | `flaky`     | on some commit it both failed and passed (a re-run in the same run, or another run)         |
 * | `new`       | first seen in the routine's latest run (and neither of the above)                           |
 * | `recovered` | it failed in the window and its latest run passed (and not flaky)                           |
 * | `passing`   | no failure in the window                                                                    |
 * | `skipped`   | skipped every time                                                                          |
 *
 * The flake rate is the share of its runs that failed on a commit it also passed on.
 * The digest (`digestChanges`) reports what changed since the last one: newly flaky, newly
 * broken, recovered (from flaky or broken); nothing else makes one.
 */

export type TestOutcome = "passed" | "failed" | "skipped";
export const TEST_CLASSES = ["broken", "flaky", "new", "recovered", "passing", "skipped"] as const;
export type TestClass = (typeof TEST_CLASSES)[number];

export interface TestObservation {
  runId: number;
  testId: string;
  /** 0: the suite's run; 1..N: re-runs of what failed. */
  try: number;
  outcome: TestOutcome;
  commit: string;
  message: string | null;
  at: number;
}

export interface TestHealth {
  testId: string;
  class: TestClass;
  /** Share of its runs (0..1) that failed on a commit it also passed on. */
  flakeRate: number;
  /** Runs of the window it has a result in. */
  runs: number;
  lastFailure: { message: string | null; at: number; commit: string } | null;
  /** Since when it is in its class (broken: the first failing run of the streak; flaky: its first flake). */
  since: { at: number; commit: string } | null;
  firstSeen: number;
  lastSeen: number;
}

type RunResult = "passed" | "failed" | "flaky" | "skipped";

interface TestRun {
  runId: number;
  commit: string;
  at: number;
  result: RunResult;
  failed: boolean;
}

export function classifyTests(observations: readonly TestObservation[]): TestHealth[] {
  const latestRun = observations.reduce((max, o) => Math.max(max, o.runId), Number.NEGATIVE_INFINITY);
  const byTest = new Map<string, TestObservation[]>();
  for (const observation of observations) {
    const list = byTest.get(observation.testId);
    if (list) list.push(observation);
    else byTest.set(observation.testId, [observation]);
  }
  return [...byTest.entries()]
    .map(([testId, list]) => classifyOne(testId, list, latestRun))
    .sort(
      (a, b) =>
        TEST_CLASSES.indexOf(a.class) - TEST_CLASSES.indexOf(b.class) ||
        b.flakeRate - a.flakeRate ||
        a.testId.localeCompare(b.testId),
    );
}

function classifyOne(testId: string, list: TestObservation[], latestRun: number): TestHealth {
  const sorted = [...list].sort((a, b) => a.runId - b.runId || a.try - b.try || a.at - b.at);
  const runs = runsOf(sorted);
  const passedOn = new Set(sorted.filter((o) => o.outcome === "passed").map((o) => o.commit));
  const failedOn = new Set(sorted.filter((o) => o.outcome === "failed").map((o) => o.commit));
  const mixed = new Set([...failedOn].filter((commit) => passedOn.has(commit)));
  const flakes = runs.filter((run) => run.failed && mixed.has(run.commit));
  const counted = runs.filter((run) => run.result !== "skipped");
  const failures = sorted.filter((o) => o.outcome === "failed");
  const last = failures.at(-1);
  const firstSeen = sorted[0]?.at ?? 0;
  const lastSeen = sorted.at(-1)?.at ?? 0;
  const base = {
    testId,
    flakeRate: counted.length === 0 ? 0 : flakes.length / counted.length,
    runs: counted.length,
    lastFailure: last ? { message: last.message, at: last.at, commit: last.commit } : null,
    firstSeen,
    lastSeen,
  };

  const latest = counted.at(-1);
  // The trailing runs that failed every try, on commits it never passed on.
  const streak: TestRun[] = [];
  for (let index = counted.length - 1; index >= 0; index--) {
    const run = counted[index]!;
    if (run.result !== "failed" || passedOn.has(run.commit)) break;
    streak.unshift(run);
  }
  if (latest && streak.at(-1) === latest) {
    const first = streak[0]!;
    return { ...base, class: "broken", since: { at: first.at, commit: first.commit } };
  }
  if (flakes.length > 0) {
    const first = flakes[0]!;
    return { ...base, class: "flaky", since: { at: first.at, commit: first.commit } };
  }
  if (runs.every((run) => run.runId === latestRun)) {
    return {
      ...base,
      class: counted.length === 0 ? "skipped" : "new",
      since: { at: firstSeen, commit: sorted[0]!.commit },
    };
  }
  if (!latest) return { ...base, class: "skipped", since: null };
  if (failures.length > 0) {
    const recovery = counted.find((run) => run.at > (last?.at ?? 0) && run.result === "passed") ?? latest;
    return { ...base, class: "recovered", since: { at: recovery.at, commit: recovery.commit } };
  }
  return { ...base, class: "passing", since: null };
}

function runsOf(sorted: TestObservation[]): TestRun[] {
  const runs = new Map<number, TestObservation[]>();
  for (const observation of sorted) {
    const list = runs.get(observation.runId);
    if (list) list.push(observation);
    else runs.set(observation.runId, [observation]);
  }
  return [...runs.entries()]
    .sort(([a], [b]) => a - b)
    .map(([runId, tries]) => {
      const first = tries[0]!;
      const failed = tries.some((o) => o.outcome === "failed");
      const passed = tries.some((o) => o.outcome === "passed");
      const result: RunResult = failed ? (passed ? "flaky" : "failed") : passed ? "passed" : "skipped";
      return { runId, commit: first.commit, at: first.at, result, failed };
    });
}

/** What a digest says: the tests whose class changed into one worth a message since the last digest. */
export interface HealthChanges {
  newlyFlaky: TestHealth[];
  newlyBroken: TestHealth[];
  recovered: TestHealth[];
}

/** `previous`: the classes the last digest left (tests absent were fine). */
export function digestChanges(
  previous: Readonly<Record<string, TestClass>>,
  current: readonly TestHealth[],
): HealthChanges {
  const was = (test: TestHealth) => previous[test.testId];
  return {
    newlyFlaky: current.filter((test) => test.class === "flaky" && was(test) !== "flaky"),
    newlyBroken: current.filter((test) => test.class === "broken" && was(test) !== "broken"),
    recovered: current.filter(
      (test) =>
        (test.class === "recovered" || test.class === "passing") &&
        (was(test) === "flaky" || was(test) === "broken"),
    ),
  };
}

export function hasChanges(changes: HealthChanges): boolean {
  return changes.newlyFlaky.length + changes.newlyBroken.length + changes.recovered.length > 0;
}

/** What the next digest compares with: only the classes a change can come from. */
export function reportedClasses(current: readonly TestHealth[]): Record<string, TestClass> {
  return Object.fromEntries(
    current
      .filter((test) => test.class === "flaky" || test.class === "broken")
      .map((test) => [test.testId, test.class]),
  );
}
