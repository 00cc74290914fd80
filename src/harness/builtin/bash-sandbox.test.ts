/**
 * The builtin harness under `sandbox: on` with the real bubblewrap, driven by the fake model
 * server: its bash commands run in the run's profile (no planted ~/.ssh key, no writes
 * outside the worktree, loopd's pid invisible) while the worktree stays writable; `required`
 * is no longer refused; with the sandbox off a command sees what it saw before. And the
 * timeout and abort still stop a confined command and what it started.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shellSpec } from "../../../test/helpers/specs.js";
import { useTempDirs } from "../../../test/helpers/temp-dirs.js";
import { waitUntil } from "../../../test/helpers/wait.js";
import type { ScriptedReply } from "../../../test/support/fake-model/script.js";
import { type FakeModelServer, startFakeModelServer } from "../../../test/support/fake-model/server.js";
import type { SandboxSettings } from "../../domain/sandbox.js";
import type { HarnessEvent } from "../harness.js";
import { confinedHarness } from "../sandbox/confined-harness.js";
import { sandboxRequest } from "../sandbox/request.js";
import { createBuiltinHarness } from "./agent.js";
import { FILE_TOOLS_NOTE, openBashSandbox, runBash } from "./bash.js";
import { ConfinedShell } from "./confined-shell.js";

const tempDir = useTempDirs();
let server: FakeModelServer;

beforeAll(async () => {
  server = await startFakeModelServer({ script: [] });
});
afterAll(async () => {
  await server.close();
});

function setup() {
  const worktree = tempDir("loopd-builtin-box-");
  const home = tempDir("loopd-home-");
  mkdirSync(join(home, ".ssh"));
  writeFileSync(join(home, ".ssh", "id_rsa"), "PRIVATE KEY\n");
  const outside = tempDir("loopd-outside-");
  return { worktree, home, outside };
}

const bash = (command: string): ScriptedReply => ({ toolCalls: [{ name: "bash", input: { command } }] });

async function runBuiltin(
  commands: string[],
  sandbox: SandboxSettings,
  dirs: { worktree: string; home: string },
  extraEnv: Record<string, string> = {},
) {
  server.setScript([...commands.map(bash), { text: "done" }]);
  const events: HarnessEvent[] = [];
  const harness = confinedHarness(createBuiltinHarness(), sandbox);
  const result = await harness.run(
    {
      runId: 1,
      routine: "boxed",
      spec: shellSpec("boxed", { harness: "builtin", task: { kind: "prompt", prompt: "p" } }),
      attempt: 1,
      dueAt: 0,
      cwd: dirs.worktree,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dirs.home, ...extraEnv },
      input: null,
      agent: {
        prompt: "p",
        systemPrompt: "",
        model: "openai-compatible:llama3.1",
        baseUrl: `${server.url}/v1`,
        maxTurns: 10,
        maxBudgetUsd: null,
        mcpConfig: null,
        subAgents: [],
      },
      signal: new AbortController().signal,
    },
    (event) => events.push(event),
  );
  const outputs = events.flatMap((event) => {
    if (event.type !== "tool") return [];
    const data = event.data as { name?: string; output?: string } | null;
    return data?.name === "bash" && data.output !== undefined ? [data.output] : [];
  });
  const status = (name: string) => {
    for (const event of events)
      if (event.type === "status" && (event.data as { event?: string } | null)?.event === name)
        return event.data;
    return undefined;
  };
  return { result, outputs, status };
}

const pidProbe = `test -d /proc/${process.pid} && echo PID-VISIBLE || echo PID-HIDDEN`;

describe("builtin bash under sandbox: on (real bubblewrap)", () => {
  it("hides HOME's secrets, the host's files and loopd's pid; keeps the worktree writable", async () => {
    const { worktree, home, outside } = setup();
    const { result, outputs, status } = await runBuiltin(
      [
        'cat "$HOME/.ssh/id_rsa"',
        `echo escaped > ${outside}/escape.txt`,
        "echo inside > made.txt && cat made.txt",
        pidProbe,
      ],
      "on",
      { worktree, home },
    );
    expect(result.outcome).toBe("succeeded");
    expect(outputs).toHaveLength(4);
    expect(outputs[0]).not.toContain("PRIVATE KEY");
    expect(outputs[0]).toMatch(/No such file/);
    expect(outputs[1]).not.toMatch(/\[exit code 0\]$/);
    expect(existsSync(join(outside, "escape.txt"))).toBe(false);
    expect(outputs[2]).toBe("inside\n[exit code 0]");
    expect(readFileSync(join(worktree, "made.txt"), "utf8")).toBe("inside\n");
    expect(outputs[3]).toContain("PID-HIDDEN");
    expect(status("sandbox")).toMatchObject({ mode: "on", confined: true, note: FILE_TOOLS_NOTE });
    expect(status("warning")).toBeUndefined();
  });

  it("a confined command never sees the model API keys (loopd talks to the model)", async () => {
    const { worktree, home } = setup();
    const keys = {
      ANTHROPIC_API_KEY: "sk-ant-SECRET-1",
      OPENAI_API_KEY: "sk-openai-SECRET-2",
      LOOPD_OPENAI_COMPATIBLE_API_KEY: "compat-SECRET-3",
      GITHUB_TOKEN: "gh-passed-on",
    };
    const { result, outputs } = await runBuiltin(["env"], "on", { worktree, home }, keys);
    expect(result.outcome).toBe("succeeded");
    // The run used its key: the fake model server saw it.
    expect(server.requests.at(-1)?.headers.authorization).toBe("Bearer compat-SECRET-3");
    expect(outputs).toHaveLength(1);
    expect(outputs[0]).not.toContain("SECRET");
    expect(outputs[0]).not.toMatch(/ANTHROPIC_API_KEY|OPENAI_API_KEY/);
    // What the routine's env passes on for the command's own use is still there.
    expect(outputs[0]).toContain("GITHUB_TOKEN=gh-passed-on");
  });

  it("required runs (it is no longer refused for builtin)", async () => {
    const { worktree, home } = setup();
    const { result, outputs, status } = await runBuiltin(["echo confined"], "required", { worktree, home });
    expect(result.outcome).toBe("succeeded");
    expect(outputs).toEqual(["confined\n[exit code 0]"]);
    expect(status("sandbox")).toMatchObject({ mode: "required", confined: true });
  });

  it("with the sandbox off, a command sees the host as before", async () => {
    const { worktree, home, outside } = setup();
    const { result, outputs, status } = await runBuiltin(
      ['cat "$HOME/.ssh/id_rsa"', `echo escaped > ${outside}/escape.txt`, pidProbe],
      "off",
      { worktree, home },
    );
    expect(result.outcome).toBe("succeeded");
    expect(outputs[0]).toBe("PRIVATE KEY\n[exit code 0]");
    expect(readFileSync(join(outside, "escape.txt"), "utf8")).toBe("escaped\n");
    expect(outputs[2]).toContain("PID-VISIBLE");
    expect(status("sandbox")).toBeUndefined();
  });
});

/** Pids of `sleep <seconds>` processes on the host (a marker duration no other test uses). */
function sleepers(seconds: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (argv[0]?.endsWith("sleep") && argv[1] === seconds) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

describe.each([
  ["a bwrap per command", false],
  ["the run's confined shell", true],
])("runBash in the run's sandbox: %s", (_how, withShell) => {
  /** A sleep duration no other test (nor the other variant) uses. */
  const mark = (seconds: number) => String(withShell ? seconds + 10 : seconds);
  async function opened(worktree: string, home: string) {
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home };
    const request = sandboxRequest({
      spec: shellSpec("boxed", { harness: "builtin", sandbox: "on" }),
      settings: {},
      harness: "builtin",
      baseUrl: null,
      env,
      baseEnv: process.env,
    });
    const outcome = await openBashSandbox({ request, cwd: worktree, env, emit: () => {} });
    if (outcome.kind !== "confined") throw new Error(`not confined: ${outcome.kind}`);
    const open = outcome.sandbox;
    const shell = withShell ? new ConfinedShell(open, worktree) : undefined;
    const sandbox = {
      file: open.file,
      wrap: open.wrap,
      env: open.env,
      ...(shell ? { shell } : {}),
      async close() {
        await shell?.close();
        await open.close();
      },
    };
    return { sandbox, env };
  }

  it("a timeout stops the confined command and its background children", async () => {
    const { worktree, home } = setup();
    const { sandbox, env } = await opened(worktree, home);
    try {
      const started = Date.now();
      const result = await runBash({
        command: `sleep ${mark(731)} & sleep ${mark(731)}; wait`,
        cwd: worktree,
        env,
        sandbox,
        timeoutMs: 500,
        killGraceMs: 200,
      });
      expect(result.timedOut).toBe(true);
      expect(Date.now() - started).toBeLessThan(5000);
      await waitUntil(() => sleepers(mark(731)).length === 0, "confined sleeps gone", {
        timeoutMs: 3000,
        everyMs: 25,
      });
    } finally {
      await sandbox.close();
    }
  });

  it.runIf(withShell)(
    "one sandbox serves the run's calls (its private /tmp persists), with each exit code",
    async () => {
      const { worktree, home } = setup();
      const { sandbox, env } = await opened(worktree, home);
      try {
        const first = await runBash({
          command: "echo kept > /tmp/state; exit 4",
          cwd: worktree,
          env,
          sandbox,
        });
        expect(first).toMatchObject({ exitCode: 4, output: "" });
        const second = await runBash({
          command: "cat /tmp/state; echo err >&2",
          cwd: worktree,
          env,
          sandbox,
        });
        expect(second).toMatchObject({ exitCode: 0, output: "kept\nerr\n" });
        expect(existsSync("/tmp/state") && readFileSync("/tmp/state", "utf8") === "kept\n").toBe(false);
      } finally {
        await sandbox.close();
      }
    },
  );

  it.runIf(withShell)("closing the shell at the run's end takes a running command down", async () => {
    const { worktree, home } = setup();
    const { sandbox, env } = await opened(worktree, home);
    const running = runBash({ command: "sleep 754", cwd: worktree, env, sandbox });
    await waitUntil(() => sleepers("754").length > 0, "sleep in the shell", { timeoutMs: 5000, everyMs: 25 });
    await sandbox.close();
    expect((await running).exitCode).not.toBe(0);
    await waitUntil(() => sleepers("754").length === 0, "sleep gone with the shell", {
      timeoutMs: 3000,
      everyMs: 25,
    });
  });

  it("an abort stops it, and background processes die when the command exits", async () => {
    const { worktree, home } = setup();
    const { sandbox, env } = await opened(worktree, home);
    try {
      const controller = new AbortController();
      const running = runBash({
        command: `sleep ${mark(732)}`,
        cwd: worktree,
        env,
        sandbox,
        signal: controller.signal,
      });
      await waitUntil(() => sleepers(mark(732)).length > 0, "confined sleep started", {
        timeoutMs: 5000,
        everyMs: 25,
      });
      controller.abort();
      expect((await running).aborted).toBe(true);
      await waitUntil(() => sleepers(mark(732)).length === 0, "aborted sleep gone", {
        timeoutMs: 3000,
        everyMs: 25,
      });

      const left = await runBash({
        command: `(sleep ${mark(733)} >/dev/null 2>&1 &); echo left`,
        cwd: worktree,
        env,
        sandbox,
      });
      expect(left.exitCode).toBe(0);
      await waitUntil(() => sleepers(mark(733)).length === 0, "background sleep gone", {
        timeoutMs: 3000,
        everyMs: 25,
      });
    } finally {
      await sandbox.close();
    }
  });
});
