/**
 * Statuses that cannot be mistaken, end to end: `loopd serve` runs Codex routines (the real
 * CLI against the fake model server) and every face tells the truth. A command that exits 3
 * shows `(exit 3)` in `loopd logs`; a run with no `verify` whose last command failed succeeds
 * only as `unverified` (run --wait, ls, show, runs, show-run, the API, the webhook payload);
 * `expect: changes` fails a run that wrote nothing with LOOPD_NO_CHANGES; and a Codex whose
 * sandbox cannot start (CODEX_HOME in the temp dir, system bubblewrap) fails with
 * LOOPD_HARNESS_BROKEN and the fix, never `succeeded` with nothing done.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findExecutable } from "../src/harness/executable.js";
import { type CliResult, json, runCli } from "./helpers/cli.js";
import { createGitRepo } from "./helpers/git-repo.js";
import { type LoopdProcess, spawnLoopd } from "./helpers/process.js";
import { waitFor } from "./helpers/wait.js";
import { type FakeModelServer, startFakeModelServer } from "./support/fake-model/server.js";

const BIN = fileURLToPath(new URL("../node_modules/.bin", import.meta.url));
/** The system bubblewrap Codex would use; the sandbox test expects what this machine allows. */
const SYSTEM_BWRAP = findExecutable("bwrap", process.env.PATH);
/** Codex will not put its sandbox helper under the temp dir: homes for it live elsewhere. */
const HOME_PARENT = ["/var/tmp", homedir()].find(
  (dir) => !dir.startsWith(tmpdir()) && !dir.startsWith("/tmp"),
)!;

interface RunJson {
  id: number;
  status: string;
  unverified: boolean;
  error: { code: string; message: string; hint?: string | null } | null;
  changedFiles?: string[];
}

