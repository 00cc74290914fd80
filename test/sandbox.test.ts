/**
 * Sandboxed runs end to end (`loopd run --wait` with the real bubblewrap): the real Claude Code
 * CLI against the fake model under the default `sandbox: on` runs a Bash probe that cannot read
 * a planted ~/.ssh key, write the main checkout, see loopd's pid or reach a loopback port
 * nobody allowed, while its model (the fake server) works and it commits and pushes to a local
 * bare remote; show-run records the profile. A worker killed with SIGKILL takes its confined
 * command down. `required` with a missing bubblewrap fails with the code and install command.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliResult, json, runCli } from "./helpers/cli.js";
import { fakeAgentEnv, worktreeOf } from "./helpers/fake-agent.js";
import { createGitRepo, git } from "./helpers/git-repo.js";
import { spawnLoopd } from "./helpers/process.js";
import { processesRunning } from "./helpers/processes.js";
import { waitUntil } from "./helpers/wait.js";
import type { ModelRequest, ScriptedReply } from "./support/fake-model/script.js";
import { type FakeModelServer, startFakeModelServer } from "./support/fake-model/server.js";

interface RunDetailJson {
  id: number;
  status: string;
  error: { code: string; message: string; hint?: string } | null;
  workspace: string | null;
  escaped: string[];
  sandbox: {
    mode: string;
    confined: boolean;
    write?: string[];
    network?: string[] | "all";
    loopback?: string[];
  } | null;
}

describe("sandboxed runs through the CLI", () => {
  let model: FakeModelServer;
  let forbidden: Server;
  let root: string;
  let repo: string;
  let remote: string;
  let env: Record<string, string>;
  const loopd = (...args: string[]): Promise<CliResult> => runCli(args, { env, cwd: root });

  beforeAll(async () => {
    model = await startFakeModelServer({ script: [] });
    forbidden = createServer((_req, res) => res.end("loopd-api-secrets"));
    await new Promise<void>((resolve) => forbidden.listen(0, "127.0.0.1", resolve));
    root = mkdtempSync(join(tmpdir(), "loopd-sandbox-"));
    repo = createGitRepo({ "README.md": "# demo\n" });
    remote = join(root, "origin.git");
    git(repo, "init", "-q", "--bare", remote);
    git(repo, "remote", "add", "origin", remote);
    git(repo, "push", "-q", "origin", "main");
    env = fakeAgentEnv(root, model.url);
    mkdirSync(join(env.HOME!, ".ssh"), { recursive: true });
    writeFileSync(join(env.HOME!, ".ssh", "id_rsa"), "-----BEGIN PRIVATE KEY-----\n");
    writeFileSync(
      join(root, "loopd.yaml"),
      `routines:
  - name: boxed
    harness: claude
    model: claude-haiku-4-5
    repo: ${repo}
    prompt: "Probe the sandbox."
    memory: false
    maxTurns: 6
    timeout: 2m
  - name: sleeper
    command: "echo started && sleep 31337"
    workspace: worktree
    repo: ${repo}
    sandbox: on
  - name: strict
    command: "echo ran > ran.txt"
    workspace: worktree
    repo: ${repo}
    sandbox: required
`,
    );
    const applied = await loopd("apply", "-f", join(root, "loopd.yaml"));
    expect(applied.code, applied.stderr).toBe(0);
  });
  afterAll(async () => {
    await model?.close();
    forbidden?.close();
    rmSync(root, { recursive: true, force: true });
    rmSync(repo, { recursive: true, force: true });
  });

  it("claude under the default sandbox: secrets, the main checkout, loopd and other ports are out of reach; its model, worktree and push work", async () => {
    const port = (forbidden.address() as AddressInfo).port;
    const probe = (request: ModelRequest) =>
      [
        `cd ${worktreeOf(request)}`,
        "(cat ~/.ssh/id_rsa >/dev/null 2>&1 && echo SSH_READ || echo SSH_DENIED)",
        // The main checkout is not there (a write lands in the private /tmp), its hooks are read-only.
        `echo oops > ${repo}/escaped.txt 2>/dev/null`,
        `(echo oops > ${repo}/.git/hooks/post-checkout 2>/dev/null && echo HOOK_WRITTEN || echo HOOK_DENIED)`,
        `(kill -0 ${process.pid} 2>/dev/null && echo SEES_LOOPD || echo NO_LOOPD)`,
        `node -e "require('http').get('http://127.0.0.1:${port}/',r=>r.on('data',d=>console.log('FORBIDDEN '+d))).on('error',e=>console.log('PORT_DENIED '+e.code))"`,
        "echo work > inside.txt && git add inside.txt && git -c user.name=agent -c user.email=agent@loopd.dev commit -q -m boxed && git push -q origin HEAD:refs/heads/from-agent && echo PUSHED",
      ].join("; ");
    model.setScript(
      (request: ModelRequest): ScriptedReply =>
        request.turn === 0
          ? {
              toolCalls: [
                {
                  name: "Bash",
                  input: { command: `(${probe(request)}) > probe.txt 2>&1`, description: "probe" },
                },
              ],
            }
          : { text: "Probed." },
    );
    const run = await loopd("run", "boxed", "--wait", "--json");
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const detail = json<RunDetailJson>(
      await loopd("show-run", String(json<{ id: number }>(run).id), "--json"),
    );
    const seen = readFileSync(join(detail.workspace!, "probe.txt"), "utf8");
    expect(seen).toContain("SSH_DENIED");
    expect(seen).toContain("HOOK_DENIED");
    expect(existsSync(join(repo, ".git/hooks/post-checkout"))).toBe(false);
    expect(seen).toContain("NO_LOOPD");
    expect(seen).toContain("PORT_DENIED ECONNREFUSED");
    expect(seen).not.toContain("FORBIDDEN");
    expect(seen).toContain("PUSHED");
    expect(existsSync(join(repo, "escaped.txt"))).toBe(false);
    expect(detail.escaped).toEqual([]);
    expect(git(remote, "log", "-1", "--format=%s", "from-agent")).toBe("boxed");
    expect(detail.sandbox).toMatchObject({ mode: "on", confined: true });
    expect(detail.sandbox?.loopback).toContain(`127.0.0.1:${new URL(model.url).port}`);
    const human = await loopd("show-run", String(detail.id));
    expect(human.stdout).toMatch(/sandbox: {3}on · write /);
  });

  it("a worker killed with SIGKILL takes its confined command down", async () => {
    const worker = spawnLoopd(["run", "sleeper", "--wait"], { env, cwd: root });
    await waitUntil(() => processesRunning("sleep 31337").length > 0, "the confined sleep to start");
    expect(
      processesRunning("bwrap").some((pid) =>
        readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("sleep 31337"),
      ),
    ).toBe(true);
    worker.child.kill("SIGKILL");
    await waitUntil(
      () => processesRunning("sleep 31337").length === 0,
      "the confined sleep to die with its worker",
    );
  });

  it("doctor runs a confined probe: works here; with a missing bubblewrap a required routine fails doctor", async () => {
    const report = json<{ sandbox: { works: boolean; on: string[]; required: string[] } }>(
      await loopd("doctor", "--json"),
    );
    expect(report.sandbox).toMatchObject({
      works: true,
      on: expect.arrayContaining(["boxed", "sleeper"]),
      required: ["strict"],
    });
    const broken = await runCli(["doctor"], {
      env: { ...env, LOOPD_BWRAP: join(root, "no-such-bwrap") },
      cwd: root,
    });
    expect(broken.code).not.toBe(0);
    expect(broken.stdout).toContain("UNCONFINED: boxed, sleeper (on)");
    expect(broken.stdout).toContain("strict (required) cannot run");
    expect(broken.stderr).toContain("LOOPD_SANDBOX_UNAVAILABLE");
    expect(broken.stderr).toContain("sudo apt-get install bubblewrap");
  }, 120_000);

  it("required with a missing bubblewrap refuses with the code and the install command, running nothing", async () => {
    const broken = { ...env, LOOPD_BWRAP: join(root, "no-such-bwrap") };
    const run = await runCli(["run", "strict", "--wait", "--json"], { env: broken, cwd: root });
    expect(run.code).toBe(1);
    const { error } = JSON.parse(run.stdout) as {
      error: { code: string; hint: string; details: { run: { workspace: string | null } } };
    };
    expect(error.code).toBe("LOOPD_SANDBOX_UNAVAILABLE");
    expect(error.hint).toContain("sudo apt-get install bubblewrap");
    const workspace = error.details.run.workspace;
    expect(workspace === null || !existsSync(join(workspace, "ran.txt"))).toBe(true);
  });
});
