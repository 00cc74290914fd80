/** Reading the attempt's last tool call from its events, whatever the harness wrote. */
import { describe, expect, it } from "vitest";
import type { HarnessEvent } from "./harness.js";
import { finishedTool, ToolOutcomes } from "./tool-outcome.js";

const tool = (data: Record<string, unknown>): HarnessEvent => ({ type: "tool", data });

describe("ToolOutcomes", () => {
  it("follows finished calls only: calls as they start and other events do not count", () => {
    const outcomes = new ToolOutcomes();
    const events: HarnessEvent[] = [
      tool({ name: "command", input: "make test", exitCode: null, status: "in_progress" }),
      tool({ name: "command", input: "make test", exitCode: 2, failed: true }),
      { type: "message", data: { role: "assistant", text: "done" } },
      { type: "log", stream: "stderr", line: "warning" },
    ];
    for (const event of events) outcomes.observe(event);
    expect(outcomes).toMatchObject({ lastFailed: true, finished: 1 });
    // A later call that worked is the last word.
    outcomes.observe(tool({ tool: "Bash", result: "ok", isError: false, exitCode: 0, failed: false }));
    expect(outcomes).toMatchObject({ lastFailed: false, finished: 2 });
  });

  it("reads failed from any harness's finished tool event", () => {
    expect(finishedTool(tool({ name: "read", status: "error", failed: true }))).toEqual({ failed: true });
    expect(finishedTool(tool({ name: "write_file", isError: false }))).toBeNull();
    expect(finishedTool({ type: "usage", data: { failed: true } })).toBeNull();
  });
});
