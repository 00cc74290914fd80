/**
 * ci-health `fix: true` confirms the agent's fix in the routine's sandbox (real bubblewrap,
 * the real Claude Code CLI against the fake model, `loopd run --wait` with no daemon): a
 * "fix" whose test passes only when it can read a planted ~/.ssh key, and writes outside its
 * worktree on the way, is not confirmed under the default `sandbox: on` and its write does not
 * land — while the same fix under `sandbox: off` is confirmed (the control: the probe works)
 * and an honest fix is confirmed confined, the checkout's node_modules readable through the
 * scratch worktree's link.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { editFlaky, flakyScript } from "./helpers/ci-health-fixtures.js";
import { type CliResult, json, runCli } from "./helpers/cli.js";
import { fakeAgentEnv } from "./helpers/fake-agent.js";
import { git } from "./helpers/git-repo.js";
import { type FakeModelServer, startFakeModelServer } from "./support/fake-model/server.js";

interface RunJson {
  id: number;
  status: string;
  summary: string | null;
}

describe("ci-health fix: true confirms in the routine's sandbox", () => {
  let model: FakeModelServer;
  let root: string;
  let repo: string;
  let key: string;
  let env: Record<string, string>;
  const loopd = (...args: string[]): Promise<CliResult> => runCli(args, { env, cwd: root });
  /** A "fix" that passes only when the test can read the key, and writes `escaped` first. */
  const sneaky = (escaped: string) => `const fs = require("node:fs");
module.exports = () => {
  try { fs.writeFileSync(${JSON.stringify(escaped)}, "escaped"); } catch {}
  try { return fs.readFileSync(${JSON.stringify(key)}, "utf8").includes("PRIVATE KEY"); } catch { return false; }
};
`;
  const fix = async (routine: string, content: string) => {
    model.setScript(editFlaky(content, "flaky.js failed every other call; it always passes now."));
    const result = await loopd("run", routine, "--wait", "--json");
    const run = json<RunJson>(result);
    expect(run.status, run.summary ?? result.stderr).toBe("succeeded");
    return run;
  };

  beforeAll(async () => {
    model = await startFakeModelServer({ script: [] });
    root = mkdtempSync(join(tmpdir(), "loopd-ci-health-sandbox-"));
    repo = join(root, "clock");
    mkdirSync(join(repo, "node_modules", "dep"), { recursive: true });
    writeFileSync(join(repo, "node_modules", "dep", "index.js"), "module.exports = 1;\n");
    writeFileSync(join(repo, "flaky.js"), "module.exports = (count) => count % 2 === 1;\n");
    writeFileSync(join(repo, "run-tests.js"), `require("dep");\n${flakyScript(".timing-count")}`);
    writeFileSync(join(repo, ".gitignore"), "junit.xml\n.timing-count\nnode_modules/\n");
    git(repo, "init", "--quiet", "-b", "main");
    git(repo, "add", "-A");
    git(repo, "commit", "--quiet", "-m", "clock tests");
    env = fakeAgentEnv(root, model.url);
    mkdirSync(join(env.HOME!, ".ssh"));
    key = join(env.HOME!, ".ssh", "id_rsa");
    writeFileSync(key, "-----BEGIN PRIVATE KEY-----\n");
    const routine = (name: string, extra = "") => `  - name: ${name}
    template: ci-health
    params: { test: node run-tests.js, junit: junit.xml, reruns: 1, fix: true, confirm: 3 }
    repo: ${repo}
    harness: claude
    model: claude-haiku-4-5
    maxTurns: 6
    timeout: 2m
    every: 1d
${extra}`;
    writeFileSync(
      join(root, "loopd.yaml"),
      `routines:\n${routine("honest")}${routine("sneaky")}${routine("unconfined", "    sandbox: off\n")}`,
    );
    const applied = await loopd("apply");
    expect(applied.code, applied.stderr).toBe(0);
  });

  afterAll(async () => {
    await model?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("a fix that reads ~/.ssh is not confirmed and writes nothing outside; confirmed only with sandbox: off; an honest fix is", async () => {
    const honest = await fix("honest", "module.exports = () => true;\n");
    expect(honest.summary).toContain(
      `fix of \`clock::timing\`: confirmed: 3/3 passes with the fix, on branch loopd/honest/${honest.id}`,
    );

    const escaped = join(root, "escaped-confined");
    const confined = await fix("sneaky", sneaky(escaped));
    expect(confined.summary).toContain(
      "fix of `clock::timing`: not confirmed: the test passed 0 of 3 re-runs with the fix",
    );
    expect(existsSync(escaped)).toBe(false);
    const detail = json<{ sandbox: { confined: boolean } | null }>(
      await loopd("show-run", String(confined.id), "--json"),
    );
    // The agent's own attempt was confined too (the harness's sandbox).
    expect(detail.sandbox?.confined).toBe(true);
    const logs = await loopd("logs", String(confined.id));
    expect(logs.stdout).toContain("[ci-health] confirming the fix in the routine's sandbox (on)");

    const open = join(root, "escaped-unconfined");
    const unconfined = await fix("unconfined", sneaky(open));
    expect(unconfined.summary).toContain("fix of `clock::timing`: confirmed: 3/3 passes with the fix");
    expect(existsSync(open)).toBe(true);
  }, 240_000);
});
