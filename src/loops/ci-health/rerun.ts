/**
 * How to re-run only the tests that failed, per runner, from the test command as written
 * (and, for `npm test` / `yarn test` / `pnpm test`, the package's `test` script):
 *
 * | runner  | re-run                                                                                    |
 * | ------- | ----------------------------------------------------------------------------------------- |
 * | vitest  | `<command> <files> -t '<names>'` (names as Vitest joins them: `describe test`)            |
 * | jest    | `<command> -t '<names>'` (+ the files, when the report names them)                         |
 * | pytest  | `<command> <node ids>` where the test's module file is found, else `<command> --lf`        |
 * | go test | `go test -run '^(TestA|TestB)$' …` (a subtest re-runs its top-level test)                  |
 * | other   | the whole command                                                                          |
 *
 * After `npm test` the arguments go behind `--`. A selection that runs more than the failed
 * tests is harmless: only the failed tests' results are read from the re-run's report.
 */
import type { JUnitCase } from "./junit.js";

export type TestRunner = "vitest" | "jest" | "pytest" | "go" | "other";

export interface RerunPlan {
  command: string;
  runner: TestRunner;
  /** False: the runner cannot select tests, so the whole command runs again. */
  selects: boolean;
}

export function runnerOf(command: string, testScript: string | null): TestRunner {
  const own = directRunner(command);
  if (own !== "other") return own;
  if (NPM_TEST.test(command) && testScript) return directRunner(testScript);
  return "other";
}

const NPM_TEST = /^\s*(npm|yarn|pnpm)\s+(test|t|run\s+test)\b/;

function directRunner(command: string): TestRunner {
  if (/\bvitest\b/.test(command)) return "vitest";
  if (/\bjest\b/.test(command)) return "jest";
  if (/\b(pytest|py\.test)\b/.test(command)) return "pytest";
  if (/\bgo\s+test\b/.test(command)) return "go";
  return "other";
}

export function rerunPlan(
  command: string,
  failed: readonly JUnitCase[],
  options: { testScript: string | null; fileExists: (path: string) => boolean },
): RerunPlan {
  const runner = runnerOf(command, options.testScript);
  const whole = { command, runner, selects: false };
  if (failed.length === 0) return whole;
  const npm = NPM_TEST.test(command) && !/\s--(\s|$)/.test(command);
  const append = (args: string[]) => ({
    command: `${command}${npm ? " --" : ""} ${args.join(" ")}`,
    runner,
    selects: true,
  });
  switch (runner) {
    case "vitest": {
      const files = unique(failed.map((c) => c.file ?? (looksLikeFile(c.classname) ? c.classname : null)));
      return append([
        ...files.map(quote),
        "-t",
        quote(namePattern(failed.map((c) => c.name.replaceAll(" > ", " ")))),
      ]);
    }
    case "jest": {
      const files = unique(failed.map((c) => c.file));
      return append([...files.map(quote), "-t", quote(namePattern(failed.map((c) => c.name)))]);
    }
    case "pytest": {
      const ids = failed.map((c) => pytestNodeId(c, options.fileExists));
      return ids.every((id) => id !== null) ? append(unique(ids).map(quote)) : append(["--lf"]);
    }
    case "go": {
      if (!/\bgo\s+test\b/.test(command)) return whole;
      const names = unique(failed.map((c) => c.name.split("/")[0] ?? c.name));
      const run = `-run ${quote(`^(${names.map(escapeRegex).join("|")})$`)}`;
      return { command: command.replace(/\bgo\s+test\b/, () => `go test ${run}`), runner, selects: true };
    }
    default:
      return whole;
  }
}

/**
 * pytest writes `tests.test_prices.TestPrices` as the classname: the longest dotted prefix that
 * is a file (`tests/test_prices.py`) is the module, the rest classes.
 */
function pytestNodeId(testcase: JUnitCase, fileExists: (path: string) => boolean): string | null {
  if (testcase.file?.endsWith(".py")) {
    const classes = testcase.classname.split(".").filter((part) => /^[A-Z]/.test(part));
    return [testcase.file, ...classes, testcase.name].join("::");
  }
  const parts = testcase.classname.split(".");
  for (let cut = parts.length; cut > 0; cut--) {
    const file = `${parts.slice(0, cut).join("/")}.py`;
    if (fileExists(file)) return [file, ...parts.slice(cut), testcase.name].join("::");
  }
  return null;
}

function namePattern(names: string[]): string {
  return unique(names).map(escapeRegex).join("|");
}

function looksLikeFile(classname: string): boolean {
  return /\.(test|spec)\.[cm]?[jt]sx?$/.test(classname) || /\.[cm]?[jt]sx?$/.test(classname);
}

function unique<T>(values: ReadonlyArray<T | null>): T[] {
  return [...new Set(values.filter((value): value is T => value !== null))];
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** One shell word. */
export function quote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
