/**
 * `loopd init --template ci-health`: which test command the repository uses and how to get
 * JUnit XML out of it, so the routine works without editing — `npm test` with Vitest or Jest
 * (their JUnit reporters), pytest (`--junitxml`), `go test` (through go-junit-report).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface TestSetup {
  test: string;
  junit: string;
  /** What was found and chosen, in a sentence for the person running init. */
  chose: string;
  /** False: nothing was recognised; the routine holds a placeholder to edit. */
  detected: boolean;
}

const REPORT = ".loopd-junit.xml";

export function detectTestSetup(dir: string): TestSetup {
  const manifest = readJson(join(dir, "package.json"));
  const script = typeof manifest?.scripts?.test === "string" ? manifest.scripts.test : null;
  const deps = { ...manifest?.dependencies, ...manifest?.devDependencies };
  if (script && !/no test specified/.test(script)) {
    if (/\bvitest\b/.test(script) || ("vitest" in deps && !/\bjest\b/.test(script))) {
      return {
        test: `npm test -- --run --reporter=default --reporter=junit --outputFile.junit=${REPORT}`,
        junit: REPORT,
        chose: `package.json's test script runs Vitest: \`npm test\` with Vitest's JUnit reporter writing ${REPORT}`,
        detected: true,
      };
    }
    if (/\bjest\b/.test(script) || "jest" in deps) {
      const reporter = "jest-junit" in deps;
      return {
        test: `JEST_JUNIT_OUTPUT_FILE=${REPORT} npm test -- --ci --reporters=default --reporters=jest-junit`,
        junit: REPORT,
        chose: `package.json's test script runs Jest: \`npm test\` with the jest-junit reporter writing ${REPORT}${reporter ? "" : " (add it: npm install --save-dev jest-junit)"}`,
        detected: true,
      };
    }
  }
  if (isPython(dir)) {
    return {
      test: `python3 -m pytest --junitxml=${REPORT}`,
      junit: REPORT,
      chose: `a pytest project: \`pytest --junitxml=${REPORT}\``,
      detected: true,
    };
  }
  if (existsSync(join(dir, "go.mod"))) {
    return {
      test: `go test -v ./... 2>&1 | go run github.com/jstemmer/go-junit-report/v2@v2.1.0 -set-exit-code > ${REPORT}`,
      junit: REPORT,
      chose: `a Go module: \`go test -v ./...\` through go-junit-report (fetched by \`go run\`) writing ${REPORT}`,
      detected: true,
    };
  }
  if (script && !/no test specified/.test(script)) {
    return {
      test: "npm test",
      junit: REPORT,
      chose: `package.json's test script (\`${script}\`) has no runner loopd knows: make it write JUnit XML at ${REPORT}, or edit \`test\` and \`junit\``,
      detected: false,
    };
  }
  return {
    test: "<your test command writing JUnit XML>",
    junit: REPORT,
    chose: "no package.json test script, pytest project or go.mod here: fill in `test` and `junit`",
    detected: false,
  };
}

function isPython(dir: string): boolean {
  for (const file of ["pytest.ini", "conftest.py", "tox.ini"]) if (existsSync(join(dir, file))) return true;
  for (const file of ["pyproject.toml", "setup.cfg"]) {
    const text = readText(join(dir, file));
    if (text && /pytest/.test(text)) return true;
  }
  for (const folder of ["tests", "test"]) {
    try {
      if (readdirSync(join(dir, folder)).some((name) => /^test_.*\.py$|_test\.py$/.test(name))) return true;
    } catch {
      // no such folder
    }
  }
  return false;
}

interface PackageJson {
  scripts?: Record<string, unknown>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

function readJson(path: string): PackageJson | null {
  const text = readText(path);
  if (text === null) return null;
  try {
    return JSON.parse(text) as PackageJson;
  } catch {
    return null;
  }
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}
