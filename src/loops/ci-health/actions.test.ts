import { describe, expect, it } from "vitest";
import { failedTestsInLog } from "./actions.js";

describe("failedTestsInLog", () => {
  it("names the failed tests of Vitest, Jest, pytest and go test logs", () => {
    const log = [
      "2026-12-04T10:00:01.0000000Z \u001b[31m FAIL \u001b[39m src/cart.test.ts > cart > applies a coupon 12ms",
      "  ● Checkout › rejects an expired card",
      "  ● Console",
      "FAILED tests/test_prices.py::TestPrices::test_discount[10] - assert 9.0 == 9.01",
      "--- FAIL: TestTotal (0.00s)",
      "    --- FAIL: TestTotal/with_tax (0.00s)",
      "--- FAIL: TestTotal (0.00s)",
      "ok  \texample.com/shop/cart\t0.004s",
    ].join("\n");
    expect(failedTestsInLog(log.replace(/^\S+Z /gm, ""))).toEqual([
      "src/cart.test.ts > cart > applies a coupon",
      "Checkout › rejects an expired card",
      "tests/test_prices.py::TestPrices::test_discount[10]",
      "TestTotal",
      "TestTotal/with_tax",
    ]);
  });
});
