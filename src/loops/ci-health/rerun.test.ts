import { describe, expect, it } from "vitest";
import type { JUnitCase } from "./junit.js";
import { rerunPlan, runnerOf } from "./rerun.js";

const failed = (classname: string, name: string, file: string | null = null): JUnitCase => ({
  id: `${classname}::${name}`,
  classname,
  name,
  file,
  outcome: "failed",
  message: null,
  flakyFailures: [],
});
const none = { testScript: null, fileExists: () => false };

describe("rerunPlan", () => {
  it("vitest: the failed files and names", () => {
    expect(
      rerunPlan(
        "npx vitest run --reporter=junit --outputFile=junit.xml",
        [failed("src/cart.test.ts", "cart > applies a coupon (10%)")],
        none,
      ),
    ).toEqual({
      command:
        "npx vitest run --reporter=junit --outputFile=junit.xml src/cart.test.ts -t 'cart applies a coupon \\(10%\\)'",
      runner: "vitest",
      selects: true,
    });
  });

  it("npm test runs the package's runner, arguments behind --", () => {
    expect(runnerOf("npm test", "jest --ci --reporters=default --reporters=jest-junit")).toBe("jest");
    expect(
      rerunPlan("npm test", [failed("Checkout", "Checkout rejects it's expired")], {
        ...none,
        testScript: "jest",
      }).command,
    ).toBe("npm test -- -t 'Checkout rejects it'\\''s expired'");
  });

  it("pytest: node ids where the module is found, else --lf", () => {
    const exists = (path: string) => path === "tests/test_prices.py";
    expect(
      rerunPlan(
        "pytest --junitxml=junit.xml",
        [failed("tests.test_prices.TestPrices", "test_discount[10]")],
        {
          testScript: null,
          fileExists: exists,
        },
      ).command,
    ).toBe("pytest --junitxml=junit.xml 'tests/test_prices.py::TestPrices::test_discount[10]'");
    expect(rerunPlan("pytest --junitxml=junit.xml", [failed("gone.module", "test_x")], none).command).toBe(
      "pytest --junitxml=junit.xml --lf",
    );
  });

  it("go test: -run with the top-level test names", () => {
    expect(
      rerunPlan(
        "go test -v ./... 2>&1 | go-junit-report -set-exit-code > junit.xml",
        [failed("example.com/shop/cart", "TestTotal/with_tax"), failed("example.com/shop/cart", "TestTotal")],
        none,
      ).command,
    ).toBe("go test -run '^(TestTotal)$' -v ./... 2>&1 | go-junit-report -set-exit-code > junit.xml");
  });

  it("another runner: the whole command again", () => {
    expect(rerunPlan("node test.js", [failed("suite", "a")], none)).toEqual({
      command: "node test.js",
      runner: "other",
      selects: false,
    });
  });
});
