import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseJUnit, readJUnitReport } from "./junit.js";

const VITEST = `<?xml version="1.0" encoding="UTF-8" ?>
<testsuites name="vitest tests" tests="3" failures="1" errors="0" time="0.412">
    <testsuite name="src/cart.test.ts" timestamp="2026-12-04T10:00:00.000Z" hostname="ci" tests="3" failures="1" errors="0" skipped="1" time="0.02">
        <testcase classname="src/cart.test.ts" name="cart &gt; adds an item" time="0.003">
        </testcase>
        <testcase classname="src/cart.test.ts" name="cart &gt; applies a coupon" time="0.004">
            <failure message="expected 90 to be 81 // Object.is equality" type="AssertionError">
AssertionError: expected 90 to be 81 // Object.is equality
 ❯ src/cart.test.ts:14:25
            </failure>
        </testcase>
        <testcase classname="src/cart.test.ts" name="cart &gt; ships abroad" time="0">
            <skipped/>
        </testcase>
    </testsuite>
</testsuites>`;

const JEST = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="jest tests" tests="2" failures="1" errors="0" time="1.2">
  <testsuite name="Checkout" errors="0" failures="1" skipped="0" timestamp="2026-12-04T10:00:00" time="0.9" tests="2">
    <testcase classname="Checkout totals the order" name="Checkout totals the order" time="0.01">
    </testcase>
    <testcase classname="Checkout rejects an expired card" name="Checkout rejects an expired card" time="0.02" file="src/checkout.test.js">
      <failure>Error: expect(received).toThrow()

Received function did not throw
    at Object.toThrow (src/checkout.test.js:22:7)</failure>
    </testcase>
  </testsuite>
</testsuites>`;

const PYTEST = `<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="1" failures="1" skipped="1" tests="4" time="0.051" timestamp="2026-12-04T10:00:00" hostname="ci"><testcase classname="tests.test_prices.TestPrices" name="test_rounding" time="0.001" /><testcase classname="tests.test_prices.TestPrices" name="test_discount[10]" time="0.002"><failure message="assert 9.0 == 9.01">self = &lt;tests.test_prices.TestPrices object&gt;

    def test_discount(self):
&gt;       assert 9.0 == 9.01
E       assert 9.0 == 9.01

tests/test_prices.py:12: AssertionError</failure></testcase><testcase classname="tests.test_db" name="test_connect" time="0.001"><error message="failed on setup with &quot;ConnectionRefusedError&quot;">fixture error</error></testcase><testcase classname="tests.test_db" name="test_slow" time="0.000"><skipped type="pytest.skip" message="slow">tests/test_db.py:20: slow</skipped></testcase></testsuite></testsuites>`;

// pytest before 5.1 (and `junit_family=legacy`): a bare <testsuite> root.
const PYTEST_LEGACY = `<?xml version="1.0" encoding="utf-8"?><testsuite errors="0" failures="0" name="pytest" skipped="0" tests="1" time="0.01"><testcase classname="test_a" file="test_a.py" line="0" name="test_ok" time="0.001"></testcase></testsuite>`;

const GO = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="3" failures="1">
	<testsuite name="example.com/shop/cart" tests="3" failures="1" errors="0" id="0" hostname="ci" time="0.004" timestamp="2026-12-04T10:00:00Z">
		<properties>
			<property name="go.version" value="go1.22.1 linux/amd64"></property>
		</properties>
		<testcase name="TestAdd" classname="example.com/shop/cart" time="0.000"></testcase>
		<testcase name="TestTotal/with_tax" classname="example.com/shop/cart" time="0.000">
			<failure message="Failed"><![CDATA[    cart_test.go:31: got 107, want 108]]></failure>
		</testcase>
		<testcase name="TestTotal" classname="example.com/shop/cart" time="0.000">
			<failure message="Failed"><![CDATA[]]></failure>
		</testcase>
	</testsuite>
</testsuites>`;

// Surefire: one file per class; a re-run flake (rerunFailingTestsCount) is a passing case with <flakyFailure>.
const SUREFIRE_CART = `<?xml version="1.0" encoding="UTF-8"?>
<testsuite xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="https://maven.apache.org/surefire/maven-surefire-plugin/xsd/surefire-test-report-3.0.xsd" version="3.0" name="com.acme.CartTest" time="0.05" tests="2" errors="0" skipped="0" failures="0">
  <properties><property name="java.version" value="21"/></properties>
  <testcase name="addsItem" classname="com.acme.CartTest" time="0.01"/>
  <testcase name="appliesCoupon" classname="com.acme.CartTest" time="0.02">
    <flakyFailure message="expected: &lt;81&gt; but was: &lt;90&gt;" type="org.opentest4j.AssertionFailedError">
      <stackTrace>org.opentest4j.AssertionFailedError: expected: &lt;81&gt; but was: &lt;90&gt;</stackTrace>
    </flakyFailure>
  </testcase>
</testsuite>`;
const SUREFIRE_PAY = `<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="com.acme.PayTest" time="0.05" tests="1" errors="1" skipped="0" failures="0">
  <testcase name="charges" classname="com.acme.PayTest" time="0.01">
    <error message="Connection refused" type="java.net.ConnectException">java.net.ConnectException: Connection refused</error>
    <rerunError message="Connection refused" type="java.net.ConnectException"/>
  </testcase>
</testsuite>`;

