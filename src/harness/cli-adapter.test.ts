/**
 * The pieces the agent CLI adapters share: the preflight prologue, the process → error
 * mapping in its fixed order, the summary rule, pricing per model and the JSON-line readers.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ZERO_USAGE } from "../domain/pricing.js";
import {
  type CliProcess,
  cliFailure,
  cliResult,
  endedEarly,
  jsonEvent,
  locateCli,
  pricedModelUsage,
  record,
  short,
  summaryOf,
} from "./cli-adapter.js";
import type { HarnessEvent } from "./harness.js";

const exited: CliProcess = { exitCode: 0, signal: null, spawnError: null, stderrTail: [] };
const cli = { name: "fake", command: "fake-cli" };
const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("locateCli", () => {
  const preflight = (PATH: string) => ({
    env: { PATH },
    cwd: process.cwd(),
    baseUrl: null,
    signal: new AbortController().signal,
  });

  it("answers not installed, with the hint, when the command is not on the PATH", async () => {
    const found = await locateCli("fake", "no-such-cli", preflight("/nonexistent"), "Install it.");
    expect(found).toEqual({
      harness: "fake",
      installed: false,
      command: null,
      version: null,
      authSource: null,
      auth: "unknown",
      error: {
        code: "LOOPD_HARNESS_NOT_INSTALLED",
        message: "fake (no-such-cli) was not found on the run's PATH",
        hint: "Install it.",
      },
    });
  });

  it("resolves the command and its version", async () => {
    const dir = mkdtempSync(join(tmpdir(), "loopd-cli-adapter-"));
    dirs.push(dir);
    writeFileSync(join(dir, "fake-cli"), "#!/bin/sh\necho 'fake-cli 1.2.3'\n");
    chmodSync(join(dir, "fake-cli"), 0o755);
    const found = await locateCli("fake", "fake-cli", preflight(`${dir}:/usr/bin:/bin`), "Install it.");
    expect(found).toMatchObject({ harness: "fake", installed: true, command: join(dir, "fake-cli") });
    expect(found.version).toContain("1.2.3");
  });
});

describe("cliFailure", () => {
  const state = { authError: "rejected", turnLimit: true };

  it("checks spawn, credential, turn cap and abort, in that order", () => {
    const run = { aborted: true, maxTurns: 3 };
    expect(cliFailure(cli, { ...exited, spawnError: "spawn fake-cli ENOENT" }, state, run)).toEqual({
      code: "LOOPD_HARNESS_NOT_INSTALLED",
      message: "fake is not installed (fake-cli): spawn fake-cli ENOENT",
    });
    expect(cliFailure(cli, { ...exited, spawnError: "EACCES" }, state, run)).toEqual({
      code: "LOOPD_HARNESS_SPAWN_FAILED",
      message: "EACCES",
    });
    expect(cliFailure(cli, exited, state, run)).toEqual({
      code: "LOOPD_AUTH_EXPIRED",
      message: "fake: rejected",
    });
    expect(cliFailure(cli, exited, { authError: null, turnLimit: true }, run)).toEqual({
      code: "LOOPD_TURN_LIMIT",
      message: "stopped fake after 3 turns (maxTurns)",
    });
    expect(cliFailure(cli, exited, { authError: null }, run)).toEqual({
      code: "LOOPD_AGENT_FAILED",
      message: "fake was stopped: the run was aborted",
    });
    expect(cliFailure(cli, exited, { authError: null }, { aborted: false })).toBeNull();
  });

  it("says how a CLI ended before finishing, with the last stderr lines", () => {
    const tail = ["1", "2", "3", "4", "5", "6"];
    expect(endedEarly("fake", { ...exited, exitCode: 2, stderrTail: tail }, "finishing").message).toBe(
      "fake exited with 2 before finishing: 2\n3\n4\n5\n6",
    );
    expect(endedEarly("fake", { ...exited, exitCode: null, signal: "SIGKILL" }, "its turn").message).toBe(
      "fake was killed by SIGKILL before its turn: no output",
    );
  });
});

describe("cliResult", () => {
  it("completes the report with exit code and summary, failed or succeeded", () => {
    const report = {
      finalMessage: "\n  Done: all green  \nmore",
      usage: ZERO_USAGE,
      costUsd: 0,
      modelUsage: [],
      turns: 2,
      sessionId: "s1",
    };
    const { fail, succeed } = cliResult({ ...exited, exitCode: 1 }, report);
    expect(succeed()).toEqual({
      ...report,
      exitCode: 1,
      summary: "Done: all green",
      outcome: "succeeded",
      error: null,
    });
    expect(fail("LOOPD_AGENT_FAILED", "no").error).toEqual({ code: "LOOPD_AGENT_FAILED", message: "no" });
    expect(fail({ code: "LOOPD_TURN_LIMIT", message: "cap" })).toMatchObject({
      outcome: "failed",
      summary: "Done: all green",
      error: { code: "LOOPD_TURN_LIMIT", message: "cap" },
    });
  });
});

describe("summaryOf", () => {
  it("is the first non-empty line, shortened to 200 characters", () => {
    expect(summaryOf(null)).toBeNull();
    expect(summaryOf(" \n\t\n")).toBeNull();
    expect(summaryOf("\n\n  first  \nsecond")).toBe("first");
    const long = summaryOf("x".repeat(250));
    expect(long).toHaveLength(200);
    expect(long?.endsWith("…")).toBe(true);
    expect(short("abc", 3)).toBe("abc");
    expect(short("abcd", 3)).toBe("ab…");
  });
});

describe("pricedModelUsage", () => {
  it("prices each model and totals the cost", () => {
    const usage = { tokensIn: 1_000_000, tokensOut: 0, tokensCached: 0, tokensReasoning: 0 };
    const pricing = {
      a: { input: 1, cachedInput: 0, output: 0 },
      b: { input: 2, cachedInput: 0, output: 0 },
    };
    expect(
      pricedModelUsage(
        [
          { model: "a", usage },
          { model: "b", usage },
          { model: "unknown", usage },
        ],
        pricing,
      ),
    ).toEqual({
      modelUsage: [
        { model: "a", usage, costUsd: 1 },
        { model: "b", usage, costUsd: 2 },
        { model: "unknown", usage, costUsd: 0 },
      ],
      costUsd: 3,
    });
  });
});

describe("JSON-line readers", () => {
  it("passes lines that are not typed JSON events on as log output", () => {
    const events: HarnessEvent[] = [];
    const emit = (event: HarnessEvent) => events.push(event);
    expect(jsonEvent('{"type":"init","x":1}', emit)).toEqual({ type: "init", x: 1 });
    expect(jsonEvent('{"x":1}', emit)).toBeNull();
    expect(jsonEvent("plain text", emit)).toBeNull();
    expect(events).toEqual([
      { type: "log", stream: "stdout", line: '{"x":1}' },
      { type: "log", stream: "stdout", line: "plain text" },
    ]);
  });

  it("reads only objects as records", () => {
    expect(record({ a: 1 })).toEqual({ a: 1 });
    expect(record([1])).toEqual({});
    expect(record(null)).toEqual({});
  });
});
