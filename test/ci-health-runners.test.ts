/**
 * ci-health's re-run selection against real test runners: a temporary Vitest project (the
 * suite's own Vitest, linked in) and a pytest project, each with one test that fails on its
 * first execution and passes on the next, and steady tests beside it. The command is the one
 * `loopd init --template ci-health` picks for the project (detectTestSetup). One loopd run
 * each: the suite runs once, then only the failed test is run again — the tests record every
 * execution in a log — and the test is classified flaky from the runner's own JUnit XML.
 * Go's selection (`go test -run '^(…)$'`) is covered by rerun.test.ts only: no Go toolchain here.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { detectTestSetup } from "../src/app/ci-health-init.js";
import { type CliResult, json, runCli } from "./helpers/cli.js";
import { git } from "./helpers/git-repo.js";

const NODE_MODULES = fileURLToPath(new URL("../node_modules", import.meta.url));

describe("ci-health re-runs only the failed test with real runners", () => {
  let root: string;
  let env: Record<string, string>;
  const loopd = (...args: string[]): Promise<CliResult> => runCli(args, { env, cwd: root });
  const executions = (project: string) =>
    readFileSync(join(root, `${project}.log`), "utf8")
      .trim()
      .split("\n")
      .sort();
  const flaky = async (routine: string) =>
    Object.fromEntries(
      json<Array<{ testId: string; class: string }>>(
        await loopd("flaky", "--json", "--routine", routine),
      ).map((test) => [test.testId, test.class]),
    );

  /** A git checkout holding `files`. */
  const project = (name: string, files: Record<string, string>) => {
    const dir = join(root, name);
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(dir, path, ".."), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    git(dir, "init", "--quiet", "-b", "main");
    git(dir, "add", "-A");
    git(dir, "commit", "--quiet", "-m", "tests");
    return dir;
  };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "loopd-ci-health-runners-"));
    env = { LOOPD_HOME: join(root, "home") };
    const vitestLog = JSON.stringify(join(root, "vitest.log"));
    const vitestCount = JSON.stringify(join(root, "vitest.count"));
    const vitest = project("vitest-app", {
      "package.json": JSON.stringify({
        name: "app",
        private: true,
        type: "module",
        scripts: { test: "vitest" },
      }),
      // Vite's cache stays in the project, not in the linked node_modules.
      "vitest.config.mjs": `export default { cacheDir: ".vite-cache", test: { include: ["src/**/*.test.js"] } };\n`,
      ".gitignore": "node_modules\n.vite-cache\njunit.xml\n",
      "src/cart.test.js": `import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
const ran = (name) => appendFileSync(${vitestLog}, name + "\\n");
describe("cart", () => {
  it("sums prices", () => {
    ran("cart > sums prices");
    expect(1 + 2).toBe(3);
  });
  it("applies a coupon", () => {
    ran("cart > applies a coupon");
    let count = 0;
    try { count = Number(readFileSync(${vitestCount}, "utf8")); } catch {}
    writeFileSync(${vitestCount}, String(count + 1));
    expect(count, "the coupon's first application").toBeGreaterThan(0);
  });
});
`,
      "src/stock.test.js": `import { appendFileSync } from "node:fs";
import { expect, it } from "vitest";
it("counts stock", () => {
  appendFileSync(${vitestLog}, "stock > counts stock\\n");
  expect([1, 2].length).toBe(2);
});
`,
    });
    symlinkSync(NODE_MODULES, join(vitest, "node_modules"));

    const pytestLog = JSON.stringify(join(root, "pytest.log"));
    const pytestCount = JSON.stringify(join(root, "pytest.count"));
    const pytest = project("pytest-app", {
      "pytest.ini": "[pytest]\naddopts = -p no:cacheprovider\n",
      ".gitignore": "junit.xml\n__pycache__\n",
      "tests/test_cart.py": `def ran(name):
    with open(${pytestLog}, "a") as log:
        log.write(name + "\\n")


def test_sums_prices():
    ran("test_cart::test_sums_prices")
    assert 1 + 2 == 3


def test_applies_a_coupon():
    ran("test_cart::test_applies_a_coupon")
    try:
        with open(${pytestCount}) as file:
            count = int(file.read())
    except FileNotFoundError:
        count = 0
    with open(${pytestCount}, "w") as file:
        file.write(str(count + 1))
    assert count > 0, "the coupon's first application"
`,
      "tests/test_stock.py": `def test_counts_stock():
    with open(${pytestLog}, "a") as log:
        log.write("test_stock::test_counts_stock\\n")
    assert len([1, 2]) == 2
`,
    });

    const routine = (name: string, dir: string) => {
      const setup = detectTestSetup(dir);
      expect(setup.detected, setup.chose).toBe(true);
      return `  - name: ${name}
    template: ci-health
    params: { test: ${JSON.stringify(setup.test)}, junit: ${JSON.stringify(setup.junit)}, reruns: 2 }
    repo: ${dir}
`;
    };
    writeFileSync(
      join(root, "loopd.yaml"),
      `routines:\n${routine("vitest-health", vitest)}${routine("pytest-health", pytest)}`,
    );
    const applied = await loopd("apply");
    expect(applied.code, applied.stderr).toBe(0);
  });

  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it("Vitest: the failed test alone runs again, and is flaky", async () => {
    const result = await loopd("run", "vitest-health", "--wait", "--json");
    const run = json<{ status: string; summary: string | null }>(result);
    expect(run.status, run.summary ?? result.stderr).toBe("succeeded");
    expect(executions("vitest")).toEqual([
      "cart > applies a coupon",
      "cart > applies a coupon",
      "cart > sums prices",
      "stock > counts stock",
    ]);
    expect(await flaky("vitest-health")).toMatchObject({
      "src/cart.test.js::cart > applies a coupon": "flaky",
    });
    expect(run.summary).toContain("Newly flaky (1)\n- `src/cart.test.js::cart > applies a coupon`");
  }, 120_000);

  it("pytest: the failed test's node id alone runs again, and is flaky", async () => {
    const result = await loopd("run", "pytest-health", "--wait", "--json");
    const run = json<{ status: string; summary: string | null }>(result);
    expect(run.status, run.summary ?? result.stderr).toBe("succeeded");
    expect(executions("pytest")).toEqual([
      "test_cart::test_applies_a_coupon",
      "test_cart::test_applies_a_coupon",
      "test_cart::test_sums_prices",
      "test_stock::test_counts_stock",
    ]);
    expect(await flaky("pytest-health")).toMatchObject({
      "tests.test_cart::test_applies_a_coupon": "flaky",
    });
  }, 120_000);
});