const summary = (xml: string) =>
  parseJUnit(xml).map((c) => [c.id, c.outcome, c.message?.split("\n")[0] ?? null]);

describe("parseJUnit", () => {
  it("reads Vitest's report: file as classname, failure message, skipped", () => {
    expect(summary(VITEST)).toEqual([
      ["src/cart.test.ts::cart > adds an item", "passed", null],
      ["src/cart.test.ts::cart > applies a coupon", "failed", "expected 90 to be 81 // Object.is equality"],
      ["src/cart.test.ts::cart > ships abroad", "skipped", null],
    ]);
  });

  it("reads jest-junit's report: a failure with only text, the file attribute", () => {
    const cases = parseJUnit(JEST);
    expect(cases.map((c) => [c.name, c.outcome])).toEqual([
      ["Checkout totals the order", "passed"],
      ["Checkout rejects an expired card", "failed"],
    ]);
    expect(cases[1]).toMatchObject({
      file: "src/checkout.test.js",
      message: expect.stringContaining("Received function did not throw"),
    });
  });

  it("reads pytest's report: failure and error are failed, parametrised names kept", () => {
    expect(summary(PYTEST)).toEqual([
      ["tests.test_prices.TestPrices::test_rounding", "passed", null],
      ["tests.test_prices.TestPrices::test_discount[10]", "failed", "assert 9.0 == 9.01"],
      ["tests.test_db::test_connect", "failed", 'failed on setup with "ConnectionRefusedError"'],
      ["tests.test_db::test_slow", "skipped", null],
    ]);
    expect(summary(PYTEST_LEGACY)).toEqual([["test_a::test_ok", "passed", null]]);
  });

  it("reads go-junit-report's: subtests, CDATA messages", () => {
    const cases = parseJUnit(GO);
    expect(cases.map((c) => [c.id, c.outcome])).toEqual([
      ["example.com/shop/cart::TestAdd", "passed"],
      ["example.com/shop/cart::TestTotal/with_tax", "failed"],
      ["example.com/shop/cart::TestTotal", "failed"],
    ]);
    expect(cases[1]?.message).toContain("cart_test.go:31: got 107, want 108");
  });

  it("reads nested suites and an empty report", () => {
    const nested = `<testsuites><testsuite name="outer"><testsuite name="inner"><testcase name="deep"/></testsuite><testcase name="shallow"><failure message="no"/></testcase></testsuite></testsuites>`;
    expect(summary(nested)).toEqual([
      ["inner::deep", "passed", null],
      ["outer::shallow", "failed", "no"],
    ]);
    expect(parseJUnit(`<?xml version="1.0"?><testsuites/>`)).toEqual([]);
  });
});

describe("readJUnitReport", () => {
  const dir = mkdtempSync(join(tmpdir(), "loopd-junit-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads a Surefire folder: every TEST-*.xml written since the run began, re-run flakes kept", async () => {
    const reports = join(dir, "surefire-reports");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(reports);
    writeFileSync(join(reports, "TEST-com.acme.CartTest.xml"), SUREFIRE_CART);
    writeFileSync(join(reports, "TEST-com.acme.PayTest.xml"), SUREFIRE_PAY);
    writeFileSync(join(reports, "TEST-com.acme.OldTest.xml"), SUREFIRE_PAY.replaceAll("PayTest", "OldTest"));
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(join(reports, "TEST-com.acme.OldTest.xml"), old, old);
    writeFileSync(join(reports, "com.acme.CartTest.txt"), "not xml");

    const cases = await readJUnitReport(reports, Date.now() - 60_000);
    expect(cases?.map((c) => [c.id, c.outcome, c.flakyFailures.length])).toEqual([
      ["com.acme.CartTest::addsItem", "passed", 0],
      ["com.acme.CartTest::appliesCoupon", "passed", 1],
      ["com.acme.PayTest::charges", "failed", 0],
    ]);
    expect(cases?.[1]?.flakyFailures[0]).toContain("expected: <81> but was: <90>");
  });

  it("is null when the runner wrote no report", async () => {
    expect(await readJUnitReport(join(dir, "missing.xml"), 0)).toBeNull();
    writeFileSync(join(dir, "stale.xml"), VITEST);
    expect(await readJUnitReport(join(dir, "stale.xml"), Date.now() + 60_000)).toBeNull();
  });
});
