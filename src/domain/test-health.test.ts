import { describe, expect, it } from "vitest";
import {
  classifyTests,
  digestChanges,
  hasChanges,
  reportedClasses,
  type TestClass,
  type TestObservation,
} from "./test-health.js";

/**
 * A test's history as runs, oldest first: each run is `<commit>:<tries>`, tries one letter each
 * (p passed, f failed, s skipped): "a:fp" failed then passed on re-run, on commit a.
 */
function history(testId: string, runs: string[], firstRun = 1): TestObservation[] {
  return runs.flatMap((run, index) => {
    const [commit, tries] = run.split(":") as [string, string];
    return [...tries].map((letter, attempt) => ({
      runId: firstRun + index,
      testId,
      try: attempt,
      outcome: letter === "p" ? "passed" : letter === "f" ? "failed" : "skipped",
      commit,
      message: letter === "f" ? `boom in run ${firstRun + index}` : null,
      at: (firstRun + index) * 1000 + attempt,
    }));
  });
}

const LATEST = ["a:p", "a:p", "a:p"]; // a steady neighbour so the routine's latest run is run 3

describe("classifyTests", () => {
  const cases: Array<[string, string[], TestClass, number]> = [
    ["steady", ["a:p", "a:p", "a:p"], "passing", 0],
    ["fails every time", ["a:f", "a:f", "a:f"], "broken", 0],
    ["fails every try since commit b", ["a:p", "b:ff", "b:ff"], "broken", 0],
    ["fails then passes on re-run", ["a:p", "a:fp", "a:p"], "flaky", 1 / 3],
    ["alternates across runs", ["a:f", "a:p", "a:f"], "flaky", 2 / 3],
    ["flaky, then failing on its commit", ["a:p", "a:p", "a:ff"], "flaky", 1 / 3],
    ["broken on a, fixed on b", ["a:f", "a:f", "b:p"], "recovered", 0],
    ["flaky on a, broken on b", ["a:fp", "b:f", "b:f"], "broken", 1 / 3],
    ["skipped", ["a:s", "a:s", "a:s"], "skipped", 0],
  ];
  it.each(cases)("%s → %s", (_name, runs, expected, rate) => {
    const [test] = classifyTests([...history("t", runs), ...history("steady-neighbour", LATEST)]).filter(
      (health) => health.testId === "t",
    );
    expect(test?.class).toBe(expected);
    expect(test?.flakeRate).toBeCloseTo(rate);
  });

  it("a test first seen in the latest run is new; failing every try there it is broken", () => {
    const health = classifyTests([
      ...history("old", LATEST),
      ...history("fresh", ["a:p"], 3),
      ...history("fresh-red", ["a:ff"], 3),
    ]);
    expect(Object.fromEntries(health.map((test) => [test.testId, test.class]))).toEqual({
      old: "passing",
      fresh: "new",
      "fresh-red": "broken",
    });
  });

  it("says since when and the last failure message", () => {
    const [broken] = classifyTests([...history("t", ["a:p", "b:f", "b:f"])]);
    expect(broken).toMatchObject({
      class: "broken",
      since: { at: 2000, commit: "b" },
      lastFailure: { message: "boom in run 3", commit: "b" },
      firstSeen: 1000,
      runs: 3,
    });
  });
});

describe("digestChanges", () => {
  it("reports a class change once, and nothing when nothing changed", () => {
    const first = classifyTests([
      ...history("steady", ["a:p", "a:p"]),
      ...history("broken", ["a:f", "a:f"]),
      ...history("flaky", ["a:f", "a:p"]),
    ]);
    const changes = digestChanges({}, first);
    expect(changes.newlyBroken.map((test) => test.testId)).toEqual(["broken"]);
    expect(changes.newlyFlaky.map((test) => test.testId)).toEqual(["flaky"]);
    expect(changes.recovered).toEqual([]);
    const remembered = reportedClasses(first);
    expect(remembered).toEqual({ broken: "broken", flaky: "flaky" });
    expect(hasChanges(digestChanges(remembered, first))).toBe(false);

    const fixed = classifyTests([...history("broken", ["a:f", "a:f", "b:p"])]);
    expect(digestChanges(remembered, fixed).recovered.map((test) => test.testId)).toEqual(["broken"]);
  });
});
