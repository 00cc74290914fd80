/**
 * The builtin harness under its default sandbox (`on`, nothing set) end to end (`loopd run
 * --wait` with the real bubblewrap, the builtin agent against the fake model): its bash tool
 * cannot read a planted ~/.ssh key, write the main checkout or see loopd's pid, while it
 * writes its worktree; the routine's `verify` runs in the same profile (it cannot read the key
 * either, and passes); show-run records a confined profile with the file-tools note, in
 * --json and in its human output.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliResult, json, runCli } from "./helpers/cli.js";
import { fakeAgentEnv } from "./helpers/fake-agent.js";
import { createGitRepo } from "./helpers/git-repo.js";
import type { ModelRequest, ScriptedReply } from "./support/fake-model/script.js";
import { type FakeModelServer, startFakeModelServer } from "./support/fake-model/server.js";

describe("the builtin harness sandboxed through the CLI", () => {
  let model: FakeModelServer;
  let root: string;
  let repo: string;
  let env: Record<string, string>;
  const loopd = (...args: string[]): Promise<CliResult> => runCli(args, { env, cwd: root });

  beforeAll(async () => {
    model = await startFakeModelServer({ script: [] });
    root = mkdtempSync(join(tmpdir(), "loopd-sandbox-builtin-"));
    repo = createGitRepo({ "README.md": "# demo\n" });
    env = fakeAgentEnv(root, model.url);
    mkdirSync(join(env.HOME!, ".ssh"), { recursive: true });
    writeFileSync(join(env.HOME!, ".ssh", "id_rsa"), "-----BEGIN PRIVATE KEY-----\n");
    writeFileSync(
      join(root, "loopd.yaml"),
      `models:
  local: { harness: builtin, model: "openai-compatible:llama3.1", baseUrl: "${model.url}/v1" }
routines:
  - name: boxed-builtin
    tier: local
    repo: ${repo}
    prompt: "Probe the sandbox."
    memory: false
    maxTurns: 4
    timeout: 2m
    verify: { command: "(cat ~/.ssh/id_rsa > verify-saw.txt 2>&1 || true) && test -f probe.txt" }
`,
    );
    const applied = await loopd("apply", "-f", join(root, "loopd.yaml"));
    expect(applied.code, applied.stderr).toBe(0);
  });
  afterAll(async () => {
    await model?.close();
    rmSync(root, { recursive: true, force: true });
    rmSync(repo, { recursive: true, force: true });
  });

  it("on by default: bash and verify cannot reach secrets, the main checkout or loopd; the worktree is writable", async () => {
    const probe = [
      "(cat ~/.ssh/id_rsa >/dev/null 2>&1 && echo SSH_READ || echo SSH_DENIED)",
      // The main checkout is not there (a write lands in the private /tmp), its hooks are read-only.
      `echo oops > ${repo}/escaped.txt 2>/dev/null`,
      `(echo oops > ${repo}/.git/hooks/post-checkout 2>/dev/null && echo HOOK_WRITTEN || echo HOOK_DENIED)`,
      `(kill -0 ${process.pid} 2>/dev/null && echo SEES_LOOPD || echo NO_LOOPD)`,
    ].join("; ");
    model.setScript(
      (request: ModelRequest): ScriptedReply =>
        request.turn === 0
          ? { toolCalls: [{ name: "bash", input: { command: `(${probe}) > probe.txt 2>&1` } }] }
          : { text: "Probed." },
    );
    const run = await loopd("run", "boxed-builtin", "--wait", "--json");
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const id = String(json<{ id: number }>(run).id);
    const detail = json<{
      workspace: string | null;
      sandbox: { mode: string; confined: boolean; note?: string } | null;
    }>(await loopd("show-run", id, "--json"));
    const seen = readFileSync(join(detail.workspace!, "probe.txt"), "utf8");
    expect(seen).toContain("SSH_DENIED");
    expect(seen).toContain("HOOK_DENIED");
    expect(existsSync(join(repo, ".git/hooks/post-checkout"))).toBe(false);
    expect(seen).toContain("NO_LOOPD");
    expect(existsSync(join(repo, "escaped.txt"))).toBe(false);
    expect(detail.sandbox).toMatchObject({ mode: "on", confined: true });
    expect(detail.sandbox?.note).toMatch(/without the model API keys; the file tools/);
    // verify ran (the run succeeded, so it passed) in the profile: no key for it either.
    const verifySaw = readFileSync(join(detail.workspace!, "verify-saw.txt"), "utf8");
    expect(verifySaw).not.toContain("PRIVATE KEY");
    expect(verifySaw).toMatch(/No such file/);
    const human = await loopd("show-run", id);
    expect(human.stdout).toContain("sandbox:   on");
    expect(human.stdout).toContain(detail.sandbox!.note!);
  });
});
