/**
 * Agent routines end to end, as a user runs them: `loopd run <routine> --wait` with the real
 * Claude Code and Codex CLIs against the fake model server, in git worktrees. Covers the
 * harness issue's "done means": the file lands in the run's worktree and not the main
 * checkout, usage/cost/turns are recorded, memory persists across runs, repo docs reach the
 * agent, escapes fail the run, a 401 becomes LOOPD_AUTH_EXPIRED and pauses the routine, and
 * `loopd doctor` tells the truth. A key the endpoint refuses fails the run before the agent
 * starts (preflight's probe), doctor names it and the routines paused over it, and `loopd run`
 * refuses such a routine unless `--force`.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliResult, json, runCli } from "./helpers/cli.js";
import { fakeAgentEnv, worktreeOf } from "./helpers/fake-agent.js";
import { createGitRepo, gitStatus } from "./helpers/git-repo.js";
import { spawnLoopd } from "./helpers/process.js";
import type { ModelRequest, ScriptedReply } from "./support/fake-model/script.js";
import { type FakeModelServer, startFakeModelServer } from "./support/fake-model/server.js";

const CODEX_HOME_PARENT = ["/var/tmp", homedir()].find(
  (dir) => !dir.startsWith(tmpdir()) && !dir.startsWith("/tmp"),
)!;

interface RunDetailJson {
  id: number;
  status: string;
  error: { code: string; message: string } | null;
  summary: string | null;
  usage: { tokensIn: number; tokensOut: number; tokensCached: number };
  costUsd: number;
  turns: number | null;
  sessionId: string | null;
  branch: string | null;
  workspace: string | null;
  changedFiles: string[];
  escaped: string[];
  diff: string;
}

function systemText(request: ModelRequest): string {
  return JSON.stringify(request.body.system ?? "");
}

describe("agent routines through the CLI", () => {
  let model: FakeModelServer;
  let root: string;
  let repo: string;
  let env: Record<string, string>;
  let configFile: string;
  // Outside the temp dir: under it, Codex will not lay out its sandbox helper, and with a
  // system bubblewrap no command runs (LOOPD_HARNESS_BROKEN; see test/statuses.test.ts).
  let codexHome: string;
  const loopd = (...args: string[]): Promise<CliResult> => runCli(args, { env, cwd: root });

  function writeConfig(): void {
    writeFileSync(
      configFile,
      `auth: { pauseAfter: 2 }
context: { maxBytes: 4096 }
models:
  codex-fake: { harness: codex, model: gpt-5.5, baseUrl: "${model.url}/v1" }
  local: { harness: builtin, model: "openai-compatible:big-spender", baseUrl: "${model.url}/v1" }
  cheap: { harness: builtin, model: "openai-compatible:cheap-model", baseUrl: "${model.url}/v1" }
  pricey: { harness: builtin, model: "openai-compatible:pricey-model", baseUrl: "${model.url}/v1" }
pricing:
  gpt-5.5: { input: 2, cachedInput: 0.2, output: 10 }
  big-spender: { input: 10, cachedInput: 1, output: 50 }
  cheap-model: { input: 1, cachedInput: 0.1, output: 5 }
  pricey-model: { input: 10, cachedInput: 1, output: 50 }
budgets: { tokensPerMinute: 30000 }
harnesses:
  codex:
    # Hermetic: no plugin/app sync, a failing stream retried once.
    args: ["-c", "features.plugins=false", "-c", "features.apps=false", "-c", "model_providers.loopd.request_max_retries=0", "-c", "model_providers.loopd.stream_max_retries=1"]
routines:
  - name: greet
    harness: claude
    model: claude-haiku-4-5
    repo: ${repo}
    prompt: "Create hello.txt containing hello."
    maxTurns: 6
    timeout: 2m
  - name: escaper
    harness: claude
    model: claude-haiku-4-5
    repo: ${repo}
    prompt: "Write a note."
    memory: false
    # Unconfined on purpose: escape detection is the net under the sandbox (test/sandbox.test.ts)
    sandbox: off
    maxTurns: 6
    timeout: 2m
  - name: sentry
    harness: claude
    model: claude-haiku-4-5
    repo: ${repo}
    prompt: "Look over the repo."
    memory: false
    maxTurns: 6
    timeout: 2m
  - name: secret-shell
    command: 'echo "token=$MY_TOKEN" && echo data > out.txt'
    workspace: worktree
    repo: ${repo}
    secrets: [MY_TOKEN]
  - name: spender
    tier: local
    repo: ${repo}
    prompt: "Look around forever."
    budget: { perRun: 0.05 }
    maxTurns: 50
  - name: runaway
    tier: local
    repo: ${repo}
    prompt: "Look around forever."
    maxTurns: 50
  - name: escalating
    tier: cheap
    escalate: [pricey]
    verify: { command: "grep -q fixed answer.txt" }
    repo: ${repo}
    prompt: "Fix the answer."
    maxTurns: 5
  - name: codex-greet
    tier: codex-fake
    repo: ${repo}
    prompt: "Create hello.txt containing hello."
    maxTurns: 6
    timeout: 2m
`,
    );
  }

  beforeAll(async () => {
    model = await startFakeModelServer({ script: [] });
    root = mkdtempSync(join(tmpdir(), "loopd-agents-"));
    repo = createGitRepo({
      "README.md": "# demo\n",
      "AGENTS.md": "Always greet politely.\n",
      "docs/PORTING.md": "Porting guide: keep APIs stable.\n",
    });
    codexHome = mkdtempSync(join(CODEX_HOME_PARENT, "loopd-agents-codex-"));
    configFile = join(root, "loopd.yaml");
    env = {
      ...fakeAgentEnv(root, model.url),
      CODEX_HOME: codexHome,
      OPENAI_API_KEY: "sk-openai-fake-key-for-tests",
      MY_TOKEN: "tok-supersecret-123456",
      // In the daemon's environment, but not the agent's business.
      DATABASE_URL: "postgres://admin:hunter2@prod/db",
    };
    writeConfig();
    const applied = await loopd("apply", "-f", configFile);
    expect(applied.code, applied.stderr).toBe(0);
  });
  afterAll(async () => {
    await model?.close();
    rmSync(root, { recursive: true, force: true });
    rmSync(repo, { recursive: true, force: true });
    if (codexHome) rmSync(codexHome, { recursive: true, force: true });
  });

  it("claude: the file lands in the run's worktree, with usage, cost, docs and memory", async () => {
    const replies = (request: ModelRequest): ScriptedReply =>
      request.turn === 0
        ? {
            toolCalls: [
              {
                name: "Write",
                input: { file_path: join(worktreeOf(request), "hello.txt"), content: "hello\n" },
              },
            ],
            usage: { input: 1200, output: 40 },
          }
        : {
            text: "Created hello.txt.\n```loopd-memory\nGreeted once; next time greet in French.\n```",
            usage: { input: 1300, output: 30 },
          };
    model.setScript(replies);
    const run = await loopd("run", "greet", "--wait", "--json");
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const runId = json<{ id: number }>(run).id;

    const detail = json<RunDetailJson>(await loopd("show-run", String(runId), "--json"));
    expect(detail.status).toBe("succeeded");
    expect(detail.branch).toBe(`loopd/greet/${runId}`);
    expect(detail.workspace).not.toBe(repo);
    expect(readFileSync(join(detail.workspace!, "hello.txt"), "utf8")).toBe("hello\n");
    expect(existsSync(join(repo, "hello.txt"))).toBe(false);
    expect(gitStatus(repo)).toBe("");
    expect(detail.changedFiles).toEqual(["hello.txt"]);
    expect(detail.diff).toContain("+hello");
    expect(detail.diff).not.toContain(".loopd/memory.md");
    expect(detail.summary).toBe("Created hello.txt.");
    expect(detail.turns).toBe(2);
    expect(detail.usage.tokensIn).toBeGreaterThanOrEqual(2500);
    expect(detail.costUsd).toBeGreaterThan(0);
    expect(detail.sessionId).toBeTruthy();

    // Repo docs Claude Code does not read itself reached it through the system prompt.
    const first = model.turns().at(-2)!;
    expect(systemText(first)).toContain("Always greet politely.");
    expect(systemText(first)).toContain("Porting guide: keep APIs stable.");

    const memory = json<{ content: string }>(await loopd("memory", "greet", "--json"));
    expect(memory.content).toContain("next time greet in French");

    // The next run is given what the last one remembered.
    model.setScript([{ text: "Bonjour done." }]);
    const before = model.turns().length;
    const second = await loopd("run", "greet", "--wait", "--json");
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(systemText(model.turns()[before]!)).toContain("next time greet in French");
  });

  it("codex: the file lands in the run's worktree, tokens priced from the pricing table", async () => {
    model.setScript([
      {
        toolCalls: [{ name: "exec_command", input: { cmd: "printf hello > hello.txt" } }],
        usage: { input: 1000, cached: 200, output: 50 },
      },
      { text: "Created hello.txt with codex.", usage: { input: 300, cached: 1000, output: 20 } },
    ]);
    const before = model.turns().length;
    const run = await loopd("run", "codex-greet", "--wait", "--json");
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const detail = json<RunDetailJson>(
      await loopd("show-run", String(json<{ id: number }>(run).id), "--json"),
    );
    expect(detail.status).toBe("succeeded");
    expect(readFileSync(join(detail.workspace!, "hello.txt"), "utf8")).toBe("hello");
    expect(existsSync(join(repo, "hello.txt"))).toBe(false);
    expect(detail.changedFiles).toEqual(["hello.txt"]);
    expect(detail.usage).toMatchObject({ tokensIn: 1300, tokensCached: 1200, tokensOut: 70 });
    // (1300 × 2 + 1200 × 0.2 + 70 × 10) / 1e6
    expect(detail.costUsd).toBeCloseTo(0.00354, 6);
    expect(detail.summary).toBe("Created hello.txt with codex.");
    // Codex reads AGENTS.md itself; loopd adds the docs it does not read.
    const instructions = JSON.stringify(model.turns()[before]!.body);
    expect(instructions).toContain("Porting guide: keep APIs stable.");
  });

  it("agents get an allow-listed environment; declared secrets are redacted from the log", async () => {
    model.setScript((request) =>
      request.turn === 0
        ? { toolCalls: [{ name: "Bash", input: { command: "env > env.txt", description: "dump env" } }] }
        : { text: "Dumped the environment." },
    );
    const run = await loopd("run", "escaper", "--wait", "--json");
    expect(run.code, run.stdout).toBe(0);
    const detail = json<RunDetailJson>(
      await loopd("show-run", String(json<{ id: number }>(run).id), "--json"),
    );
    const seen = readFileSync(join(detail.workspace!, "env.txt"), "utf8");
    expect(seen).toContain(`LOOPD_RUN_ID=${detail.id}`);
    expect(seen).toContain("ANTHROPIC_BASE_URL=");
    expect(seen).not.toContain("DATABASE_URL");
    expect(seen).not.toContain("MY_TOKEN"); // not declared by this routine

    const shell = await loopd("run", "secret-shell", "--wait", "--json");
    expect(shell.code, shell.stdout).toBe(0);
    const shellRun = json<RunDetailJson>(
      await loopd("show-run", String(json<{ id: number }>(shell).id), "--json"),
    );
    expect(shellRun.changedFiles).toEqual(["out.txt"]);
    expect(existsSync(join(repo, "out.txt"))).toBe(false);
    const logs = (await loopd("logs", String(shellRun.id), "--json")).stdout;
    expect(logs).toContain("token=[redacted:MY_TOKEN]");
    expect(logs).not.toContain("tok-supersecret-123456");
    expect(shellRun.summary).toBe("token=[redacted:MY_TOKEN]");
  });

  it("a run that crosses its budget mid-flight, or burns tokens too fast, is stopped", async () => {
    // Each step: 5,000 input + 100 output tokens = $0.055 at the configured big-spender price.
    model.setScript(() => ({
      toolCalls: [{ name: "list_files", input: { path: "." } }],
      usage: { input: 5000, output: 100 },
    }));
    const before = model.turns().length;
    const spent = await loopd("run", "spender", "--wait", "--json");
    expect(spent.code, spent.stdout).toBe(5);
    const error = (JSON.parse(spent.stdout) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe("LOOPD_BUDGET_EXCEEDED");
    expect(error.message).toContain("over the run's $0.05 budget");
    expect(model.turns().length - before).toBe(1);

    // No per-run cap, but 30,000 tokens a minute at most: the sixth step trips the alarm.
    const runaway = await loopd("run", "runaway", "--wait", "--json");
    expect(runaway.code, runaway.stdout).toBe(5);
    const alarm = (JSON.parse(runaway.stdout) as { error: { code: string; message: string } }).error;
    expect(alarm.message).toContain("tokens/min alarm");
  });

  it("verify-and-escalate: the cheap tier fails verification, the strong one passes, both are in the ledger", async () => {
    model.setScript((request) => {
      const messages = request.body.messages as Array<{ role: string }>;
      const strong = request.model.includes("pricey");
      if (messages.at(-1)?.role === "tool") return { text: strong ? "Fixed it properly." : "Done, I think." };
      return {
        toolCalls: [
          { name: "write_file", input: { path: "answer.txt", content: strong ? "fixed\n" : "wrong\n" } },
        ],
        usage: { input: 1000, output: 100 },
      };
    });
    const run = await loopd("run", "escalating", "--wait", "--json");
    expect(run.code, run.stdout).toBe(0);
    const detail = json<RunDetailJson & { attempt: number; tier: string; routeReason: string }>(
      await loopd("show-run", String(json<{ id: number }>(run).id), "--json"),
    );
    expect(detail).toMatchObject({ status: "succeeded", attempt: 2, tier: "pricey" });
    expect(detail.routeReason).toBe("pricey: escalated after cheap failed verification");
    expect(readFileSync(join(detail.workspace!, "answer.txt"), "utf8")).toBe("fixed\n");
    // The strong attempt was told what the cheap one did and how verification failed.
    const strongPrompt = JSON.stringify(model.turns().find((turn) => turn.model.includes("pricey"))?.body);
    expect(strongPrompt).toContain("already tried this and failed verification");
    expect(strongPrompt).toContain("grep -q fixed answer.txt");

    const byTier = json<{ rows: Array<{ key: string; runs: number; costUsd: number }> }>(
      await loopd("costs", "--by", "tier", "--routine", "escalating", "--json"),
    ).rows;
    // Each attempt: a tool call (1,000 in + 100 out tokens) and the final answer (100 + 20).
    expect(byTier.find((row) => row.key === "cheap")?.costUsd).toBeCloseTo((1100 * 1 + 120 * 5) / 1e6, 9);
    expect(byTier.find((row) => row.key === "pricey")?.costUsd).toBeCloseTo((1100 * 10 + 120 * 50) / 1e6, 9);
    // Both attempts' cost is on the run: $0.0017 + $0.017.
    expect((await loopd("runs", "escalating")).stdout).toContain("$0.0187");
  });

  it("claude: a Bash call that writes into the main checkout fails the run as an escape", async () => {
    const outside = join(repo, "escaped.txt");
    model.setScript([
      { toolCalls: [{ name: "Bash", input: { command: `echo oops > ${outside}`, description: "write" } }] },
      { text: "Wrote the note." },
    ]);
    const run = await loopd("run", "escaper", "--wait", "--json");
    expect(run.code).toBe(1);
    const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string } };
    expect(error.code).toBe("LOOPD_WORKSPACE_ESCAPE");
    expect(error.message).toContain(outside);
    rmSync(outside, { force: true });
  });

  it("claude: a 401 is LOOPD_AUTH_EXPIRED and pauses the routine after auth.pauseAfter runs", async () => {
    model.setScript(() => ({ status: 401, errorMessage: "invalid x-api-key" }));
    for (const expected of ["active", "paused"]) {
      const run = await loopd("run", "escaper", "--wait", "--json");
      expect(run.code).toBe(4);
      expect((JSON.parse(run.stdout) as { error: { code: string } }).error.code).toBe("LOOPD_AUTH_EXPIRED");
      const routine = json<{ state: string; pausedReason: string | null }>(
        await loopd("show", "escaper", "--json"),
      );
      expect(routine.state).toBe(expected);
    }
    const paused = json<{ pausedReason: string }>(await loopd("show", "escaper", "--json"));
    expect(paused.pausedReason).toContain("LOOPD_AUTH_EXPIRED");
    expect((await loopd("resume", "escaper")).code).toBe(0);
  });

  it("doctor reports claude installed and authenticated, and what is missing", async () => {
    const report = await loopd("doctor", "--json");
    expect(report.code, report.stderr).toBe(0);
    const claude = json<{ harnesses: Array<Record<string, unknown>> }>(report).harnesses.find(
      (harness) => harness.harness === "claude",
    );
    expect(claude).toMatchObject({ installed: true, auth: "ok", authSource: "ANTHROPIC_API_KEY" });
    // The 401s of the test before are remembered as claude's last error.
    expect(claude?.lastError).toMatchObject({ code: "LOOPD_AUTH_EXPIRED" });
    expect(String(claude?.version)).toMatch(/^\d+\.\d+\.\d+/);
    // A shell routine needs no preflight, but the table still counts it as the harness's user.
    const shell = json<{ harnesses: Array<{ harness: string; routines: string[] }> }>(report).harnesses.find(
      (harness) => harness.harness === "shell",
    );
    expect(shell?.routines).toContain("secret-shell");

    const noKey = { ...env, ANTHROPIC_API_KEY: "" };
    delete (noKey as Record<string, string | undefined>).ANTHROPIC_API_KEY;
    const missing = await runCli(["doctor", "--json"], { env: noKey, cwd: root });
    expect(missing.code).toBe(4);
    expect(missing.stdout).toContain('"auth": "missing"');
  });

  it("a dead key fails claude and codex runs before the agent starts, and doctor says so", async () => {
    model.setRejectKeys(true);
    try {
      const agentCalls = model.requests.length;
      const probes = model.modelListRequests.length;
      for (const routine of ["greet", "codex-greet"]) {
        const run = await loopd("run", routine, "--wait", "--json");
        expect(run.code, run.stdout + run.stderr).toBe(4);
        const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string } };
        expect(error.code).toBe("LOOPD_AUTH_EXPIRED");
        expect(error.message).toContain(routine === "greet" ? "ANTHROPIC_API_KEY" : "OPENAI_API_KEY");
        expect(error.message).toContain(`was rejected by ${model.url}/v1/models (HTTP 401`);
        const detail = json<RunDetailJson>(
          await loopd("show-run", String(json<{ id: number }>(run).id), "--json"),
        );
        // Nothing was set up for it: no worktree, no agent.
        expect(detail.workspace ?? null).toBeNull();
      }
      // Only the probes reached the endpoint: no /v1/messages, no /v1/responses.
      expect(model.requests.length).toBe(agentCalls);
      expect(model.modelListRequests.slice(probes).map((request) => request.provider)).toEqual([
        "anthropic",
        "openai",
      ]);

      const doctor = await loopd("doctor");
      expect(doctor.code, doctor.stdout + doctor.stderr).toBe(4);
      expect(doctor.stdout).toMatch(
        /claude \(escaper, greet, sentry\): claude: ANTHROPIC_API_KEY was rejected/,
      );
      expect(doctor.stdout).toMatch(/codex \(codex-greet\): codex: OPENAI_API_KEY was rejected/);
      expect(doctor.stderr).toContain(
        "error[LOOPD_AUTH_EXPIRED]: claude is not ready for escaper, greet, sentry",
      );
      expect(doctor.stderr).toContain("claude auth login");
      const report = json<{ ok: boolean; harnesses: Array<Record<string, unknown>> }>(
        await loopd("doctor", "--json"),
      );
      expect(report.ok).toBe(false);
      expect(report.harnesses.find((harness) => harness.harness === "codex")).toMatchObject({
        auth: "expired",
        failing: ["codex-greet"],
        error: { code: "LOOPD_AUTH_EXPIRED", hint: expect.stringContaining("codex login") },
      });
    } finally {
      model.setRejectKeys(false);
    }
  }, 120_000);

  it("a routine paused for auth: doctor lists it with the fix, `run` refuses it, `run --force` runs it", async () => {
    model.setRejectKeys(true);
    for (let i = 0; i < 2; i++) expect((await loopd("run", "sentry", "--wait", "--json")).code).toBe(4);
    expect(json<{ state: string }>(await loopd("show", "sentry", "--json")).state).toBe("paused");

    const report = json<{ ok: boolean; pausedForAuth: Array<Record<string, unknown>> }>(
      await loopd("doctor", "--json"),
    );
    expect(report.ok).toBe(false);
    expect(report.pausedForAuth).toEqual([
      {
        routine: "sentry",
        harness: "claude",
        code: "LOOPD_AUTH_EXPIRED",
        reason: expect.stringContaining("LOOPD_AUTH_EXPIRED on 2 runs in a row"),
        fix: expect.stringContaining("Replace ANTHROPIC_API_KEY"),
        resume: "loopd resume sentry",
      },
    ]);
    const human = await loopd("doctor");
    expect(human.code).toBe(4);
    expect(human.stdout).toContain("Paused for auth:");
    expect(human.stdout).toContain("then: loopd resume sentry");

    const refused = await loopd("run", "sentry");
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain("error[LOOPD_ROUTINE_PAUSED_AUTH]: sentry is paused for auth");
    expect(refused.stderr).toContain("claude auth login");
    expect(refused.stderr).toContain("`loopd resume sentry`");
    expect(refused.stderr).toContain("`loopd run sentry --force`");

    // The key works again: doctor still lists the routine (nothing resumed it), now as fixable.
    model.setRejectKeys(false);
    const fixed = json<{ pausedForAuth: Array<{ fix: string }> }>(await loopd("doctor", "--json"));
    expect(fixed.pausedForAuth.map((entry) => entry.fix)).toEqual(["its credentials pass the check now"]);
    expect((await loopd("doctor")).code).toBe(4);

    model.setScript([{ text: "Forced through." }]);
    const forced = await loopd("run", "sentry", "--force", "--wait", "--json");
    expect(forced.code, forced.stdout + forced.stderr).toBe(0);
    expect(json<{ summary: string }>(forced).summary).toBe("Forced through.");

    expect((await loopd("resume", "sentry")).code).toBe(0);
    const healthy = await loopd("doctor", "--json");
    expect(healthy.code, healthy.stdout).toBe(0);
    expect(json<{ ok: boolean; pausedForAuth: unknown[] }>(healthy)).toMatchObject({
      ok: true,
      pausedForAuth: [],
    });
  }, 120_000);

  it("a daemon probes a key once for many runs, and its API refuses a routine paused for auth unless forced", async () => {
    model.setRejectKeys(true);
    for (let i = 0; i < 2; i++) expect((await loopd("run", "sentry", "--wait", "--json")).code).toBe(4);
    model.setRejectKeys(false);

    const daemon = spawnLoopd(["serve", "--port", "0"], { env, cwd: root });
    try {
      await daemon.waitFor((event) => event.type === "ready");
      const probes = model.modelListRequests.length;
      model.setScript(() => ({ text: "Hello from the daemon." }));
      for (let i = 0; i < 3; i++) {
        const run = await loopd("run", "greet", "--wait", "--json");
        expect(run.code, run.stdout + run.stderr).toBe(0);
      }
      // Three runs, one question to the endpoint.
      expect(model.modelListRequests.length - probes).toBe(1);

      const refused = await loopd("run", "sentry", "--json");
      expect(refused.code).toBe(4);
      expect(JSON.parse(refused.stdout)).toMatchObject({
        error: { code: "LOOPD_ROUTINE_PAUSED_AUTH", hint: expect.stringContaining("loopd resume sentry") },
      });
      const forced = await loopd("run", "sentry", "--force", "--wait", "--json");
      expect(forced.code, forced.stdout + forced.stderr).toBe(0);
      expect(model.modelListRequests.length - probes).toBe(1);
    } finally {
      await daemon.stop();
      await loopd("resume", "sentry");
    }
  }, 120_000);
});
