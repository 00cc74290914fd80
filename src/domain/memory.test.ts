import { describe, expect, it } from "vitest";
import { appendEntry, capMemory, memoryBlockOf, updatedMemory } from "./memory.js";

describe("memory", () => {
  it("finds the last loopd-memory block of a message", () => {
    const message =
      "Done.\n```loopd-memory\nfirst\n```\nmore\n```loopd-memory\nPR #12 waits for review\n```\n";
    expect(memoryBlockOf(message)).toBe("PR #12 waits for review");
    expect(memoryBlockOf("no block")).toBeNull();
    expect(memoryBlockOf("```loopd-memory\n\n```")).toBeNull();
  });

  it("drops the oldest entries to fit the cap, keeping the preamble", () => {
    let memory = "Notes for the babysitter.\n\n";
    for (let i = 1; i <= 5; i++) memory = appendEntry(memory, `run ${i}`, "x".repeat(100));
    const { memory: capped, dropped } = capMemory(memory, 300);
    expect(dropped).toBe(3);
    expect(capped.startsWith("Notes for the babysitter.")).toBe(true);
    expect(capped).not.toContain("## run 3");
    expect(capped).toContain("## run 4");
    expect(capped).toContain("## run 5");
    expect(Buffer.byteLength(capped)).toBeLessThanOrEqual(300);
  });

  it("keeps the newest end of a single oversized entry", () => {
    const { memory } = capMemory(`## big\n\n${"a".repeat(500)}END`, 100);
    expect(Buffer.byteLength(memory)).toBeLessThanOrEqual(100);
    expect(memory.endsWith("END")).toBe(true);
  });

  it("takes the edited file over a message block, and appends a block otherwise", () => {
    const base = { before: "## old\n\nkept\n", heading: "2026-11-28T10:00Z · run 7", maxBytes: 10_000 };
    expect(
      updatedMemory({ ...base, file: "## new\n\nrewritten\n", finalMessage: "```loopd-memory\nx\n```" }),
    ).toEqual({
      memory: "## new\n\nrewritten\n",
      source: "file",
      dropped: 0,
    });
    const appended = updatedMemory({
      ...base,
      file: base.before,
      finalMessage: "ok\n```loopd-memory\nlearned\n```",
    });
    expect(appended?.source).toBe("message");
    expect(appended?.memory).toBe("## old\n\nkept\n\n## 2026-11-28T10:00Z · run 7\n\nlearned\n");
    expect(updatedMemory({ ...base, file: null, finalMessage: "nothing to remember" })).toBeNull();
  });
});
