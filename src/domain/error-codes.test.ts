import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "./error-codes.js";
import { LoopdError, toLoopdError } from "./errors.js";

describe("error codes", () => {
  it("are all documented in docs/errors.md", () => {
    const doc = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");
    const documented = [...doc.matchAll(/^## (LOOPD_[A-Z_]+)$/gm)].map((match) => match[1]);
    expect(documented.sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it("carry their exit code, default hint and docs anchor in JSON", () => {
    const json = new LoopdError("LOOPD_NOT_FOUND", 'no routine named "x"').toJSON();
    expect(json).toEqual({
      code: "LOOPD_NOT_FOUND",
      message: 'no routine named "x"',
      hint: ERROR_CODES.LOOPD_NOT_FOUND.hint,
      exitCode: 3,
      docs: "docs/errors.md#loopd_not_found",
    });
  });

  it("wrap unexpected failures as LOOPD_INTERNAL with the first line only", () => {
    const error = toLoopdError(new Error("boom\n    at somewhere"));
    expect(error.code).toBe("LOOPD_INTERNAL");
    expect(error.message).toBe("boom");
    expect(error.exitCode).toBe(10);
  });
});
