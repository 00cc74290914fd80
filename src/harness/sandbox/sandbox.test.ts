/**
 * A shell routine under `sandbox: on` with the real bubblewrap: what the confined command can
 * and cannot reach (a planted ~/.ssh key, files outside its worktree, a loopback port nobody
 * allowed, the daemon's pid), and what it still can (its worktree, the allowed endpoint, a
 * commit and a push to a local bare remote). `required` with a missing binary never runs.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGitRepo, GIT_IDENTITY, git } from "../../../test/helpers/git-repo.js";
import { shellSpec } from "../../../test/helpers/specs.js";
import { useTempDirs } from "../../../test/helpers/temp-dirs.js";
import type { RoutineSpec } from "../../domain/routine-spec.js";
import type { SandboxSettings } from "../../domain/sandbox.js";
import type { HarnessEvent, HarnessResult } from "../harness.js";
import { shellHarness } from "../shell.js";
import { confinedHarness } from "./confined-harness.js";

const tempDir = useTempDirs();

function serve(body: string): Promise<Server> {
  const server = createServer((_req, res) => res.end(body));
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}
const portOf = (server: Server) => (server.address() as AddressInfo).port;

/** The data of the run's first status event named `name`. */
function status(events: HarnessEvent[], name: string): unknown {
  for (const event of events)
    if (event.type !== "log" && (event.data as { event?: string } | null)?.event === name) return event.data;
  return undefined;
}

let allowed: Server;
let denied: Server;
beforeAll(async () => {
  allowed = await serve("model-ok");
  denied = await serve("secret-service");
});
afterAll(() => {
  allowed.close();
  denied.close();
});

async function runShell(
  command: string,
  options: { cwd: string; home: string; sandbox?: SandboxSettings; spec?: Partial<RoutineSpec> },
): Promise<{ result: HarnessResult; out: string; events: HarnessEvent[] }> {
  const events: HarnessEvent[] = [];
  const harness = confinedHarness(shellHarness, options.sandbox ?? "on");
  const spec = shellSpec("boxed", { task: { kind: "command", command }, repo: options.cwd, ...options.spec });
  const result = await harness.run(
    {
      runId: 1,
      routine: "boxed",
      spec,
      attempt: 1,
      dueAt: 0,
      cwd: options.cwd,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: options.home,
        MODEL_BASE_URL: `http://127.0.0.1:${portOf(allowed)}`,
        ...GIT_IDENTITY,
      },
      input: null,
      agent: null,
      signal: new AbortController().signal,
    },
    (event) => events.push(event),
  );
  const out = events
    .filter((event) => event.type === "log")
    .map((event) => (event as { line: string }).line)
    .join("\n");
  return { result, out, events };
}

/** A repo with a bare remote, and a worktree of it outside the repo (as loopd's pool makes). */
function workspace() {
  const repo = createGitRepo();
  const remote = join(tempDir("loopd-remote-"), "origin.git");
  git(repo, "init", "-q", "--bare", remote);
  git(repo, "remote", "add", "origin", remote);
  git(repo, "push", "-q", "origin", "main");
  const worktree = join(tempDir("loopd-pool-"), "pool-0");
  git(repo, "worktree", "add", "-q", "-b", "loopd/boxed/1", worktree);
  const home = tempDir("loopd-home-");
  mkdirSync(join(home, ".ssh"));
  writeFileSync(join(home, ".ssh", "id_rsa"), "PRIVATE KEY\n");
  writeFileSync(join(home, ".netrc"), "machine example.com password hunter2\n");
  const outside = tempDir("loopd-outside-");
  return { repo, remote, worktree, home, outside };
}

const node = process.execPath;
const fetchScript = (port: number) =>
  `${node} -e "require('http').get('http://127.0.0.1:${port}/',r=>r.on('data',d=>process.stdout.write(String(d)))).on('error',e=>{console.log('REFUSED '+e.code);})"`;