describe("statuses that cannot be mistaken (codex through loopd serve)", () => {
  let model: FakeModelServer;
  let hooks: Server;
  const webhooks: Array<Record<string, unknown>> = [];
  let root: string;
  let agentHome: string;
  let tmpCodexHome: string;
  let repo: string;
  let env: Record<string, string>;
  let daemon: LoopdProcess;
  let url: string;
  let token: string;
  const loopd = (...args: string[]): Promise<CliResult> => runCli(args, { env, cwd: root });

  beforeAll(async () => {
    model = await startFakeModelServer({ script: [] });
    hooks = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on("end", () => {
        webhooks.push(JSON.parse(body) as Record<string, unknown>);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => hooks.listen(0, "127.0.0.1", resolve));
    root = mkdtempSync(join(tmpdir(), "loopd-statuses-"));
    agentHome = mkdtempSync(join(HOME_PARENT, "loopd-statuses-home-"));
    tmpCodexHome = mkdtempSync(join("/tmp", "loopd-statuses-codex-home-"));
    repo = createGitRepo({ "README.md": "# demo\n" });
    const hookUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hook`;
    const agent = (name: string, extra: string) => `  - name: ${name}
    tier: codex-fake
    repo: ${repo}
    prompt: "Create hello.txt containing hello."
    maxTurns: 6
    retries: 0
    timeout: 2m
${extra}`;
    writeFileSync(
      join(root, "loopd.yaml"),
      `models:
  codex-fake: { harness: codex, model: gpt-5.5, baseUrl: "${model.url}/v1" }
pricing:
  gpt-5.5: { input: 2, cachedInput: 0.2, output: 10 }
channels:
  hook: { type: webhook, url: "${hookUrl}" }
harnesses:
  codex:
    # Hermetic: no plugin/app sync, a failing stream retried once.
    args: ["-c", "features.plugins=false", "-c", "features.apps=false", "-c", "model_providers.loopd.request_max_retries=0", "-c", "model_providers.loopd.stream_max_retries=1"]
routines:
${agent("blind", "    notify: { to: hook, on: [success] }\n")}
${agent("checked", '    verify: { command: "test -f hello.txt" }\n')}
${agent("must-change", "    expect: changes\n")}
${agent("tmp-home", `    env: { CODEX_HOME: "${tmpCodexHome}" }\n    # Codex's own sandbox is what this routine tests: loopd's would turn it off.\n    sandbox: off\n`)}`,
    );
    env = {
      PATH: `${BIN}:${process.env.PATH ?? "/usr/bin:/bin"}`,
      HOME: agentHome,
      LOOPD_HOME: join(root, "home"),
      CODEX_HOME: agentHome,
      OPENAI_API_KEY: "sk-openai-fake-key-for-tests",
      HTTPS_PROXY: "http://127.0.0.1:9",
      HTTP_PROXY: "http://127.0.0.1:9",
      NO_PROXY: "127.0.0.1,localhost",
    };
    mkdirSync(env.LOOPD_HOME!);
    daemon = spawnLoopd(["serve", "--port", "0", "-f", "loopd.yaml"], { env, cwd: root });
    url = String((await daemon.waitFor((event) => event.type === "ready")).url);
    token = readFileSync(join(env.LOOPD_HOME!, "api-token"), "utf8").trim();
  });
  afterAll(async () => {
    await daemon?.stop();
    await model?.close();
    hooks?.close();
    for (const dir of [root, agentHome, tmpCodexHome, repo])
      if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const api = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${url}/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    return (await response.json()) as T;
  };

  it("a command that exits 3, then 'done: everything worked': (exit 3) in the log, succeeded only as unverified", async () => {
    model.setScript([
      { toolCalls: [{ name: "exec_command", input: { cmd: "printf hello > hello.txt; exit 3" } }] },
      { text: "done: everything worked" },
    ]);
    const waited = await loopd("run", "blind", "--wait");
    expect(waited.code, waited.stdout + waited.stderr).toBe(0);
    expect(waited.stdout).toMatch(/→ command .*printf hello > hello\.txt; exit 3.* \(exit 3\)/);
    expect(waited.stdout).toMatch(/blind #\d+ succeeded.*unverified: its last tool call failed/);

    const id = json<Array<{ id: number }>>(await loopd("runs", "blind", "--json"))[0]!.id;
    const logs = await loopd("logs", String(id));
    expect(logs.stdout).toMatch(/→ command .*exit 3' \(exit 3\)/);

    const detail = json<RunJson>(await loopd("show-run", String(id), "--json"));
    expect(detail).toMatchObject({ status: "succeeded", unverified: true, error: null });
    expect(json<RunJson[]>(await loopd("runs", "--json")).find((run) => run.id === id)?.unverified).toBe(
      true,
    );
    expect((await loopd("runs")).stdout).toMatch(/succeeded unverified/);

    const routine = json<{ health: { lastOutcome: string; lastUnverified: boolean } }>(
      await loopd("show", "blind", "--json"),
    );
    expect(routine.health).toMatchObject({ lastOutcome: "succeeded", lastUnverified: true });
    expect((await loopd("ls")).stdout).toMatch(/blind .*succeeded unverified/);

    expect(await api<RunJson>(`/runs/${id}`)).toMatchObject({ id, status: "succeeded", unverified: true });
    const webhook = await waitFor(
      () => webhooks.find((hook) => hook.runId === id),
      `the webhook for run ${id}`,
    );
    expect(webhook).toMatchObject({
      type: "run.succeeded",
      payload: { unverified: true, status: "succeeded" },
    });
  });

  it("with `verify`, the same failed command does not flag a success the check confirmed", async () => {
    model.setScript([
      { toolCalls: [{ name: "exec_command", input: { cmd: "printf hello > hello.txt; exit 3" } }] },
      { text: "done" },
    ]);
    const run = json<RunJson>(await loopd("run", "checked", "--wait", "--json"));
    expect(run).toMatchObject({ status: "succeeded", unverified: false });
    const routine = json<{ health: { lastUnverified: boolean } }>(await loopd("show", "checked", "--json"));
    expect(routine.health.lastUnverified).toBe(false);
  });

  it("expect: changes fails a run that wrote nothing with LOOPD_NO_CHANGES, its failed command in the log", async () => {
    model.setScript([
      { toolCalls: [{ name: "exec_command", input: { cmd: "cat missing.txt" } }] },
      { text: "done: everything worked" },
    ]);
    const waited = await loopd("run", "must-change", "--wait");
    expect(waited.code, waited.stdout + waited.stderr).toBe(1);
    expect(waited.stdout).toMatch(/→ command .*cat missing\.txt.* \(exit 1\)/);
    expect(waited.stderr).toContain("LOOPD_NO_CHANGES");
    const id = json<Array<{ id: number }>>(await loopd("runs", "must-change", "--json"))[0]!.id;
    const detail = json<RunJson>(await loopd("show-run", String(id), "--json"));
    expect(detail).toMatchObject({
      status: "failed",
      unverified: false,
      error: { code: "LOOPD_NO_CHANGES" },
    });
    expect(detail.error?.message).toContain("the agent said: done: everything worked");

    // A run that does change a file passes.
    model.setScript([
      { toolCalls: [{ name: "exec_command", input: { cmd: "printf hello > hello.txt" } }] },
      { text: "done" },
    ]);
    const changed = json<RunJson>(await loopd("run", "must-change", "--wait", "--json"));
    expect(changed).toMatchObject({ status: "succeeded", unverified: false });
  });

  it("a Codex whose sandbox cannot start never succeeds with nothing done", async () => {
    model.setScript([
      { toolCalls: [{ name: "exec_command", input: { cmd: "printf hello > hello.txt" } }] },
      { text: "done: everything worked" },
    ]);
    const before = model.turns().length;
    const waited = await loopd("run", "tmp-home", "--wait", "--json");
    const run = json<RunJson & { workspace: string | null }>(
      await loopd(
        "show-run",
        String(json<Array<{ id: number }>>(await loopd("runs", "tmp-home", "--json"))[0]!.id),
        "--json",
      ),
    );
    if (SYSTEM_BWRAP) {
      // CODEX_HOME under /tmp with Debian's bubblewrap: Codex cannot lay out its sandbox helper.
      expect(waited.code).toBe(1);
      expect(run.status).toBe("failed");
      expect(run.error?.code).toBe("LOOPD_HARNESS_BROKEN");
      expect(run.error?.message).toContain(`CODEX_HOME (${tmpCodexHome})`);
      expect(run.error?.hint).toContain("harnesses.codex.sandbox: danger-full-access");
      // Stopped before it asked the model anything.
      expect(model.turns().length).toBe(before);
    } else {
      // Codex's bundled bubblewrap needs no helper: the run works.
      expect(waited.code, waited.stdout + waited.stderr).toBe(0);
      expect(run.status).toBe("succeeded");
      expect(
        existsSync(join(run.workspace ?? "", "hello.txt")) || run.changedFiles?.includes("hello.txt"),
      ).toBe(true);
    }
  });
});
