/**
 * The shared agent runner with real processes: whatever an agent CLI leaves running, even in a
 * session of its own where the process-group signal cannot reach it, is gone by the time
 * runAgentProcess resolves, because it carries the run's environment marker.
 */
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { processesWithEnv } from "../../test/helpers/processes.js";
import { PROCESS_MARKER, runAgentProcess } from "./agent-process.js";
import type { HarnessEvent } from "./harness.js";

const linux = process.platform === "linux";
/** Every run's marker, so a failing test does not leave its sleep behind for the next one. */
const markers: string[] = [];

afterEach(() => {
  for (const marker of markers.splice(0)) {
    for (const pid of processesWithEnv(PROCESS_MARKER, marker)) process.kill(pid, "SIGKILL");
  }
});

/** Runs `script` under sh; it prints `<pid of what it left> <its marker>` on its first line. */
async function runLeaving(script: string, signal = new AbortController().signal) {
  const lines: string[] = [];
  const events: HarnessEvent[] = [];
  const result = await runAgentProcess({
    command: "sh",
    args: ["-c", script],
    cwd: process.cwd(),
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    signal,
    emit: (event) => events.push(event),
    onLine: (line) => {
      lines.push(line);
      return undefined;
    },
  });
  const [pid, marker] = (lines[0] ?? "").split(" ");
  if (marker) markers.push(marker);
  return { result, events, pid: Number(pid), marker: marker ?? "" };
}

/** The process's state letter (R, S, Z, …), or null once it is gone. */
function stateOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "")[0] ?? null;
  } catch {
    return null;
  }
}

// Each script prints `<pid of the leftover> <marker>`, then waits a moment so the leftover has
// really left for its new session (setsid) before the agent exits.
describe.runIf(linux)("runAgentProcess leftovers", () => {
  it("kills a child the agent started in a new session once the agent has exited", async () => {
    // Its own session and process group, and no hold on our pipes: only the marker finds it.
    const { result, pid, marker } = await runLeaving(
      `setsid sleep 30 </dev/null >/dev/null 2>&1 & echo "$! $${PROCESS_MARKER}"; sleep 0.2`,
    );
    expect(result.exitCode).toBe(0);
    expect(marker).toMatch(/^[0-9a-f-]{36}$/);
    expect(pid).toBeGreaterThan(0);
    expect(processesWithEnv(PROCESS_MARKER, marker)).toEqual([]);
    expect(["Z", null]).toContain(stateOf(pid));
  });

  it("does not wait for a leftover that holds the agent's stdout open", async () => {
    const started = Date.now();
    const { result, pid, marker } = await runLeaving(
      `setsid sleep 30 & echo "$! $${PROCESS_MARKER}"; sleep 0.2`,
    );
    expect(result.exitCode).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(processesWithEnv(PROCESS_MARKER, marker)).toEqual([]);
    expect(["Z", null]).toContain(stateOf(pid));
  });

  it("gives a leftover that ignores SIGTERM a SIGKILL after the grace period", async () => {
    const { result, pid, marker } = await runLeaving(
      `setsid sh -c 'trap "" TERM; exec sleep 30' >/dev/null 2>&1 & echo "$! $${PROCESS_MARKER}"; sleep 0.2`,
    );
    expect(result.exitCode).toBe(0);
    expect(processesWithEnv(PROCESS_MARKER, marker)).toEqual([]);
    expect(["Z", null]).toContain(stateOf(pid));
  });

  it("kills the new-session child too when the run is aborted", async () => {
    const abort = new AbortController();
    const run = runLeaving(
      `setsid sleep 30 >/dev/null 2>&1 & echo "$! $${PROCESS_MARKER}"; sleep 30`,
      abort.signal,
    );
    setTimeout(() => abort.abort(), 300);
    const { result, pid, marker } = await run;
    expect(result.signal).toBe("SIGTERM");
    expect(processesWithEnv(PROCESS_MARKER, marker)).toEqual([]);
    expect(["Z", null]).toContain(stateOf(pid));
  });
});
