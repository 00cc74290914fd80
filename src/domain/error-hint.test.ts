import { describe, expect, it } from "vitest";
import { fillHint, runErrorHint } from "./error-hint.js";

const context = { runId: 42, routine: "nightly" };

describe("runErrorHint", () => {
  it("gives the error table's hint for the code, with the run and routine filled in", () => {
    expect(runErrorHint({ code: "LOOPD_RUN_FAILED" }, context)).toBe(
      "Read the run's log with `loopd logs 42`.",
    );
    expect(runErrorHint({ code: "LOOPD_AUTH_EXPIRED" }, context)).toContain("`loopd resume nightly`");
    expect(runErrorHint({ code: "LOOPD_BUDGET_EXCEEDED" }, context)).toContain("`loopd show-run 42`");
    expect(runErrorHint({ code: "LOOPD_RUN_TIMEOUT" }, context)).toBe(
      "Raise `timeout` in loopd.yaml or make the task smaller.",
    );
  });

  it("prefers the failure's own hint (a harness's preflight) over the table's", () => {
    expect(
      runErrorHint({ code: "LOOPD_HARNESS_NOT_INSTALLED", hint: "npm i -g @openai/codex" }, context),
    ).toBe("npm i -g @openai/codex");
  });

  it("has nothing to say for an unknown code without a hint", () => {
    expect(runErrorHint({ code: "SOMETHING_ELSE" }, context)).toBeNull();
    expect(runErrorHint({ code: null }, context)).toBeNull();
  });

  it("fills only <run> and <routine>; other angle brackets are literal", () => {
    expect(fillHint("set `harnesses.<name>.command`; `loopd logs <run>`", context)).toBe(
      "set `harnesses.<name>.command`; `loopd logs 42`",
    );
    expect(fillHint("`loopd resume <routine>` for <run>", { routine: "r" })).toBe(
      "`loopd resume r` for <run>",
    );
  });
});
