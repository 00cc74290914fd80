/**
 * Gateway metering end to end (issue 19), as a user runs it: `loopd run <routine> --wait` with
 * the real Claude Code and Codex CLIs and the builtin agent against the fake model server,
 * each pointed by loopd at its metering gateway. A model that keeps calling tools is stopped
 * after the request that crosses `perRun` (spend ≤ cap + one request), a run killed by
 * `maxTurns` or by its timeout keeps its true tokens and cost in the ledger (one gateway row
 * per request), `show-run` says `metering: gateway`, and `metering: reported` falls back to
 * the harness's own report.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliResult, json, runCli } from "./helpers/cli.js";
import { fakeAgentEnv } from "./helpers/fake-agent.js";
import { createGitRepo } from "./helpers/git-repo.js";
import { type FakeModelServer, startFakeModelServer } from "./support/fake-model/server.js";

const CODEX_HOME_PARENT = ["/var/tmp", homedir()].find(
  (dir) => !dir.startsWith(tmpdir()) && !dir.startsWith("/tmp"),
)!;

interface RunJson {
  id: number;
  status: string;
  error: { code: string; message: string; hint: string | null } | null;
  usage: { tokensIn: number; tokensOut: number; tokensCached: number };
  costUsd: number;
  metering: "gateway" | "reported" | null;
  reported: { tokensIn: number; tokensOut: number; tokensCached: number; costUsd: number } | null;
}

interface LedgerRow {
  model: string;
  tokens_in: number;
  tokens_out: number;
  cost_usd: number;
  cost_source: string;
  harness: string;
}

describe("gateway metering through the CLI", () => {
  let model: FakeModelServer;
  let root: string;
  let repo: string;
  let env: Record<string, string>;
  let codexHome: string;
  const loopd = (...args: string[]): Promise<CliResult> => runCli(args, { env, cwd: root });

  function ledger(runId: number): LedgerRow[] {
    const db = new Database(join(root, "home", "loopd.db"), { readonly: true });
    try {
      return db.prepare("select * from ledger where run_id = ? order by id").all(runId) as LedgerRow[];
    } finally {
      db.close();
    }
  }
  const sum = (rows: LedgerRow[], field: "cost_usd" | "tokens_in" | "tokens_out") =>
    rows.reduce((total, row) => total + Number(row[field]), 0);

  async function run(routine: string): Promise<RunJson> {
    const started = await loopd("run", routine, "--wait", "--json");
    // A failed run's outcome is an error whose details carry the run.
    const answer = json<{ id?: number; error?: { details: { run: { id: number } } } }>(started);
    const id = answer.id ?? answer.error?.details.run.id;
    if (id === undefined) throw new Error(`no run id in ${started.stdout} ${started.stderr}`);
    return json<RunJson>(await loopd("show-run", String(id), "--json"));
  }

  beforeAll(async () => {
    model = await startFakeModelServer({ script: [] });
    root = mkdtempSync(join(tmpdir(), "loopd-metering-"));
    repo = createGitRepo({ "README.md": "# demo\n" });
    codexHome = mkdtempSync(join(CODEX_HOME_PARENT, "loopd-metering-codex-"));
    env = {
      ...fakeAgentEnv(root, model.url),
      CODEX_HOME: codexHome,
      OPENAI_API_KEY: "sk-openai-fake-key-for-tests",
    };
    const config = join(root, "loopd.yaml");
    writeFileSync(
      config,
      `models:
  codex-fake: { harness: codex, model: gpt-5.5, baseUrl: "${model.url}/v1" }
  local: { harness: builtin, model: "openai-compatible:big-spender", baseUrl: "${model.url}/v1" }
  cheap: { harness: builtin, model: "openai-compatible:cheap-model", baseUrl: "${model.url}/v1" }
pricing:
  cheap-model: { input: 1, cachedInput: 0.1, output: 5 }
  gpt-5.5: { input: 2, cachedInput: 0.2, output: 10 }
  big-spender: { input: 10, cachedInput: 1, output: 50 }
harnesses:
  codex:
    args: ["-c", "features.plugins=false", "-c", "features.apps=false", "-c", "model_providers.loopd.request_max_retries=0", "-c", "model_providers.loopd.stream_max_retries=0"]
routines:
  - { name: claude-loop, harness: claude, model: claude-haiku-4-5, repo: ${repo}, prompt: "Look around forever.", budget: { perRun: 0.01 }, maxTurns: 50, timeout: 2m, memory: false }
  - { name: codex-loop, tier: codex-fake, repo: ${repo}, prompt: "Look around forever.", budget: { perRun: 0.003 }, maxTurns: 50, timeout: 2m, memory: false }
  - { name: builtin-loop, tier: local, repo: ${repo}, prompt: "Look around forever.", budget: { perRun: 0.1 }, maxTurns: 50, timeout: 2m, memory: false }
  - { name: codex-turns, tier: codex-fake, repo: ${repo}, prompt: "Look around forever.", maxTurns: 2, timeout: 2m, memory: false }
  - { name: codex-slow, tier: codex-fake, repo: ${repo}, prompt: "Wait a while.", maxTurns: 50, timeout: 10s, memory: false }
  - { name: runaway, tier: local, repo: ${repo}, prompt: "Look around forever.", budget: { usdPerMinute: 0.05 }, maxTurns: 50, timeout: 2m, memory: false }
  - { name: ticker, tier: cheap, repo: ${repo}, prompt: "Tick.", budget: { usdPerMinute: 0.004 }, timeout: 2m, memory: false }
  - { name: claude-reported, harness: claude, model: claude-haiku-4-5, repo: ${repo}, prompt: "Say hi.", metering: reported, timeout: 2m, memory: false }
`,
    );
    const applied = await loopd("apply", "-f", config);
    expect(applied.code, applied.stderr).toBe(0);
  });
  afterAll(async () => {
    await model?.close();
    rmSync(root, { recursive: true, force: true });
    rmSync(repo, { recursive: true, force: true });
    if (codexHome) rmSync(codexHome, { recursive: true, force: true });
  });

  it("claude: stopped after the request that crosses perRun; every request is a gateway row", async () => {
    // $0.0025 a request at claude-haiku-4-5's price ($1 in, $5 out per million).
    model.setScript(() => ({
      toolCalls: [{ name: "Bash", input: { command: "ls", description: "look" } }],
      usage: { input: 2000, output: 100 },
    }));
    const detail = await run("claude-loop");
    expect(detail.status).toBe("failed");
    expect(detail.error?.code).toBe("LOOPD_BUDGET_EXCEEDED");
    expect(detail.error?.message).toMatch(/budget\.perRun|over the run's \$0\.01 budget/);
    expect(detail.metering).toBe("gateway");
    const rows = ledger(detail.id);
    const agentRows = rows.filter((row) => Number(row.tokens_in) === 2000);
    expect(agentRows.length).toBeGreaterThanOrEqual(4);
    expect(rows.every((row) => row.cost_source === "gateway")).toBe(true);
    expect(sum(rows, "cost_usd")).toBeLessThanOrEqual(0.01 + 0.0025 + 1e-9);
    expect(sum(rows, "cost_usd")).toBeCloseTo(detail.costUsd, 9);
  });

  it("codex: stopped after the request that crosses perRun, not after its turn ends", async () => {
    // $0.0011 a request at gpt-5.5's configured price ($2 in, $10 out per million).
    model.setScript(() => ({
      toolCalls: [{ name: "exec_command", input: { cmd: "ls" } }],
      usage: { input: 500, output: 10 },
    }));
    const detail = await run("codex-loop");
    expect(detail.error?.code).toBe("LOOPD_BUDGET_EXCEEDED");
    expect(detail.metering).toBe("gateway");
    const rows = ledger(detail.id);
    expect(rows.length).toBeGreaterThanOrEqual(3);
    expect(rows.every((row) => row.cost_source === "gateway" && row.harness === "codex")).toBe(true);
    expect(sum(rows, "cost_usd")).toBeGreaterThanOrEqual(0.003);
    expect(sum(rows, "cost_usd")).toBeLessThanOrEqual(0.003 + 0.0011 + 1e-9);
  });

  it("builtin: stopped after the request that crosses perRun", async () => {
    // $0.0275 a request at big-spender's price ($10 in, $50 out per million).
    model.setScript(() => ({
      toolCalls: [{ name: "list_files", input: { path: "." } }],
      usage: { input: 2500, output: 50 },
    }));
    const detail = await run("builtin-loop");
    expect(detail.error?.code).toBe("LOOPD_BUDGET_EXCEEDED");
    expect(detail.metering).toBe("gateway");
    const rows = ledger(detail.id);
    expect(rows.every((row) => row.cost_source === "gateway")).toBe(true);
    expect(sum(rows, "cost_usd")).toBeGreaterThanOrEqual(0.1);
    expect(sum(rows, "cost_usd")).toBeLessThanOrEqual(0.1 + 0.0275 + 1e-9);
  });

  it("a codex run stopped by maxTurns keeps its true tokens and cost in the ledger", async () => {
    model.setScript(() => ({
      toolCalls: [{ name: "exec_command", input: { cmd: "ls" } }],
      usage: { input: 700, output: 20 },
    }));
    const before = model.turns().length;
    const detail = await run("codex-turns");
    expect(detail.status).toBe("failed");
    const served = model.turns().length - before;
    expect(served).toBeGreaterThanOrEqual(2);
    const rows = ledger(detail.id);
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(sum(rows, "tokens_in")).toBeGreaterThanOrEqual(700 * 2);
    expect(sum(rows, "cost_usd")).toBeGreaterThan(0);
    expect(detail.usage.tokensIn).toBe(sum(rows, "tokens_in"));
    expect(detail.metering).toBe("gateway");
    expect((await loopd("show-run", String(detail.id))).stdout).toContain("metering:  gateway");
  });

  it("a codex run killed by its timeout keeps what the gateway saw", async () => {
    model.setScript((request) =>
      request.turn === 0
        ? {
            toolCalls: [{ name: "exec_command", input: { cmd: "sleep 60" } }],
            usage: { input: 900, output: 30 },
          }
        : { text: "done", usage: { input: 100, output: 5 } },
    );
    const detail = await run("codex-slow");
    expect(detail.status).toBe("timed_out");
    const rows = ledger(detail.id);
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(rows.some((row) => Number(row.tokens_in) === 900 && row.cost_source === "gateway")).toBe(true);
    expect(detail.costUsd).toBeCloseTo(sum(rows, "cost_usd"), 9);
    // Codex, killed mid-turn, reported nothing: show-run shows its count beside the gateway's.
    expect(detail.reported).not.toBeNull();
    expect(detail.reported!.costUsd).toBeLessThan(detail.costUsd);
  });

  it("a run spending faster than usdPerMinute is stopped within the minute and its routine paused", async () => {
    // $0.0275 a request: the request after the second finds $0.055 spent in the last minute.
    model.setScript(() => ({
      toolCalls: [{ name: "list_files", input: { path: "." } }],
      usage: { input: 2500, output: 50 },
    }));
    const detail = await run("runaway");
    expect(detail.error?.code).toBe("LOOPD_BUDGET_EXCEEDED");
    expect(detail.error?.message).toMatch(/spend-velocity alarm \(budget\.usdPerMinute/);
    expect(sum(ledger(detail.id), "cost_usd")).toBeLessThanOrEqual(0.05 + 0.0275 + 1e-9);
    const routine = json<{ state: string; pausedCode: string | null }>(
      await loopd("show", "runaway", "--json"),
    );
    expect(routine).toMatchObject({ state: "paused", pausedCode: "LOOPD_BUDGET_EXCEEDED" });
  });

  it("a routine firing cheap runs every few seconds is paused before the run that would go over usdPerMinute", async () => {
    // $0.0025 a run; the third finds $0.005 spent in the last minute, over $0.004.
    model.setScript(() => ({ text: "tick", usage: { input: 2000, output: 100 } }));
    expect((await run("ticker")).status).toBe("succeeded");
    expect((await run("ticker")).status).toBe("succeeded");
    const third = await run("ticker");
    expect(third.error?.code).toBe("LOOPD_BUDGET_EXCEEDED");
    expect(third.error?.message).toContain("in the last minute");
    expect(ledger(third.id)).toEqual([]);
    const routine = json<{ state: string }>(await loopd("show", "ticker", "--json"));
    expect(routine.state).toBe("paused");
  });

  it("metering: reported counts the harness's own report, and show-run says so", async () => {
    model.setScript([{ text: "hi", usage: { input: 300, output: 10 } }]);
    const detail = await run("claude-reported");
    expect(detail.status, JSON.stringify(detail.error)).toBe("succeeded");
    expect(detail.metering).toBe("reported");
    const rows = ledger(detail.id);
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(rows.every((row) => row.cost_source === "reported")).toBe(true);
    const human = await loopd("show-run", String(detail.id));
    expect(human.stdout).toContain("metering:  reported");
  });
});
