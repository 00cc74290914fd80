import { describe, expect, it } from "vitest";
import { trimJobLog } from "./job-log.js";

const stamp = (lines: string[]) => lines.map((line) => `2026-01-05T09:00:00.1234567Z ${line}`).join("\r\n");

describe("trimJobLog", () => {
  it("keeps the failing step's section and names its most specific error", () => {
    const log = stamp([
      "##[group]Run actions/checkout@v4",
      "Syncing repository",
      "##[endgroup]",
      "##[group]Run npm run lint",
      "##[endgroup]",
      "src/a.ts:3:1 lint/style  Use const",
      "##[error]src/a.ts:3:1: Use const",
      "##[error]Process completed with exit code 1.",
      "##[group]Run npm test",
      "skipped",
      "Post job cleanup.",
    ]);
    const trimmed = trimJobLog(7, log, "Run npm run lint");
    expect(trimmed).toEqual({
      jobId: 7,
      step: "Run npm run lint",
      firstError: "src/a.ts:3:1: Use const",
      truncated: true,
      text: [
        "##[group]Run npm run lint",
        "##[endgroup]",
        "src/a.ts:3:1 lint/style  Use const",
        "##[error]src/a.ts:3:1: Use const",
        "##[error]Process completed with exit code 1.",
      ].join("\n"),
    });
  });

  it("keeps the step's first line and its last lines when the step is long", () => {
    const output = Array.from({ length: 500 }, (_, index) => `line ${index}`);
    const trimmed = trimJobLog(1, stamp(["##[group]Run make", ...output, "##[error]boom"]), null, {
      maxLines: 5,
    });
    expect(trimmed.text.split("\n")).toEqual([
      "##[group]Run make",
      "… 498 lines cut …",
      "line 498",
      "line 499",
      "##[error]boom",
    ]);
    expect(trimmed.truncated).toBe(true);
  });

  it("keeps the tail of a log without error markers, cut to maxChars", () => {
    const trimmed = trimJobLog(1, `${"a\n".repeat(100)}the end`, null, { maxChars: 20 });
    expect(trimmed.text).toHaveLength(20);
    expect(trimmed.text.endsWith("the end")).toBe(true);
    expect(trimmed.firstError).toBeNull();
  });
});