describe("sandbox: on, a shell routine under bubblewrap", () => {
  it("hides HOME's secrets and the host's files, keeps the worktree writable", async () => {
    const { repo, worktree, home, outside } = workspace();
    const { result, out, events } = await runShell(
      [
        "cat ~/.ssh/id_rsa 2>/dev/null && echo SSH_READ || echo SSH_DENIED",
        "cat ~/.netrc 2>/dev/null && echo NETRC_READ || echo NETRC_DENIED",
        `echo x > ${outside}/escape 2>/dev/null && echo OUTSIDE_WRITTEN || echo OUTSIDE_DENIED`,
        `echo x > ${repo}/.git/hooks/pre-commit 2>/dev/null && echo HOOK_WRITTEN || echo HOOK_DENIED`,
        "echo work > inside.txt && echo INSIDE_WRITTEN",
        `kill -0 ${process.pid} 2>/dev/null && echo SEES_DAEMON || echo NO_DAEMON`,
        `test -e /proc/${process.pid} && echo PROC_DAEMON || echo PROC_CLEAN`,
      ].join("\n"),
      { cwd: worktree, home },
    );
    expect(result.outcome, out).toBe("succeeded");
    expect(out).toContain("SSH_DENIED");
    expect(out).toContain("NETRC_DENIED");
    expect(out).toContain("OUTSIDE_DENIED");
    expect(out).toContain("HOOK_DENIED");
    expect(out).toContain("INSIDE_WRITTEN");
    expect(out).toContain("NO_DAEMON");
    expect(out).not.toContain("PRIVATE KEY");
    expect(readFileSync(join(worktree, "inside.txt"), "utf8")).toBe("work\n");
    expect(existsSync(join(outside, "escape"))).toBe(false);
    expect(existsSync(join(repo, ".git/hooks/pre-commit"))).toBe(false);
    expect(status(events, "sandbox")).toMatchObject({ event: "sandbox", mode: "on", confined: true });
  });

  it("reaches the allowed loopback endpoint and nothing else on loopback", async () => {
    const { worktree, home } = workspace();
    const { out } = await runShell([fetchScript(portOf(allowed)), fetchScript(portOf(denied))].join("\n"), {
      cwd: worktree,
      home,
    });
    expect(out).toContain("model-ok");
    expect(out).not.toContain("secret-service");
    expect(out).toMatch(/REFUSED ECONNREFUSED/);
  });

  it("commits in its worktree and pushes to the local bare remote", async () => {
    const { remote, worktree, home } = workspace();
    const { result, out } = await runShell(
      "echo change > change.txt && git add change.txt && git commit -q -m boxed && git push -q origin HEAD:refs/heads/boxed && echo PUSHED",
      { cwd: worktree, home },
    );
    expect(result.outcome, out).toBe("succeeded");
    expect(out).toContain("PUSHED");
    expect(git(remote, "log", "-1", "--format=%s", "boxed")).toBe("boxed");
  });

  it("required with a missing bubblewrap refuses with the code and the install command, running nothing", async () => {
    const { worktree, home } = workspace();
    const { result } = await runShell("echo ran > ran.txt", {
      cwd: worktree,
      home,
      sandbox: { mode: "required", bwrap: "/nonexistent/bwrap" },
    });
    expect(result.error?.code).toBe("LOOPD_SANDBOX_UNAVAILABLE");
    expect(result.error?.hint).toContain("sudo apt-get install bubblewrap");
    expect(existsSync(join(worktree, "ran.txt"))).toBe(false);
  });

  it("on with a missing bubblewrap runs unconfined with a loud warning", async () => {
    const { worktree, home } = workspace();
    const { result, events } = await runShell("cat ~/.ssh/id_rsa", {
      cwd: worktree,
      home,
      sandbox: { mode: "on", bwrap: "/nonexistent/bwrap" },
    });
    expect(result.outcome).toBe("succeeded");
    expect(JSON.stringify(status(events, "warning"))).toContain("UNCONFINED");
  });
});
